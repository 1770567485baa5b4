// Native solver vs ngspice (the golden reference) on the same Crossbar.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "circuit_test_util.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;

namespace {

using circuit_test::make;
using circuit_test::worst_rel;

}  // namespace

TEST_CASE("native vs ngspice: 8x8 arrays, every cell kind, random and all-ones, wires 0..50 ohm", "[circuit][ngspice]") {
  spice::Session session;
  struct Kind { std::string kind; bool reram; double tol; };
  // Linear (resistor) arrays: both engines solve the same linear system; ngspice's reltol = 1e-7 on
  // the node voltages bounds only its Newton *updates*, and a linear circuit converges in one
  // step, so agreement is at rounding level: 1e-9 is the requirement. Transistor and ReRAM
  // arrays: ngspice stops Newton at reltol = 1e-7 relative / vntol = 1e-10 V per node, which leaves
  // column currents ~1e-7 relative from the exact solution; the 1e-5 keeps two decades of
  // margin.
  for (const auto& k : {Kind{"sram8t", false, 1e-5}, Kind{"rram1t1r", false, 1e-5},
                        Kind{"passive", false, 1e-9}, Kind{"passive", true, 1e-5}})
    for (double r : {0.0, 8.3, 50.0})
      for (bool ones : {false, true}) {
        const auto x = make(k.kind, 8, r, ones, 7, k.reram);
        const auto ref = spice::solve_crossbar(session, x);
        const auto nat = circuit::solve_crossbar(x);
        INFO(k.kind << (k.reram ? " (reram)" : "") << " r_wire " << r << (ones ? " all-ones" : " random"));
        const double w = worst_rel(nat.column_current_A, ref.column_current_A, 1e-12);
        INFO("worst relative column difference " << w);
        CHECK(w <= k.tol);
      }
}

TEST_CASE("native vs ngspice: passive rectangular arrays with only the rows or only the columns ideal", "[circuit][ngspice]") {
  // The nested dissection has separate branches for an absent layer of unknowns (an ideal line is
  // merged into its driver or sense node) and for uneven sides; rectangular arrays exercise both.
  spice::Session session;
  const auto tech = load_technology("7nm");
  for (bool reram : {false, true})
    for (auto [rows, cols] : {std::pair{12, 20}, std::pair{21, 9}})
      for (auto [r_row, r_col] : {std::pair{0.0, 8.3}, std::pair{8.3, 0.0}, std::pair{2.5, 50.0}}) {
        auto x = make_crossbar(tech, "passive", rows, cols);
        x.parasitics.r_wordline_ohm = r_row;
        x.parasitics.r_bitline_ohm = r_col;
        if (reram) x.params.choices["passive_cell"] = "reram";
        fill_random_inputs(x, 0.5, 5);
        fill_random_weights(x, 0.5, 5);
        const auto ref = spice::solve_crossbar(session, x);
        const auto nat = circuit::solve_crossbar(x);
        INFO((reram ? "reram " : "resistor ") << rows << "x" << cols << " row wires " << r_row << " column wires " << r_col);
        const double w = worst_rel(nat.column_current_A, ref.column_current_A, 1e-12);
        INFO("worst relative column difference " << w);
        CHECK(w <= (reram ? 1e-5 : 1e-9));  // same tolerances as above
      }
}
