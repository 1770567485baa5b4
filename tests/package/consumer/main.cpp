// Solves a 16x4 sram8t array with every cell conducting and prints the column currents (A): the
// installed headers, libraries, cell registry and technology file all have to work for this.
#include <cstdio>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/technology.hpp"

int main() {
  using namespace xbarkit;
  auto x = netlist::make_crossbar(netlist::load_technology("7nm"), "sram8t", 16, 4);
  x.inputs.assign(16, 1);
  x.weights.assign(16 * 4, 1);
  const auto s = circuit::solve_crossbar(x);
  for (double i : s.column_current_A) std::printf("%.6e\n", i);
  return 0;
}
