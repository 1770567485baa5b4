#pragma once
// Area and power of the SC weight-update unit at 40 nm, against a fixed-point MAC array of the same
// throughput. A first-order, transparent model: every line item is a count x (area, energy per event)
// x events per second, and every per-item figure names its source or says it is an assumption.
//
// Digital figures: Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm, 0.9 V): 8-bit add
// 0.03 pJ / 36 um^2, 32-bit add 0.1 pJ / 137 um^2, 8-bit multiply 0.2 pJ / 282 um^2, 32-bit multiply
// 3.1 pJ / 3495 um^2, 32-bit float add 0.9 pJ / 4184 um^2, 32-bit float multiply 3.7 pJ / 7700 um^2
// (docs/REFERENCES.md §22). Scaled to 40 nm by area x (40/45)^2 and energy x 40/45 (capacitance with
// the feature size at the same supply). Gates the table does not list are derived from its 8-bit
// adder as full-adder equivalents (FA = 1/8 of the 8-bit adder; an XNOR2 ~ 0.4 FA and a flip-flop ~
// 1 FA by transistor count, 10-12 and 24-28 transistors vs the 28-transistor mirror adder) -- an
// estimate good to about 2x.
//
// CBRAM generator: the bit period is the longest SET pulse (the pulse for p_max) plus RESET and read;
// the SET energy per bit follows from the Poisson waiting time T (docs/REFERENCES.md §19):
//   E_set = V^2 / R_off * E[min(T, t)] + V * I_cc * E[(t - T)+],  E[min(T, t)] = tau p,
//   E[(t - T)+] = t - tau p,
// i.e. the HRS leakage until the filament forms and the compliance-limited LRS current after. R_off,
// I_cc and the RESET/read costs are NOT given by Gaba et al.; the defaults below are assumptions
// (stated in the report) and the bench shows how the answer moves with them.
#include <string>
#include <vector>

#include "xbarkit/cbram/device.hpp"

namespace xbarkit::sc {

struct CostItem {
  std::string name;
  double count = 0;               // instances
  double area_um2 = 0;            // each
  double energy_J = 0;            // per event
  double events_per_s = 0;        // per instance
  std::string source;
  double total_area_um2() const { return count * area_um2; }
  double power_W() const { return count * energy_J * events_per_s; }
};

struct CostReport {
  std::string name;
  std::vector<CostItem> items;
  double products_per_s = 0;      // multiply-accumulates per second delivered
  double area_mm2() const;
  double power_W() const;
};

// 40 nm digital building blocks (see the header comment for the derivation).
struct Digital40nm {
  static constexpr double kArea = (40.0 / 45.0) * (40.0 / 45.0);
  static constexpr double kEnergy = 40.0 / 45.0;
  static constexpr double fa_area_um2 = 36.0 / 8 * kArea;
  static constexpr double fa_energy_J = 0.03e-12 / 8 * kEnergy;
  static constexpr double xnor_area_um2 = 0.4 * fa_area_um2;
  static constexpr double xnor_energy_J = 0.4 * fa_energy_J;
  static constexpr double dff_area_um2 = fa_area_um2;
  static constexpr double dff_energy_J = fa_energy_J;
};

struct ScUnitSpec {
  size_t rows = 128, cols = 128;     // update array: rows x cols SC product lanes, one counter each
  size_t stream_length = 64;
  size_t batch = 1;                  // counter width: ceil(log2(batch * L + 1)) bits
  int pulse_bits = 8;                // pulse-width resolution of each generator's driver
  double p_max = 0.99;               // largest probability the generators must encode
  double p_typical = 0.5;            // for the SET energy (bipolar values near 0)
  cbram::Device device;              // tau(V) at device.program_voltage_V
  double i_compliance_A = 1e-6;      // assumed: low-current CBRAM compliance
  double r_off_ohm = 1e9;            // assumed: Ag/a-Si HRS
  double reset_energy_J = 1e-12;     // assumed: RESET pulse per bit (about 1 V x 1 uA x 1 us)
  double reset_read_time_s = 20e-9;  // assumed: RESET + read per bit
  double generator_area_um2 = 0;     // 0: estimated (cell + driver + sense amplifier + pulse logic)
};

// The SC unit: rows + cols CBRAM generators on the periphery, rows x cols XNOR lanes and counters.
// Throughput = rows * cols * bit_rate / L products per second.
CostReport sc_unit_cost(const ScUnitSpec& spec);

// A fixed-point (integer) MAC array delivering `products_per_s` with `bits`-bit operands and a
// 2*bits+8-bit accumulator at clock f_clk_Hz (Horowitz's 8- and 32-bit multipliers and adders,
// interpolated in log space for other widths). kind "int" or "fp32".
CostReport mac_array_cost(double products_per_s, int bits, double f_clk_Hz, const std::string& kind = "int");

// The bit period of a CBRAM generator: SET pulse for p_max plus RESET and read.
double generator_bit_period_s(const ScUnitSpec& spec);
// Mean SET energy of one bit encoding probability p (closed form above).
double set_energy_J(const ScUnitSpec& spec, double p);

}  // namespace xbarkit::sc
