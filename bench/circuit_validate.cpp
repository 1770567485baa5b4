// Native solver vs ngspice validation run (issue 3) at sizes too slow for the test suite. Prints a
// markdown table for docs/VALIDATION.md.
//   build-circuit/bench/bench_circuit_validate [SIZE...]      (default: 64; 128 takes minutes per array in ngspice)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/crossbar_op.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {64};
  const auto tech = load_technology("7nm");
  spice::Session session;
  std::printf("| array | wires (ohm/segment) | stimulus | max rel. column diff | RMS rel. diff | ngspice (s) | native (ms) |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  struct Kind { CellKind kind; bool reram; };
  for (int n : sizes)
    for (const auto& k : {Kind{CellKind::sram8t, false}, Kind{CellKind::rram1t1r, false}, Kind{CellKind::passive, false},
                          Kind{CellKind::passive, true}})
      for (double r : {-1.0, 0.0, 50.0})
        for (bool ones : {false, true}) {
          if (n > 64 && (r != -1.0 || ones)) continue;  // 128x128: default wires, random stimulus only
          auto x = make_crossbar(tech, k.kind, n, n);
          if (r >= 0) x.parasitics = {r, r, r};
          if (k.reram) x.passive_cell = PassiveCell::reram;
          if (ones) {
            std::fill(x.inputs.begin(), x.inputs.end(), 1);
            std::fill(x.weights.begin(), x.weights.end(), 1);
          } else {
            fill_random_inputs(x, 0.5, 1);
            fill_random_weights(x, 0.5, 1);
          }
          const auto ref = spice::solve_crossbar(session, x);
          const auto nat = circuit::solve_crossbar(x);
          double worst = 0, sq = 0;
          for (int j = 0; j < n; ++j) {
            const double d = std::abs(nat.column_current_A[j] - ref.column_current_A[j]) /
                             std::max(std::abs(ref.column_current_A[j]), 1e-12);
            worst = std::max(worst, d);
            sq += d * d;
          }
          std::printf("| %s%s %dx%d | %s | %s | %.2e | %.2e | %.2f | %.2f |\n", to_string(k.kind).c_str(),
                      k.reram ? " (reram)" : "", n, n,
                      r < 0 ? "default" : (r == 0 ? "0 (ideal)" : "50"), ones ? "all ones" : "random 50%", worst,
                      std::sqrt(sq / n), ref.elapsed_s, nat.elapsed_s * 1e3);
          std::fflush(stdout);
        }
  return 0;
}
