// Wire-resistance spread (netlist/variation.hpp sigma_ln_wire): one lognormal draw per line, the same
// draws in the deck (per-column / per-row segment resistances) and in the native solvers.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/core/toml_reader.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/netlist/variation.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "xbarkit/spice/session.hpp"

using namespace xbarkit;

namespace {

netlist::VariationSpec wire_spec(const netlist::Technology& tech, double sigma_wire, double device_scale) {
  auto s = netlist::default_variation(tech, 1.0, 13);
  s.sigma_ln_wire = sigma_wire;
  s.avt_V_m *= device_scale, s.sigma_ln_lrs *= device_scale, s.sigma_ln_hrs *= device_scale;
  return s;
}

netlist::Crossbar random_array(const netlist::Technology& tech, const std::string& kind, int n, double wire_scale) {
  auto x = netlist::make_crossbar(tech, kind, n, n);
  netlist::scale_wires(x, wire_scale);
  Rng rng(3, 1);
  for (auto& v : x.inputs) v = rng.bernoulli(0.7);
  for (auto& w : x.weights) w = rng.bernoulli(0.6);
  return x;
}

double worst_rel(const std::vector<double>& a, const std::vector<double>& b, double floor_A) {
  double w = 0;
  for (size_t j = 0; j < a.size(); ++j) w = std::max(w, std::abs(a[j] - b[j]) / std::max(std::abs(b[j]), floor_A));
  return w;
}

}  // namespace

// Tolerances as for device variation (test_variation.cpp): 1e-5 per column for transistor and
// ReRAM arrays, 1e-9 for linear resistor grids. Wires x8 so that the lines' spread moves the column
// currents by far more than the tolerance (checked: the nominal-wire solution differs by > 100x it).
TEST_CASE("wire spread: native vs ngspice with the same draws for every cell kind at 16x16", "[variation][ngspice]") {
  spice::Session session;
  const auto tech = netlist::load_technology("7nm");
  for (const char* kind : {"sram8t", "rram1t1r", "mram1t1mtj", "passive"}) {
    const double tol = std::string(kind) == "passive" ? 1e-9 : 1e-5;
    auto x = random_array(tech, kind, 16, 8.0);
    netlist::draw_variation(x, wire_spec(tech, 0.3, 1.0));
    REQUIRE(x.variation.wires());
    const auto ref = spice::solve_crossbar(session, x);
    const auto nat = circuit::solve_crossbar(x);
    auto plain = x;
    plain.variation.ln_r_bitline.clear(), plain.variation.ln_r_sourceline.clear(), plain.variation.ln_r_wordline.clear();
    const auto nominal_wires = circuit::solve_crossbar(plain);
    const double w = worst_rel(nat.column_current_A, ref.column_current_A, 1e-12);
    const double effect = worst_rel(nominal_wires.column_current_A, ref.column_current_A, 1e-12);
    INFO(kind << ": native vs ngspice " << w << ", effect of the wire spread " << effect);
    CHECK(w <= tol);
    CHECK(effect > 100 * tol);
  }
}

TEST_CASE("wire spread: line draws match their sigma and leave the device draws unchanged - bad sigma refused",
          "[variation]") {
  const auto tech = netlist::load_technology("7nm");
  auto x = netlist::make_crossbar(tech, "sram8t", 4, 3000);
  auto spec = wire_spec(tech, 0.2, 1.0);
  netlist::draw_variation(x, spec);
  const auto& v = x.variation.ln_r_bitline;
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  double sq = 0;
  for (double a : v) sq += (a - mean) * (a - mean);
  const double sd = std::sqrt(sq / double(v.size() - 1));
  INFO("N " << v.size() << " std " << sd);
  // Sample std: relative standard error 1/sqrt(2(N-1)); 4 standard errors.
  CHECK(std::abs(sd / 0.2 - 1) < 4 / std::sqrt(2.0 * double(v.size() - 1)));
  CHECK(x.variation.ln_r_sourceline != x.variation.ln_r_bitline);
  auto y = netlist::make_crossbar(tech, "sram8t", 4, 3000);
  spec.sigma_ln_wire = 0;
  netlist::draw_variation(y, spec);
  CHECK(!y.variation.wires());
  CHECK(y.variation.dvt_V == x.variation.dvt_V);  // wire draws come from their own streams
  const auto doc = TomlDocument::from_string("[variation]\nsigma_ln_wire = -0.1\n", "recipe.toml");
  CHECK_THROWS_WITH(netlist::read_variation(doc.root().require_table("variation"), tech), Catch::Contains("sigma_ln_wire"));
  const auto doc2 = TomlDocument::from_string("[variation]\nsigma_ln_wire = 0.5\nscale = 5\n", "recipe.toml");
  CHECK_THROWS_WITH(netlist::read_variation(doc2.root().require_table("variation"), tech), Catch::Contains("sigma_ln_wire"));
}

TEST_CASE("lockstep solver with per-cell devices equals full Newton column by column",
          "[variation][circuit]") {
  // A wire spread of 1e-30 leaves every line at its nominal resistance (exp(1e-30) == 1 in double)
  // but sends the array through the scalar column solver with every device evaluated at every
  // iteration (no first-order start, no leak model): the reference for the lockstep path, which starts
  // from each cell's first-order state, models leaking cells and re-centres that model when its
  // correction is too large (rram1t1r at 256 rows needs it). Both converge to reltol 1e-10; 1e-8
  // leaves room for the leak model's propagated correction (second order, ~1e-12).
  const auto tech = netlist::load_technology("7nm");
  for (const char* kind : {"sram8t", "rram1t1r"})
    for (int n : {128, 256}) {
      auto x = random_array(tech, kind, n, 1.0);
      netlist::draw_variation(x, wire_spec(tech, 0.0, 1.0));
      auto ref = x;
      netlist::draw_variation(ref, wire_spec(tech, 1e-30, 1.0));
      REQUIRE(ref.variation.wires());
      REQUIRE(ref.variation.dvt_V == x.variation.dvt_V);
      const auto lanes = circuit::solve_crossbar(x).column_current_A;
      const auto full = circuit::solve_crossbar(ref).column_current_A;
      const double w = worst_rel(lanes, full, 1e-12);
      INFO(kind << " " << n << "x" << n << ": lockstep vs full Newton " << w);
      CHECK(w <= 1e-8);
    }
}
