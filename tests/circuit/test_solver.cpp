// Native solver: 32x32 agreement with ngspice, the ideal limit, node voltages, batch solves, threads,
// the SPICE-characterized I-V table, and bad input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "xbarkit/characterize/transistor_sweep.hpp"
#include "xbarkit/circuit/iv_table.hpp"
#include "xbarkit/circuit/ladder.hpp"
#include "xbarkit/circuit/passive.hpp"
#include "xbarkit/circuit/solver.hpp"
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "circuit_test_util.hpp"
#include "xbarkit/spice/session.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;

namespace {

using circuit_test::make;
using circuit_test::worst_rel;

}  // namespace

namespace {
// 32x32 against ngspice at the technology's default wires, ideal wires and 50-ohm wires (all-ones
// stimulus at 50 ohm: the worst IR drop). Tolerances: see test_vs_ngspice.cpp (1e-9 linear, 1e-5
// nonlinear: the requirements).
void check_32x32(std::string kind, bool reram, double tol) {
  spice::Session session;
  for (double r : {-1.0, 0.0, 50.0}) {  // -1: the technology's default wires
    auto x = make(kind, 32, r < 0 ? 0.0 : r, r == 50.0, 3, reram);
    if (r < 0) x.parasitics = make_crossbar(load_technology("7nm"), kind, 1, 1).parasitics;
    const auto ref = spice::solve_crossbar(session, x);
    const auto nat = circuit::solve_crossbar(x);
    INFO(kind << (reram ? " (reram)" : "") << " r_wire " << r);
    const double w = worst_rel(nat.column_current_A, ref.column_current_A, 1e-12);
    INFO("worst relative column difference " << w);
    CHECK(w <= tol);
  }
}
}  // namespace

TEST_CASE("native vs ngspice 32x32: sram8t", "[circuit][ngspice][slow]") { check_32x32("sram8t", false, 1e-5); }
TEST_CASE("native vs ngspice 32x32: rram1t1r", "[circuit][ngspice][slow]") { check_32x32("rram1t1r", false, 1e-5); }
TEST_CASE("native vs ngspice 32x32: passive resistor", "[circuit][ngspice][slow]") { check_32x32("passive", false, 1e-9); }
TEST_CASE("native vs ngspice 32x32: passive ReRAM", "[circuit][ngspice][slow]") { check_32x32("passive", true, 1e-5); }

TEST_CASE("ideal limit: zero wire resistance gives exactly the sum of isolated cell currents", "[circuit]") {
  for (auto kind : {"sram8t", "rram1t1r", "passive"}) {
    const auto x = make(kind, 16, 0.0, false, 5);
    const auto sol = circuit::solve_crossbar(x);
    for (int j = 0; j < x.cols; ++j) {
      double sum = 0;
      for (int i = 0; i < x.rows; ++i) sum += circuit::isolated_cell_current(x, x.input(i), x.weight(i, j));
      INFO(kind << " column " << j);
      CHECK(std::abs(sol.column_current_A[j] - sum) <= 1e-13 * std::abs(sum));  // same numbers, summed
    }
  }
  // The ladder with tiny wires approaches the ideal limit continuously (the ideal branch is not a
  // separate model): 1 micro-ohm wires change a column by ~I*R/V ~ 1e-9 relative.
  auto x = make("sram8t", 16, 1e-6, false, 5);
  const auto tiny = circuit::solve_crossbar(x), ideal = circuit::solve_crossbar(x.ideal());
  CHECK(worst_rel(tiny.column_current_A, ideal.column_current_A, 1e-12) <= 1e-7);
  CHECK(worst_rel(tiny.column_current_A, ideal.column_current_A, 1e-12) > 0);
}

TEST_CASE("IR-drop map matches ngspice node voltages", "[circuit][ngspice]") {
  spice::Session session;
  for (auto kind : {"sram8t", "rram1t1r", "passive"}) {
    const auto x = make(kind, 8, 20.0, true, 1);
    circuit::SolveOptions o;
    o.node_voltages = true;
    const auto sol = circuit::solve_crossbar(x, o);
    std::vector<std::string> names;
    const char* bl = kind == "passive" ? "c" : "bl";
    for (int i = 0; i < 8; ++i) names.push_back(fmt::format("{}{}_{}", bl, i, 3));
    session.load(write_deck(x));
    const auto r = session.run_op(names);
    for (int i = 0; i < 8; ++i) {
      INFO(kind << " " << names[i]);
      // ngspice's node voltages carry its vntol = 1e-10 V + reltol 1e-7 stopping rule.
      CHECK(std::abs(sol.bitline_V[static_cast<size_t>(i) * 8 + 3] - r.values.at(names[i])) <= 1e-8);
    }
    // The IR drop is real: the far end of the bitline has moved from the terminal voltage.
    CHECK(std::abs(sol.bitline_V[3] - (kind == "passive" ? 0.0 : x.v_read_V)) > 1e-4);
  }
}

TEST_CASE("passive factorization: many input vectors at once equal single solves", "[circuit]") {
  const auto x = make("passive", 24, 8.3, false, 11);
  const circuit::PassiveNetwork nd(x), amd(x, circuit::PassiveOrdering::amd), lu(x, circuit::PassiveOrdering::colamd_lu),
      nds(x, circuit::PassiveOrdering::nested_dissection_simplicial);
  Eigen::MatrixXd drive(24, 5);
  Rng rng(4);
  for (int k = 0; k < 5; ++k)
    for (int i = 0; i < 24; ++i) drive(i, k) = rng.uniform() < 0.5 ? x.v_read_V : 0.0;
  const Eigen::MatrixXd c = nd.column_currents(drive);
  for (int k = 0; k < 5; ++k) {
    auto y = x;
    for (int i = 0; i < 24; ++i) y.inputs[i] = drive(i, k) > 0;
    const auto single = circuit::solve_crossbar(y).column_current_A;
    for (int j = 0; j < 24; ++j) {
      // Same factor, different right-hand-side grouping: rounding-level differences only.
      CHECK(std::abs(c(j, k) - single[j]) <= 1e-12 * std::abs(single[j]));
    }
  }
  // The three orderings solve the same SPD system: agreement to rounding (1e-10 covers the
  // condition number ~1e4 of wire-vs-cell conductances times machine epsilon).
  const Eigen::MatrixXd ca = amd.column_currents(drive), cl = lu.column_currents(drive), cs = nds.column_currents(drive);
  CHECK(((ca - c).cwiseAbs().maxCoeff()) <= 1e-10 * c.cwiseAbs().maxCoeff());
  CHECK(((cl - c).cwiseAbs().maxCoeff()) <= 1e-10 * c.cwiseAbs().maxCoeff());
  CHECK(((cs - c).cwiseAbs().maxCoeff()) <= 1e-10 * c.cwiseAbs().maxCoeff());
  // Nested dissection exists to cut fill: its exact factor (simplicial, no dense leaf fronts) must
  // have fewer nonzeros than AMD's.
  CHECK(nds.factor_nonzeros() < amd.factor_nonzeros());
}

TEST_CASE("results do not depend on the thread count", "[circuit]") {
  const auto x = make("sram8t", 32, 8.3, false, 2);
  circuit::SolveOptions one, four;
  four.threads = 4;
  CHECK(circuit::solve_crossbar(x, one).column_current_A == circuit::solve_crossbar(x, four).column_current_A);
}

TEST_CASE("table-driven 8T solve agrees with ngspice using the same model", "[circuit][ngspice][table]") {
  spice::Session session;
  auto x = make("sram8t", 16, 8.3, false, 9);
  // 5 mV grid over [-0.05, 0.40] V: the 8T cell's read-path nodes stay within [0, v_read = 0.3 V] (the
  // gates are the two levels of the table; a wider grid only costs ngspice sweep points).
  const auto table = std::make_shared<circuit::TransistorTable>(
      characterize::characterize_transistor(session, x, {-0.05, 0.40, 0.005}));
  REQUIRE(table->gate_levels_V().size() == 2);
  // The table reproduces the built-in model at off-grid points: bicubic error ~ (h/lambda)^4 with
  // lambda ~ 0.1 V above threshold, plus ngspice's own 1e-7 stopping rule on every sample.
  const circuit::MvsFet fet(x.transistor, x.nfin);
  const int g_on = table->gate_index(0.7);
  for (double vd : {0.0123, 0.1517, 0.2991})
    for (double vs : {0.0, 0.0377, 0.1011}) {
      if (vd <= vs) continue;
      const double ref = fet.current(vd, 0.7, vs).i, tab = table->eval(g_on, vd, vs).i;
      INFO("vd " << vd << " vs " << vs);
      CHECK(std::abs(tab - ref) <= 1e-5 * std::abs(ref));
    }
  // Saved and reloaded, the table gives bit-identical results.
  table->save("test_circuit_table.json");
  const auto reloaded = circuit::TransistorTable::load("test_circuit_table.json");
  CHECK(reloaded.eval(g_on, 0.2, 0.05).i == table->eval(g_on, 0.2, 0.05).i);
  std::filesystem::remove("test_circuit_table.json");

  circuit::SolveOptions o;
  o.transistor_table = table;
  const auto nat = circuit::solve_crossbar(x, o);
  const auto ref = spice::solve_crossbar(session, x);
  const double w = worst_rel(nat.column_current_A, ref.column_current_A, 1e-12);
  INFO("worst relative column difference (table vs ngspice) " << w);

  CHECK(w <= 1e-5);
}

TEST_CASE("bad input: non-convergent Newton names the column and progress", "[circuit][errors]") {
  auto x = make("sram8t", 16, 50.0, true, 1);
  circuit::SolveOptions o;
  o.max_newton_iterations = 2;  // far too few for 50-ohm wires: must fail loudly, not return iterate 2
  try {
    circuit::solve_crossbar(x, o);
    FAIL("expected SolverError");
  } catch (const SolverError& e) {
    const std::string m = e.what();
    CHECK(m.find("did not converge in column") != std::string::npos);
    CHECK(m.find("after 2 iterations") != std::string::npos);
    CHECK(m.find("last update") != std::string::npos);
  }
  // Absurd device: a transistor with a 1e6 m/s injection velocity and 1 mohm series resistance on
  // 50-ohm wires at 5 V still either converges or reports; it never returns NaN.
  x.transistor.vx0_m_per_s = 1e9;
  x.v_read_V = 5;
  try {
    const auto s = circuit::solve_crossbar(x);
    for (double c : s.column_current_A) CHECK(std::isfinite(c));
  } catch (const SolverError& e) {
    CHECK(std::string(e.what()).find("column") != std::string::npos);
  }
}

TEST_CASE("bad input: a floating node is reported as a singular network", "[circuit][errors]") {
  // Passive array with open (infinite-resistance) column wires and open HRS cells: the column-line
  // node of every 0-weight cell hangs on nothing.
  auto x = make("passive", 4, 8.3, false, 3);
  x.parasitics.r_bitline_ohm = std::numeric_limits<double>::infinity();
  x.params.numbers["r_hrs_ohm"] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(circuit::solve_crossbar(x), Catch::Contains("singular network") && Catch::Contains("floating"));
  // The same array with finite HRS is fine.
  x.params.numbers["r_hrs_ohm"] = 100e3;
  CHECK_NOTHROW(circuit::solve_crossbar(x));
}

TEST_CASE("user transistor without a table is refused with the next step", "[circuit][errors]") {
  auto x = make("sram8t", 4, 8.3, false, 3);
  x.user_models = UserModels{"my.lib", {}, "my_nfet", ""};
  CHECK_THROWS_WITH(circuit::solve_crossbar(x), Catch::Contains("characterize-cell"));
}

namespace {
// The ladder set-up of solver.cpp, rebuilt here from the internal API so that a column can be solved
// by plain full Newton (every device evaluated at every iteration, no leak model, no lockstep).
std::vector<double> full_newton_columns(const Crossbar& x, double reltol) {
  using namespace circuit;
  const MvsFet fet(x.transistor, x.nfin);
  LadderSpec sp = ladder_spec(x, reltol, LadderSpec{}.max_iterations);
  sp.model_leakers = false;  // plain full Newton: every device every iteration
  std::array<LadderCellType, 4> types;
  double imax = 0;
  for (int in = 0; in < 2; ++in)
    for (int w = 0; w < 2; ++w) {
      auto& t = types[static_cast<size_t>(in * 2 + w)];
      Branch f1, f2;
      f1.kind = f2.kind = Branch::Kind::fet;
      f1.fet = f2.fet = &fet;
      f1.vg = in ? x.vdd_V : 0.0;
      f2.vg = w ? x.vdd_V : 0.0;
      if (x.cell_name() == "sram8t") {
        t.branches = {f1, f2};
      } else {
        t.branches.e1.kind = Branch::Kind::reram;
        t.branches.e1.reram = Reram(x.reram, w ? x.reram.gap_lrs_m : x.reram.gap_hrs_m);
        t.branches.e2 = f1;
      }
      prepare_cell_type(t, sp);
      imax = std::max(imax, std::abs(t.ideal.i));
    }
  sp.i_scale = 1e-3 * imax;
  std::vector<double> out;
  LadderWorkspace ws;
  std::vector<unsigned char> tor(static_cast<size_t>(x.rows));
  for (int j = 0; j < x.cols; ++j) {
    for (int i = 0; i < x.rows; ++i) tor[i] = static_cast<unsigned char>(x.input(i) * 2 + x.weight(i, j));
    out.push_back(solve_ladder(sp, types.data(), tor.data(), ws, j).current_A);
  }
  return out;
}
}  // namespace

TEST_CASE("ladder fast path (leak model, lockstep columns, SIMD devices) equals full Newton", "[circuit]") {
  // The fast path evaluates leaking cells once (after a log-linear model) and propagates the pA
  // correction linearly; its error bound is ~(correction / column current)^2 plus the leak cells'
  // own tolerance share, far below reltol. Full Newton at reltol 1e-13 is the reference.
  for (auto kind : {"sram8t", "rram1t1r"})
    for (double r : {-1.0, 50.0})
      for (bool ones : {false, true}) {
        auto x = make(kind, 64, r < 0 ? 0.0 : r, ones, 9);
        if (r < 0) x.parasitics = make_crossbar(load_technology("7nm"), kind, 1, 1).parasitics;
        x.cols = 37;  // not a multiple of the lane count
        x.weights.resize(static_cast<size_t>(x.rows) * x.cols);
        const auto fast = circuit::solve_crossbar(x).column_current_A;
        const auto ref = full_newton_columns(x, 1e-13);
        INFO(kind << " r_wire " << r << (ones ? " all-ones" : " random"));
        const double w = worst_rel(fast, ref, 1e-15);
        INFO("worst relative column difference " << w);
        CHECK(w <= 1e-9);
      }
}
