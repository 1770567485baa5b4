// The pcm cell kind (netlist/cell_pcm.cpp): analog conductances read through the Poole-Frenkel
// (sinh) I-V, native grid solver against ngspice on the same Crossbar; the closed form of one cell;
// the shipped recipe; bad states refused.
#include <catch2/catch.hpp>

#include <cmath>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "xbarkit/spice/session.hpp"

using namespace xbarkit;

namespace {
netlist::Crossbar pcm_array(int n, double r_wire, uint64_t seed, const char* iv = "poole_frenkel") {
  auto x = netlist::make_crossbar(netlist::load_technology("7nm"), "pcm", n, n);
  if (r_wire >= 0) x.parasitics = {r_wire, 0, r_wire};  // r < 0: the technology's wires
  x.params.choices["pcm_iv"] = iv;
  netlist::fill_random_inputs(x, 0.5, seed);
  Rng rng(seed, 9);
  x.state.resize(static_cast<size_t>(n) * n);
  for (auto& g : x.state) g = x.params.number("g_max") * rng.uniform();  // random states in [0, G_max]
  return x;
}
// Worst per-column |a - b| / max(|b|, floor).
double worst_rel(const std::vector<double>& a, const std::vector<double>& b, double floor_A) {
  double w = 0;
  for (size_t j = 0; j < a.size(); ++j) w = std::max(w, std::abs(a[j] - b[j]) / std::max(std::abs(b[j]), floor_A));
  return w;
}
}  // namespace

TEST_CASE("PCM cell: native vs ngspice at 16x16 and 32x32 - ideal / default / 50-ohm wires, random conductances", "[pcm][ngspice][cells]") {
  spice::Session session;
  for (int n : {16, 32})
    for (double r : {0.0, -1.0, 50.0}) {
      const auto x = pcm_array(n, r, 100 + n);
      const auto ref = spice::solve_crossbar(session, x);
      const auto nat = circuit::solve_crossbar(x);
      const double worst = worst_rel(nat.column_current_A, ref.column_current_A, 1e-12);
      INFO(n << "x" << n << " r_wire " << r << ": Newton iterations " << nat.newton_iterations << ", worst column deviation "
             << worst);
      // The nonlinear-array tolerance of the other cells (tests/circuit/test_cells.cpp): Newton's
      // reltol 1e-10 against ngspice's reltol 1e-7 per node; columns carry >= ~uA, far above the
      // 1e-12 A floor (ngspice abstol 1e-15 A).
      CHECK(worst <= 1e-5);
      if (r != 0) CHECK(nat.newton_iterations >= 2);  // the sinh law: a nonlinear network (ideal wires: no unknowns)
    }
  // The linear read (the analog tile's cells): a linear network on both engines.
  const auto lin = pcm_array(24, 8.3, 5, "linear");
  CHECK(worst_rel(circuit::solve_crossbar(lin).column_current_A, spice::solve_crossbar(session, lin).column_current_A, 1e-12) <=
        1e-9);
}

TEST_CASE("PCM cell: one cell conducts G V0 sinh(V / V0) - the deck carries the same equation", "[pcm][cells]") {
  auto x = netlist::make_crossbar(netlist::load_technology("7nm"), "pcm", 1, 1);
  x.parasitics = {};
  x.inputs = {1};
  const double v0 = x.params.number("v0");
  for (double g : {0.0, 1e-6, 25e-6})
    for (double v : {0.05, 0.2, 0.6}) {
      x.state = {g};
      x.v_read_V = v;
      const auto s = circuit::solve_crossbar(x);
      CHECK(s.column_current_A[0] == Approx(g * v0 * std::sinh(v / v0)).epsilon(1e-12).margin(1e-30));
    }
  // Low field: within 0.1% of ohmic at V = V0 / 13 (sinh(u)/u - 1 = u^2/6 = 1e-3).
  x.state = {10e-6};
  x.v_read_V = v0 / 13;
  CHECK(circuit::solve_crossbar(x).column_current_A[0] / (10e-6 * x.v_read_V) == Approx(1).epsilon(1.1e-3));
  const auto deck = netlist::write_deck(x);
  CHECK_THAT(deck, Catch::Contains("sinh(V("));
  x.params.choices["pcm_iv"] = "linear";
  x.v_read_V = 0.6;
  CHECK(circuit::solve_crossbar(x).column_current_A[0] == Approx(10e-6 * 0.6).epsilon(1e-12));
  // Bits without a state: SET = g_max, RESET = g_reset.
  x.state.clear();
  x.weights = {1};
  CHECK(circuit::solve_crossbar(x).column_current_A[0] == Approx(x.params.number("g_max") * 0.6).epsilon(1e-12));
}

TEST_CASE("PCM cell: the shipped recipe and bad states", "[pcm][cells]") {
  const auto r = netlist::load_crossbar_recipe(source_dir() / "netlists" / "pcm_7nm_32x32.toml");
  const auto& x = r.crossbar;
  REQUIRE(x.cell_name() == "pcm");
  REQUIRE(x.state.size() == 32u * 32u);
  double lo = 1, hi = 0;
  for (double g : x.state) lo = std::min(lo, g), hi = std::max(hi, g);
  CHECK(lo >= 0);
  CHECK(hi <= 25e-6);
  CHECK(hi > 20e-6);  // uniform over [0, 25 uS]: 1024 draws reach the top fifth
  CHECK(x.params.choice("pcm_iv") == "poole_frenkel");

  auto bad = pcm_array(4, 8.3, 1);
  bad.state[3] = 30e-6;
  CHECK_THROWS_WITH(circuit::solve_crossbar(bad), Catch::Contains("[0, g_max"));
  bad.state[3] = -1e-9;
  CHECK_THROWS_WITH(circuit::solve_crossbar(bad), Catch::Contains("conductance"));
  CHECK_THROWS_WITH(netlist::parse_crossbar_recipe("[array]\nrows = 2\ncols = 2\ncell = \"pcm\"\npcm_iv = \"ohmic\"\n"
                                                   "[stimulus]\ninputs = \"ones\"\nweights = \"ones\"\n",
                                                   "bad.toml", source_dir()),
                    Catch::Contains("pcm_iv") && Catch::Contains("poole_frenkel | linear"));
}
