// Cell kinds added as plugins: the 1T-1MTJ cell (netlist/cell_mram1t1mtj.cpp) brings its own
// two-terminal equations (bias-dependent TMR) to both engines; the passive kind's analog per-cell
// conductance state. Each against ngspice on the same Crossbar.
#include <catch2/catch.hpp>

#include <cmath>

#include "circuit_test_util.hpp"
#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "xbarkit/spice/session.hpp"

using namespace xbarkit;
using circuit_test::make;
using circuit_test::worst_rel;

TEST_CASE("1T-1MTJ cell: native vs ngspice at 16x16 and 32x32, ideal / default / 50-ohm wires", "[circuit][ngspice][cells]") {
  spice::Session session;
  for (int n : {16, 32})
    for (double r : {-1.0, 0.0, 50.0})
      for (bool ones : {false, true}) {
        auto x = make("mram1t1mtj", n, r < 0 ? 0.0 : r, ones, 5);
        if (r < 0) x.parasitics = netlist::make_crossbar(netlist::load_technology("7nm"), "mram1t1mtj", 1, 1).parasitics;
        const auto ref = spice::solve_crossbar(session, x);
        const auto nat = circuit::solve_crossbar(x);
        INFO(n << "x" << n << " r_wire " << r << (ones ? " all-ones" : " random"));
        // The nonlinear-array tolerance of the other transistor cells (test_vs_ngspice.cpp).
        CHECK(worst_rel(nat.column_current_A, ref.column_current_A, 1e-12) <= 1e-5);
      }
}

TEST_CASE("1T-1MTJ cell: the column current is the MTJ law at its own bias (R_P, bias-dependent TMR)", "[circuit][cells]") {
  auto x = netlist::make_crossbar(netlist::load_technology("7nm"), "mram1t1mtj", 1, 1);
  x.parasitics = {};
  const double rp = x.params.number("r_p"), tmr = x.params.number("tmr"), vh = x.params.number("v_half");
  circuit::SolveOptions opt;
  opt.node_voltages = true;
  for (int bit : {1, 0}) {
    x.inputs = {1};
    x.weights = {static_cast<uint8_t>(bit)};
    const auto sol = circuit::solve_crossbar(x, opt);
    // Ideal wires: the MTJ sits between the bitline (v_read) and the internal node.
    const double v = sol.bitline_V[0] - sol.internal_V[0];
    const double r = bit ? rp : rp * (1 + tmr / (1 + v * v / (vh * vh)));
    INFO("bit " << bit << ": V_mtj " << v << " V, I " << sol.column_current_A[0] << " A");
    CHECK(v > 0);
    CHECK(v < x.v_read_V);
    CHECK(sol.column_current_A[0] == Approx(v / r).epsilon(1e-9));  // Newton's reltol 1e-10 on the cell current
  }
  // The antiparallel cell conducts less than the parallel one, more than 1 / (1 + TMR0) of it (the
  // transistor takes a smaller share of v_read when the MTJ resistance is higher).
  const double p = circuit::isolated_cell_current(x, true, true), ap = circuit::isolated_cell_current(x, true, false);
  CHECK(ap < p);
  CHECK(ap > p / (1 + tmr));
  CHECK(circuit::isolated_cell_current(x, false, true) < 1e-3 * p);  // wordline off: leakage only
}

TEST_CASE("passive arrays with analog conductance states: native vs ngspice and the ideal limit", "[circuit][ngspice][cells]") {
  spice::Session session;
  auto x = make("passive", 24, 8.3, false, 7);
  Rng rng(7, 3);
  x.state.resize(x.weights.size());
  for (auto& g : x.state) g = 1e-6 + 24e-6 * rng.uniform();  // 1-25 uS, a PCM-like conductance range
  const auto ref = spice::solve_crossbar(session, x);
  const auto nat = circuit::solve_crossbar(x);
  CHECK(worst_rel(nat.column_current_A, ref.column_current_A, 1e-12) <= 1e-9);  // linear network
  auto ideal = x;
  ideal.parasitics = {};
  const auto sol = circuit::solve_crossbar(ideal);
  for (int j = 0; j < x.cols; ++j) {
    double sum = 0;
    for (int i = 0; i < x.rows; ++i) sum += (x.input(i) ? x.v_read_V : 0.0) * x.cell_state(i, j);
    CHECK(sol.column_current_A[size_t(j)] == Approx(sum).epsilon(1e-12));
  }
  x.state[5] = -1e-6;
  CHECK_THROWS_WITH(circuit::solve_crossbar(x), Catch::Contains("conductance"));
  auto bits = make("sram8t", 4, 8.3, false, 1);
  bits.state.assign(16, 1e-5);
  CHECK_THROWS_WITH(circuit::solve_crossbar(bits), Catch::Contains("store a bit"));
}

TEST_CASE("the cell registry lists every kind, each with a technology table and a consistent topology", "[circuit][cells]") {
  const auto tech = netlist::load_technology("7nm");
  for (const auto* cell : netlist::cells()) {
    INFO(cell->name());
    REQUIRE(tech.arrays.count(std::string(cell->name())));
    CHECK(!cell->default_array_ps_axes().empty());
    CHECK(cell->default_array_ps_axes().front() == "k");
    auto x = netlist::make_crossbar(tech, cell->name(), 2, 2);
    const auto rails = cell->rail_load_weights(x);
    CHECK(rails.top + rails.bottom == Approx(1.0));
    CHECK(circuit::isolated_cell_current(x, true, true) > 0);
  }
  CHECK(netlist::cell_names().find("mram1t1mtj") != std::string::npos);
  CHECK(netlist::find_cell("nosuchcell") == nullptr);
}
