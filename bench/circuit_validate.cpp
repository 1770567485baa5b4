// Native solver vs ngspice validation run (issue 3) at sizes too slow for the test suite. Prints one
// markdown row per array for docs/VALIDATION.md, as each finishes.
//
//   bench_circuit_validate [--kind K]... [--wires W]... [--stimulus random|ones]... [--header] SIZE...
//
// K: sram8t, rram1t1r, passive, passive-reram (default: all four); W: default, 0 or a resistance in
// ohm per segment (default: default 0 50); stimulus default: both. Each ngspice deck runs in a fresh
// forked worker (ngspice keeps memory between decks), so one failing or huge deck does not take the
// rest with it: a failure is printed as a row with ngspice's message. 128x128 transistor arrays take
// ngspice minutes each (and GBs of memory: the MVS subcircuit's numparam expansion).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "xbarkit/spice/worker_pool.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;

namespace {

struct Kind {
  std::string name;
  std::string kind;
  bool reram;
};

const std::vector<Kind> kAllKinds = {{"sram8t", "sram8t", false},
                                     {"rram1t1r", "rram1t1r", false},
                                     {"passive", "passive", false},
                                     {"passive-reram", "passive", true}};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "bench_circuit_validate: %s\n", why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  std::vector<Kind> kinds;
  std::vector<double> wires;  // < 0: the technology's default wires
  std::vector<bool> stimuli;  // true: all ones
  bool header = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--kind") {
      const auto v = value();
      auto it = std::find_if(kAllKinds.begin(), kAllKinds.end(), [&](const Kind& k) { return k.name == v; });
      if (it == kAllKinds.end()) usage("unknown kind '" + v + "'");
      kinds.push_back(*it);
    } else if (a == "--wires") {
      const auto v = value();
      wires.push_back(v == "default" ? -1.0 : std::atof(v.c_str()));
    } else if (a == "--stimulus") {
      const auto v = value();
      if (v != "random" && v != "ones") usage("stimulus is random or ones, not '" + v + "'");
      stimuli.push_back(v == "ones");
    } else if (a == "--header") {
      header = true;
    } else {
      sizes.push_back(std::atoi(a.c_str()));
      if (sizes.back() < 1) usage("bad size '" + a + "'");
    }
  }
  if (sizes.empty()) sizes = {64};
  if (kinds.empty()) kinds = kAllKinds;
  if (wires.empty()) wires = {-1.0, 0.0, 50.0};
  if (stimuli.empty()) stimuli = {false, true};

  const auto tech = load_technology("7nm");
  spice::WorkerPool pool(1, 1);  // a fresh process per deck
  if (header) {
    std::printf("| array | wires (ohm/segment) | stimulus | max rel. column diff | RMS rel. diff | ngspice CPU (s) | native (ms) |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
  }
  int failures = 0;
  for (int n : sizes)
    for (const auto& k : kinds)
      for (double r : wires)
        for (bool ones : stimuli) {
          auto x = make_crossbar(tech, k.kind, n, n);
          if (r >= 0) x.parasitics = {r, r, r};
          if (k.reram) x.params.choices["passive_cell"] = "reram";
          if (ones) {
            std::fill(x.inputs.begin(), x.inputs.end(), 1);
            std::fill(x.weights.begin(), x.weights.end(), 1);
          } else {
            fill_random_inputs(x, 0.5, 1);
            fill_random_weights(x, 0.5, 1);
          }
          const std::string label = k.name + " " + std::to_string(n) + "x" + std::to_string(n);
          const std::string wire_label = r < 0 ? "default" : (r == 0 ? "0 (ideal)" : std::to_string(int(r)));
          const std::string stim_label = ones ? "all ones" : "random 50%";
          const auto results = pool.run({spice::crossbar_job(x)});
          const auto& res = results.front();
          if (!res.ok) {
            ++failures;
            std::printf("| %s | %s | %s | ngspice failed: %s | | | |\n", label.c_str(), wire_label.c_str(),
                        stim_label.c_str(), res.error.c_str());
            std::fflush(stdout);
            continue;
          }
          const auto ref = spice::decode_crossbar_result(x, res);
          const auto nat = circuit::solve_crossbar(x);
          double worst = 0, sq = 0;
          for (int j = 0; j < n; ++j) {
            const double d = std::abs(nat.column_current_A[j] - ref.column_current_A[j]) /
                             std::max(std::abs(ref.column_current_A[j]), 1e-12);
            worst = std::max(worst, d);
            sq += d * d;
          }
          // ngspice's fallback, when it needed one (its answer is then less tight: spice::OpResult::method)
          const std::string stim_cell = stim_label + (res.op_method == "newton" ? "" : " (ngspice: " + res.op_method + ")");
          std::printf("| %s | %s | %s | %.2e | %.2e | %.1f | %.2f |\n", label.c_str(), wire_label.c_str(),
                      stim_cell.c_str(), worst, std::sqrt(sq / n), res.cpu_s, nat.elapsed_s * 1e3);
          std::fflush(stdout);
        }
  return failures == 0 ? 0 : 1;
}
