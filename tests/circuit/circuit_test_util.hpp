#pragma once
// Helpers shared by the circuit tests: arrays of a kind with uniform wires and a stimulus, and the
// per-column comparison used against ngspice and between solver variants.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/recipe.hpp"

namespace circuit_test {

using xbarkit::netlist::Crossbar;

// n x n array, every wire segment r_wire ohm, all-ones or random (density 0.5, `seed`) stimulus.
inline Crossbar make(std::string kind, int n, double r_wire, bool ones, uint64_t seed, bool reram = false) {
  auto x = xbarkit::netlist::make_crossbar(xbarkit::netlist::load_technology("7nm"), kind, n, n);
  x.parasitics = {r_wire, r_wire, r_wire};
  if (reram) x.params.choices["passive_cell"] = "reram";
  if (ones) {
    std::fill(x.inputs.begin(), x.inputs.end(), 1);
    std::fill(x.weights.begin(), x.weights.end(), 1);
  } else {
    xbarkit::netlist::fill_random_inputs(x, 0.5, seed);
    xbarkit::netlist::fill_random_weights(x, 0.5, seed);
  }
  return x;
}

// Worst per-column |a - b| / |b|. Columns below `floor_A` are compared in absolute terms against
// floor_A (a column of leaking cells carries picoamps, where ngspice's abstol = 1e-15 A per node
// equation is itself a 1e-4 relative effect).
inline double worst_rel(const std::vector<double>& a, const std::vector<double>& b, double floor_A) {
  double w = 0;
  for (size_t j = 0; j < a.size(); ++j) w = std::max(w, std::abs(a[j] - b[j]) / std::max(std::abs(b[j]), floor_A));
  return w;
}

}  // namespace circuit_test
