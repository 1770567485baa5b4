// Area and power of the SC weight-update unit at 40 nm (sc/cost.hpp) beside a fixed-point and a float
// MAC array of the same throughput, and beside Lammie et al.'s 1.55 mm^2, 167 uW and "five orders of
// magnitude" (docs/REFERENCES.md §20). Model numbers, not measurements: see docs/VALIDATION.md (issue 16).
//   build/bench/bench_sc_cost
#include <fmt/format.h>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/sc/cost.hpp"

using namespace xbarkit;

namespace {
void print(const sc::CostReport& r) {
  fmt::print("  {}\n", r.name);
  for (const auto& i : r.items)
    fmt::print("    {:<56} x{:<8g} {:>10.3g} um2 each {:>10.3g} J/event {:>10.3g} /s  -> {:>9.4g} mm2 {:>10.4g} W\n", i.name,
               i.count, i.area_um2, i.energy_J, i.events_per_s, i.total_area_um2() * 1e-6, i.power_W());
  fmt::print("    total: {:.4g} mm2, {:.4g} W, {:.4g} products/s\n", r.area_mm2(), r.power_W(), r.products_per_s);
}
}  // namespace

int main() {
  const auto dev = cbram::load_device("ag_asi_gaba2013");
  using D = sc::Digital40nm;

  fmt::print("Per product lane (area only; a lane is one multiplier + accumulator):\n");
  const auto int8 = sc::mac_array_cost(1, 8, 1, "int");
  const auto fp32 = sc::mac_array_cost(1, 32, 1, "fp32");
  sc::ScUnitSpec lane;
  lane.device = dev;
  const double counter_bits = 7;  // L = 64, batch 1
  const double sc_lane = D::xnor_area_um2 + counter_bits * (D::fa_area_um2 + D::dff_area_um2);
  fmt::print("  SC XNOR multiplier alone       {:>10.3g} um2\n", D::xnor_area_um2);
  fmt::print("  SC lane (XNOR + 7-bit counter) {:>10.3g} um2\n", sc_lane);
  fmt::print("  INT8 MAC (24-bit accumulator)  {:>10.3g} um2   ratio to XNOR {:.3g}, to SC lane {:.3g}\n",
             int8.area_mm2() * 1e6, int8.area_mm2() * 1e6 / D::xnor_area_um2, int8.area_mm2() * 1e6 / sc_lane);
  fmt::print("  FP32 MAC                       {:>10.3g} um2   ratio to XNOR {:.3g}, to SC lane {:.3g}\n",
             fp32.area_mm2() * 1e6, fp32.area_mm2() * 1e6 / D::xnor_area_um2, fp32.area_mm2() * 1e6 / sc_lane);
  fmt::print("  (Lammie et al.: MAC units 5 orders of magnitude smaller)\n\n");

  for (double V : {3.0, 3.5, 4.0, 4.5}) {
    sc::ScUnitSpec s;
    s.device = dev;
    s.device.program_voltage_V = V;
    s.rows = s.cols = 128;
    s.stream_length = 64;
    fmt::print("CBRAM at {:.1f} V: tau = {:.3g} s, bit period {:.3g} s, SET energy/bit (p = 0.5) {:.3g} J\n", V,
               dev.tau_s(V), sc::generator_bit_period_s(s), sc::set_energy_J(s, 0.5));
    const auto r = sc::sc_unit_cost(s);
    print(r);
    print(sc::mac_array_cost(r.products_per_s, 8, 500e6, "int"));
    print(sc::mac_array_cost(r.products_per_s, 32, 500e6, "fp32"));
    fmt::print("\n");
  }

  fmt::print("Sensitivity of the 128x128 unit at 4.0 V to the assumed compliance current:\n");
  for (double icc : {1e-7, 1e-6, 1e-5}) {
    sc::ScUnitSpec s;
    s.device = dev;
    s.device.program_voltage_V = 4.0;
    s.i_compliance_A = icc;
    const auto r = sc::sc_unit_cost(s);
    fmt::print("  I_cc = {:.0e} A: {:.4g} mm2, {:.4g} W, {:.4g} products/s\n", icc, r.area_mm2(), r.power_W(), r.products_per_s);
  }
  // The array size this model needs for Lammie et al.'s 1.55 mm^2, and its power per operating point.
  size_t n = 16;
  for (;; ++n) {
    sc::ScUnitSpec s;
    s.device = dev;
    s.rows = s.cols = n;
    if (sc::sc_unit_cost(s).area_mm2() >= 1.55) break;
  }
  fmt::print("\nA {}x{} SC unit fills 1.55 mm2 in this model:\n", n, n);
  for (double V : {3.0, 3.5, 4.0, 4.5}) {
    sc::ScUnitSpec s;
    s.device = dev;
    s.device.program_voltage_V = V;
    s.rows = s.cols = n;
    const auto r = sc::sc_unit_cost(s);
    const auto i8 = sc::mac_array_cost(r.products_per_s, 8, 500e6, "int");
    const auto f32 = sc::mac_array_cost(r.products_per_s, 32, 500e6, "fp32");
    fmt::print("  {:.1f} V: {:.4g} mm2, {:.4g} uW, {:.3g} products/s ({:.3g} pJ/product); INT8 array {:.3g} mm2 "
               "{:.4g} uW; FP32 array {:.3g} mm2 {:.4g} uW\n",
               V, r.area_mm2(), r.power_W() * 1e6, r.products_per_s, r.power_W() / r.products_per_s * 1e12, i8.area_mm2(),
               i8.power_W() * 1e6, f32.area_mm2(), f32.power_W() * 1e6);
  }
  fmt::print("Lammie et al. (40 nm): 1.55 mm2, ~167 uW for their whole SC optimizer (throughput not restated here).\n");
  return 0;
}
