#include "xbarkit/sc/cost.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::sc {

double CostReport::area_mm2() const {
  double a = 0;
  for (const auto& i : items) a += i.total_area_um2();
  return a * 1e-6;
}

double CostReport::power_W() const {
  double p = 0;
  for (const auto& i : items) p += i.power_W();
  return p;
}

double generator_bit_period_s(const ScUnitSpec& s) {
  cbram::validate(s.device);
  const double t = cbram::pulse_for_probability(s.device, s.p_max, s.device.program_voltage_V);
  return t + s.reset_read_time_s;
}

double set_energy_J(const ScUnitSpec& s, double p) {
  const double V = s.device.program_voltage_V, tau = s.device.tau_s(V);
  const double t = cbram::pulse_for_probability(s.device, p, V);
  const double hrs_time = tau * p;  // E[min(T, t)] for an exponential T: tau (1 - e^{-t/tau}) = tau p
  return V * V / s.r_off_ohm * hrs_time + V * s.i_compliance_A * (t - hrs_time);
}

CostReport sc_unit_cost(const ScUnitSpec& s) {
  if (s.rows == 0 || s.cols == 0 || s.stream_length == 0 || s.batch == 0)
    throw Error("SC cost: rows, cols, stream_length and batch must be > 0");
  if (!(s.p_max > 0 && s.p_max < 1) || !(s.p_typical > 0 && s.p_typical < 1))
    throw Error("SC cost: p_max and p_typical must be in (0, 1)");
  using D = Digital40nm;
  const double bit_rate = 1.0 / generator_bit_period_s(s);
  const double gens = static_cast<double>(s.rows + s.cols), lanes = static_cast<double>(s.rows * s.cols);
  const int counter_bits = static_cast<int>(std::ceil(std::log2(static_cast<double>(s.batch * s.stream_length) + 1)));
  CostReport r;
  r.name = fmt::format("SC unit {}x{}, L = {}, CBRAM at {:g} V", s.rows, s.cols, s.stream_length, s.device.program_voltage_V);
  r.products_per_s = lanes * bit_rate / static_cast<double>(s.stream_length);
  // Generator: 1T1R cell with an I/O (thick-oxide) access transistor -- the 40 nm core devices do not
  // stand the SET voltage -- a write driver, a latch sense amplifier, and a pulse-width comparator of
  // pulse_bits against a shared time base, plus its pulse_bits register. Estimated as FA equivalents:
  // cell + driver ~ 4 FA (I/O transistors are ~4x core area), sense amp ~ 1 FA, comparator ~ 0.5 FA and
  // register 1 FA per bit.
  const double gen_area = s.generator_area_um2 > 0 ? s.generator_area_um2
                                                   : (5.0 + 1.5 * s.pulse_bits) * D::fa_area_um2;
  r.items.push_back({"CBRAM generator (cell, driver, sense amp, pulse logic)", gens, gen_area,
                     set_energy_J(s, s.p_typical) + s.reset_energy_J, bit_rate,
                     "SET energy: Poisson closed form with assumed R_off, I_cc; RESET energy assumed; area: FA "
                     "equivalents (estimate)"});
  r.items.push_back({"generator pulse logic (comparator + register toggles)", gens, 0.0,
                     s.pulse_bits * 0.5 * D::fa_energy_J, bit_rate, "FA equivalents from Horowitz 2014 (scaled)"});
  // Chopping (sc/update.hpp): each generator's operand sign XORed with the sample's chop bit, once
  // per sample (L bits); the chop bits themselves are one more random bit per sample, negligible.
  r.items.push_back({"chopping (operand sign XOR per generator and sample)", gens, D::xnor_area_um2, D::xnor_energy_J,
                     bit_rate / static_cast<double>(s.stream_length), "XOR2 ~ XNOR2, Horowitz 2014 (scaled)"});
  r.items.push_back({"XNOR multiplier", lanes, D::xnor_area_um2, D::xnor_energy_J, bit_rate,
                     "XNOR2 ~ 0.4 FA (transistor count), Horowitz 2014 (scaled)"});
  // Ripple counter: ~2 bit toggles per increment on average, each ~ one FA + DFF; the clock reaches
  // every counter flip-flop each bit (~1/4 DFF energy per clocked bit).
  r.items.push_back({fmt::format("counter ({} bits)", counter_bits), lanes,
                     counter_bits * (D::fa_area_um2 + D::dff_area_um2),
                     0.5 * 2 * (D::fa_energy_J + D::dff_energy_J) + counter_bits * 0.25 * D::dff_energy_J, bit_rate,
                     "half the bits are ones (bipolar ~0): 1 increment per 2 bits; FA/DFF from Horowitz 2014"});
  return r;
}

namespace {
// Log-linear interpolation in the operand width between Horowitz's 8- and 32-bit points.
double interp_bits(int bits, double at8, double at32) {
  const double t = std::log(bits / 8.0) / std::log(4.0);
  return std::exp(std::log(at8) + t * (std::log(at32) - std::log(at8)));
}
}  // namespace

CostReport mac_array_cost(double products_per_s, int bits, double f_clk_Hz, const std::string& kind) {
  if (!(products_per_s > 0) || !(f_clk_Hz > 0) || bits < 2 || bits > 64)
    throw Error("MAC cost: throughput and clock must be > 0, bits in 2..64");
  using D = Digital40nm;
  CostReport r;
  r.products_per_s = products_per_s;
  const double macs = std::ceil(products_per_s / f_clk_Hz);
  const double util = products_per_s / (macs * f_clk_Hz);  // fraction of cycles a MAC is busy
  if (kind == "fp32") {
    r.name = fmt::format("FP32 MAC array at {:g} MHz", f_clk_Hz / 1e6);
    r.items.push_back({"FP32 multiplier", macs, 7700 * D::kArea, 3.7e-12 * D::kEnergy, util * f_clk_Hz, "Horowitz 2014"});
    r.items.push_back({"FP32 adder (accumulate)", macs, 4184 * D::kArea, 0.9e-12 * D::kEnergy, util * f_clk_Hz, "Horowitz 2014"});
    r.items.push_back({"accumulator register (32 b)", macs, 32 * D::dff_area_um2, 32 * 0.25 * D::dff_energy_J,
                       util * f_clk_Hz, "FA-equivalent DFF, clock-gated when idle"});
    return r;
  }
  if (kind != "int") throw Error(fmt::format("MAC cost: unknown kind '{}' (int or fp32)", kind));
  const int acc_bits = 2 * bits + 8;
  r.name = fmt::format("INT{} MAC array ({}-bit accumulator) at {:g} MHz", bits, acc_bits, f_clk_Hz / 1e6);
  r.items.push_back({fmt::format("{}x{} multiplier", bits, bits), macs, interp_bits(bits, 282, 3495) * D::kArea,
                     interp_bits(bits, 0.2e-12, 3.1e-12) * D::kEnergy, util * f_clk_Hz, "Horowitz 2014, log-interpolated"});
  r.items.push_back({fmt::format("{}-bit adder", acc_bits), macs, 137.0 * acc_bits / 32 * D::kArea,
                     0.1e-12 * acc_bits / 32 * D::kEnergy, util * f_clk_Hz, "Horowitz 2014 32-bit adder, linear in width"});
  r.items.push_back({fmt::format("accumulator register ({} b)", acc_bits), macs, acc_bits * D::dff_area_um2,
                     acc_bits * 0.25 * D::dff_energy_J, util * f_clk_Hz, "FA-equivalent DFF, clock-gated when idle"});
  return r;
}

}  // namespace xbarkit::sc
