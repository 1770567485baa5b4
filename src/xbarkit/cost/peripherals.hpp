#pragma once
// Peripheral cost models at 7nm (issue 19): energy per operation, time per operation and area of
// the circuits around a crossbar tile. The array itself is not here: its read energy and latency
// come from the circuit (transient/read.hpp, the array_read LUT). Each model below states its
// equation and its sources (docs/COSTS.md has them in one place, beside NeuroSim's and CrossSim's
// models and why ours differ); numbers that are assumptions say so.
//
// Scaling: switched-capacitance energy scales as C V^2 with C proportional to the feature size, so
// a figure at node L_ref and supply V_ref becomes E * (7 nm / L_ref) * (V / V_ref)^2 at 7nm.
// Device-level constants (gate and junction capacitance per fin, drive current, footprint) come
// from the technology file, so the digital models move with it.
#include <string>

#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::cost {

// One operation's cost.
struct Cost {
  double energy_J = 0;
  double latency_s = 0;
  double area_m2 = 0;
};

// The 7nm device constants every model scales with.
struct Node {
  double vdd_V = 0.7;
  double gate_cap_F = 0;       // one fin: MVS cg w leff + two overlaps (cof)
  double junction_cap_F = 0;   // one source/drain junction of one fin (cj)
  double r_on_ohm = 0;         // one RVT fin: VDD / Idsat (37.85 uA, ASAP7)
  double transistor_area_m2 = 0;  // one transistor's footprint: 2 CPP x 4 fin pitches (ASAP7)
  double fo4_s = 0;            // fan-out-of-4 inverter delay: 0.69 R_on (4 C_gate + 2 C_junction)
};
// From a technology with capacitances (throws InputError naming the missing key otherwise).
Node node_from(const netlist::Technology& tech);

// Current-mode ADC reading one column: type "sar" (successive approximation, one comparator, n + 1
// clock cycles) or "flash" (2^n - 1 comparators, one cycle).
//   SAR energy  = FoM_W(7nm) * 2^n, FoM_W(7nm) = FoM_W(ref) (7 nm / L_ref) (V / V_ref)^2
//                 (Walden figure of merit, Murmann's ADC performance survey; reference point below)
//   flash energy = (2^n - 1) E_comparator + the thermometer encoder's adders
//   SAR area    = overhead (2^n C_u / rho_MOM + (32 + 30 n) A_T)   (binary-weighted capacitor DAC
//                 plus comparator, SAR register and switch drivers, counted in transistors)
struct AdcSpec {
  std::string type = "sar";
  int bits = 4;
  double fom_ref_J_per_step = 5e-15;  // Walden FoM at the reference node (assumption, see docs/COSTS.md)
  double ref_node_m = 28e-9;
  double ref_vdd_V = 0.9;
  double clock_Hz = 1e9;              // SAR bit-cycle clock (NeuroSim's 1 ns per cycle)
  double unit_cap_F = 0.5e-15;        // DAC unit capacitor (mismatch-limited size for <= 8 bits)
  double mom_density_F_per_m2 = 2e-3; // 2 fF/um^2 metal-oxide-metal capacitors
  double layout_overhead = 2.0;       // routing and spacing beyond the summed device areas
};
Cost adc(const AdcSpec& spec, const Node& node);

// StrongARM latch sense amplifier (Razavi, IEEE Solid-State Circuits Magazine 7(2), 12, 2015):
// 11 transistors; every internal node is charged once per decision:
//   E = 11 (C_gate + 2 C_junction) V^2,  t = 5 FO4,  A = overhead * 11 A_T.
Cost sense_amp(const Node& node);

// n-bit ripple adder (shift-and-add, accumulators, the digital sign activation's comparison):
// Horowitz (ISSCC 2014, 45 nm, 0.9 V): a 32-bit add costs 0.1 pJ, scaled to 7nm by C V^2;
// 28-transistor mirror full adders; ripple delay 2 FO4 per bit.
Cost adder(int bits, const Node& node);
// n-bit register (accumulator state): 24-transistor flip-flops, each clocked once.
Cost register_bits(int bits, const Node& node);

// SOT-MTJ stochastic converter, one sample (StoX-Net, docs/REFERENCES.md §5):
//   write  E_w = I_w^2 (R_hm + R_path) t_pulse         (the current through the heavy metal)
//   read   E_r = V_r^2 / R_mtj t_read + sense amplifier (the MTJ's state through a read path)
//   reset  E_0 = I_0^2 (R_hm + R_path) t_pulse          (a deterministic pulse back to the start state)
//   time   t_pulse + t_read + t_pulse;  area: heavy-metal strip, two access transistors, sense amp
// and a log2(L + 1)-bit counter. R_hm = rho L / (w t) of the strip (models/mtj/*.toml).
struct MtjConverterSpec {
  double write_current_A = 0;    // the column current at the converter's midpoint (I50 of the fit)
  double pulse_s = 0;            // the characterized pulse width
  double reset_current_A = 0;
  double r_heavy_metal_ohm = 0;
  double r_path_ohm = 0;         // access path of the write current (transistor on-resistance)
  double r_mtj_ohm = 0;          // the state being read (R_P .. R_AP; R_P (1 + TMR/2) on average)
  double v_read_V = 0.1;
  double t_read_s = 1e-9;
  double strip_area_m2 = 0;      // heavy-metal strip footprint
  int samples = 4;               // L
};
Cost mtj_sample(const MtjConverterSpec& spec, const Node& node);
// The converter's total per column read: L samples and their counter.
Cost mtj_conversion(const MtjConverterSpec& spec, const Node& node);

// A published stochastic bit-stream generator kept as an entry (not a model): the CBRAM unit of
// Lammie et al. (IEEE TCAS-II 2021, arXiv 2103.06506), 1.55 mm^2 and 167 uW at 40 nm, scaled to 7nm
// (area by (7/40)^2, power by (7/40) (0.7/1.1)^2 at the same bit rate); `bit_rate_Hz` is the
// assumption energy per bit needs (the paper's stream clock).
struct PublishedUnit {
  std::string name;
  double area_m2 = 0;
  double power_W = 0;
  double node_m = 0;
  double vdd_V = 0;
  std::string source;
};
PublishedUnit cbram_bitstream_generator();
Cost scaled_per_bit(const PublishedUnit& unit, double bit_rate_Hz, const Node& node);

}  // namespace xbarkit::cost
