// Cell models of the native solver: published check values, derivatives, symmetry.
#include <catch2/catch.hpp>

#include <cmath>

#include "xbarkit/circuit/devices.hpp"
#include "xbarkit/circuit/ladder.hpp"
#include "xbarkit/netlist/technology.hpp"

using namespace xbarkit;
using namespace xbarkit::circuit;

namespace {
// Two 1-fin NMOS in series, both gates at 0.7 V, source at 0 V: the 8T read stack.
double read_stack_uA(const netlist::FinfetParams& p, double v_bl) {
  const MvsFet fet(p, 1);
  CellBranches c;
  c.e1.kind = c.e2.kind = Branch::Kind::fet;
  c.e1.fet = c.e2.fet = &fet;
  c.e1.vg = c.e2.vg = 0.7;
  return solve_isolated_cell(c, v_bl, 0.0).i * 1e6;
}
}  // namespace

TEST_CASE("MVS 8T read stack reproduces docs/REFERENCES.md §1 check values", "[devices]") {
  const auto tech = netlist::load_technology("7nm");
  // The reference quotes 3 significant digits; allow half a unit of the last digit.
  struct Case { const char* flavour; double v; double ref; double half_ulp; };
  for (const auto& c : {Case{"sramvt", 0.7, 13.9, 0.05}, Case{"sramvt", 0.3, 12.6, 0.05}, Case{"sramvt", 0.1, 6.05, 0.005},
                        Case{"rvt", 0.7, 20.6, 0.05}, Case{"rvt", 0.3, 18.3, 0.05}, Case{"rvt", 0.1, 8.1, 0.05}}) {
    INFO(c.flavour << " at bitline " << c.v << " V");
    CHECK(std::abs(read_stack_uA(tech.finfet(c.flavour), c.v) - c.ref) <= c.half_ulp);
  }
}

TEST_CASE("MVS RVT one fin: Idsat 37.85 uA and Ioff 19 pA (ASAP7 fit targets)", "[devices]") {
  const auto tech = netlist::load_technology("7nm");
  const MvsFet fet(tech.finfet("rvt"), 1);
  CHECK(std::abs(fet.current(0.7, 0.7, 0.0).i * 1e6 - 37.85) <= 0.005);  // 4 digits quoted
  CHECK(std::abs(fet.current(0.7, 0.0, 0.0).i * 1e12 - 19.0) <= 0.5);     // 2 digits quoted
}

TEST_CASE("MVS derivatives match finite differences and drain/source are symmetric", "[devices]") {
  const auto tech = netlist::load_technology("7nm");
  for (const char* flavour : {"rvt", "sramvt"}) {
    const MvsFet fet(tech.finfet(flavour), 2);
    for (double vgs : {0.0, 0.2, 0.45, 0.7})
      for (double vds : {-0.5, -0.05, 1e-4, 0.05, 0.3, 0.7}) {
        INFO(flavour << " vgs " << vgs << " vds " << vds);
        const IV2 a = fet.intrinsic(vgs, vds);
        // Central differences. On-state (|I| > 10 nA): h = 1 uV is accurate to ~(h/26 mV)^2 ~ 1e-9
        // relative, so 1e-6 catches any wrong term. Subthreshold: the SPICE formula ln(1+exp(eta))
        // (which we mirror operation by operation) rounds to ~eps/exp(eta) ~ 1e-9 relative, so the
        // difference quotient needs h = 0.1 mV and is then good to ~1e-4.
        const bool on = std::abs(a.i) > 1e-8;
        const double h = on ? 1e-6 : 1e-4, tol = on ? 1e-6 : 1e-3;
        const double d1 = (fet.intrinsic(vgs + h, vds).i - fet.intrinsic(vgs - h, vds).i) / (2 * h);
        const double d2 = (fet.intrinsic(vgs, vds + h).i - fet.intrinsic(vgs, vds - h).i) / (2 * h);
        CHECK(std::abs(a.d1 - d1) <= tol * std::abs(a.d1) + 1e-18);
        CHECK(std::abs(a.d2 - d2) <= tol * std::abs(a.d2) + 1e-18);
        // Full device: Rs = Rd and the B-source swaps terminals for V(di,si) < 0, so exchanging the
        // drain and source voltages exactly negates the current (to the 1e-15 Newton tolerance).
        const double vd = 0.1 + vds, vs = 0.1;
        const double fwd = fet.current(vd, vgs, vs).i, rev = fet.current(vs, vgs, vd).i;
        CHECK(std::abs(fwd + rev) <= 1e-12 * std::abs(fwd) + 1e-30);
      }
  }
}

TEST_CASE("transistor residual: the current solves the implicit series-resistance equation", "[devices]") {
  const auto tech = netlist::load_technology("7nm");
  const MvsFet fet(tech.finfet("sramvt"), 1);
  for (double vd : {0.7, 0.3, 0.0, -0.2})
    for (double vg : {0.0, 0.7}) {
      const IV2 c = fet.current(vd, vg, 0.05);
      const auto r = fet.residual(c.i, vd, vg, 0.05);
      INFO("vd " << vd << " vg " << vg << " id " << c.i);
      CHECK(std::abs(r.g) <= 1e-14 * std::abs(c.i) + 1e-30);
      // Implicit derivative vs finite difference of the solved current.
      const bool on = std::abs(c.i) > 1e-8;  // see the previous test for the two regimes
      const double h = on ? 1e-6 : 1e-4, tol = on ? 1e-6 : 1e-3;
      const double fd = (fet.current(vd + h, vg, 0.05).i - fet.current(vd - h, vg, 0.05).i) / (2 * h);
      CHECK(std::abs(c.d1 - fd) <= tol * std::abs(fd) + 1e-18);
      // Current flows from the higher to the lower terminal.
      CHECK((vd > 0.05 ? c.i > 0 : c.i < 0));
    }
}

TEST_CASE("ReRAM: LRS ~10 kohm and HRS ~100 kohm at 0.2 V (docs/REFERENCES.md §3)", "[devices]") {
  const auto tech = netlist::load_technology("7nm");
  double i, g;
  Reram(tech.reram, tech.reram.gap_lrs_m).eval(0.2, i, g);
  CHECK(0.2 / i == Approx(10e3).epsilon(0.05));  // "approximately" 10 kohm: the reference rounds
  Reram(tech.reram, tech.reram.gap_hrs_m).eval(0.2, i, g);
  CHECK(0.2 / i == Approx(100e3).epsilon(0.05));
  Reram(tech.reram, tech.reram.gap_lrs_m).eval(-0.2, i, g);
  CHECK(i < 0);
}
