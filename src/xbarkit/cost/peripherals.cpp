#include "xbarkit/cost/peripherals.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::cost {

namespace {
constexpr double kNode_m = 7e-9;
// ASAP7 contacted poly pitch and fin pitch (Clark et al. 2016, docs/REFERENCES.md §1).
constexpr double kCpp_m = 54e-9;
constexpr double kFinPitch_m = 27e-9;
// ASAP7 RVT drive current per fin at VDD (docs/REFERENCES.md §1).
constexpr double kIdsatRvt_A = 37.85e-6;

double cv2_scale(double ref_node_m, double ref_vdd_V, const Node& n) {
  return (kNode_m / ref_node_m) * (n.vdd_V / ref_vdd_V) * (n.vdd_V / ref_vdd_V);
}
}  // namespace

Node node_from(const netlist::Technology& tech) {
  const auto& fin = tech.finfets.begin()->second;  // cof, cj, w, leff, cg are shared by the flavours
  const std::string f = tech.file.string();
  Node n;
  n.vdd_V = tech.vdd_V;
  const double cof = netlist::require_capacitance(fin.cof_F, f, "finfet.cof", "the FinFET overlap capacitance per side and fin");
  const double cj = netlist::require_capacitance(fin.cj_F, f, "finfet.cj", "the FinFET junction capacitance per fin");
  n.gate_cap_F = fin.cg_F_per_m2 * fin.w_m * fin.leff_m + 2 * cof;
  n.junction_cap_F = cj;
  n.r_on_ohm = tech.vdd_V / kIdsatRvt_A;
  n.transistor_area_m2 = (2 * kCpp_m) * (4 * kFinPitch_m);
  n.fo4_s = 0.69 * n.r_on_ohm * (4 * n.gate_cap_F + 2 * n.junction_cap_F);
  return n;
}

Cost sense_amp(const Node& n) {
  Cost c;
  c.energy_J = 11 * (n.gate_cap_F + 2 * n.junction_cap_F) * n.vdd_V * n.vdd_V;
  c.latency_s = 5 * n.fo4_s;
  c.area_m2 = 2.0 * 11 * n.transistor_area_m2;
  return c;
}

Cost adder(int bits, const Node& n) {
  if (bits < 1) throw InputError("", "adder bits", fmt::format("must be >= 1, got {}", bits));
  Cost c;
  // Horowitz, ISSCC 2014: 32-bit integer add 0.1 pJ at 45 nm, 0.9 V.
  c.energy_J = 0.1e-12 / 32 * bits * cv2_scale(45e-9, 0.9, n);
  c.latency_s = 2 * n.fo4_s * bits;
  c.area_m2 = 2.0 * 28 * bits * n.transistor_area_m2;
  return c;
}

Cost register_bits(int bits, const Node& n) {
  Cost c;
  // A flip-flop's clocked nodes: ~12 gate loads and 12 junctions switch per cycle.
  c.energy_J = bits * 12 * (n.gate_cap_F + n.junction_cap_F) * n.vdd_V * n.vdd_V;
  c.latency_s = 3 * n.fo4_s;
  c.area_m2 = 2.0 * 24 * bits * n.transistor_area_m2;
  return c;
}

Cost adc(const AdcSpec& s, const Node& n) {
  if (s.bits < 1 || s.bits > 16) throw InputError("", "adc bits", fmt::format("must be in [1, 16], got {}", s.bits));
  const double levels = std::ldexp(1.0, s.bits);
  Cost c;
  if (s.type == "sar") {
    c.energy_J = s.fom_ref_J_per_step * cv2_scale(s.ref_node_m, s.ref_vdd_V, n) * levels;
    c.latency_s = (s.bits + 1) / s.clock_Hz;
    c.area_m2 = s.layout_overhead * (levels * s.unit_cap_F / s.mom_density_F_per_m2 + (32 + 30.0 * s.bits) * n.transistor_area_m2);
  } else if (s.type == "flash") {
    const auto sa = sense_amp(n);
    const auto enc = adder(s.bits, n);
    c.energy_J = (levels - 1) * sa.energy_J + enc.energy_J * s.bits;
    c.latency_s = sa.latency_s + enc.latency_s;
    c.area_m2 = (levels - 1) * sa.area_m2 + enc.area_m2 * s.bits;
  } else {
    throw InputError("", "adc type", fmt::format("unknown '{}' (sar | flash)", s.type));
  }
  return c;
}

Cost mtj_sample(const MtjConverterSpec& s, const Node& n) {
  if (!(s.pulse_s > 0) || !(s.write_current_A > 0) || !(s.r_mtj_ohm > 0))
    throw InputError("", "mtj converter", "needs a characterized pulse, write current and MTJ resistance (all > 0)");
  const auto sa = sense_amp(n);
  const double r_path = s.r_heavy_metal_ohm + s.r_path_ohm;
  Cost c;
  const double e_write = s.write_current_A * s.write_current_A * r_path * s.pulse_s;
  const double e_read = s.v_read_V * s.v_read_V / s.r_mtj_ohm * s.t_read_s + sa.energy_J;
  const double e_reset = s.reset_current_A * s.reset_current_A * r_path * s.pulse_s;
  c.energy_J = e_write + e_read + e_reset;
  c.latency_s = 2 * s.pulse_s + s.t_read_s;
  c.area_m2 = s.strip_area_m2 + 2.0 * 2 * n.transistor_area_m2 + sa.area_m2;
  return c;
}

Cost mtj_conversion(const MtjConverterSpec& s, const Node& n) {
  const auto one = mtj_sample(s, n);
  const int counter_bits = static_cast<int>(std::ceil(std::log2(s.samples + 1.0)));
  const auto count = adder(counter_bits, n);
  const auto reg = register_bits(counter_bits, n);
  Cost c;
  c.energy_J = s.samples * (one.energy_J + count.energy_J + reg.energy_J);
  c.latency_s = s.samples * one.latency_s;  // the counter's add overlaps the next pulse
  c.area_m2 = one.area_m2 + count.area_m2 + reg.area_m2;
  return c;
}

PublishedUnit cbram_bitstream_generator() {
  return {"CBRAM stochastic bit-stream generator", 1.55e-6, 167e-6, 40e-9, 1.1,
          "Lammie et al., IEEE TCAS-II 2021 (arXiv 2103.06506): 1.55 mm^2, 167 uW at 40 nm"};
}

Cost scaled_per_bit(const PublishedUnit& u, double bit_rate_Hz, const Node& n) {
  if (!(bit_rate_Hz > 0)) throw InputError("", "bit_rate", "must be > 0 Hz");
  Cost c;
  const double power = u.power_W * cv2_scale(u.node_m, u.vdd_V, n);
  c.energy_J = power / bit_rate_Hz;
  c.latency_s = 1 / bit_rate_Hz;
  c.area_m2 = u.area_m2 * (kNode_m / u.node_m) * (kNode_m / u.node_m);
  return c;
}

}  // namespace xbarkit::cost
