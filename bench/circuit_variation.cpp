// Native ladder solver with per-device variation vs identical cells, measured in one run (ratios
// for docs/PERFORMANCE.md): every transistor with its own Pelgrom dVt (and every ReRAM its own
// ln R), tt corner, default wires, random stimulus; and with the optional wire spread (lines with
// their own resistance: the scalar column solver).
//   build/bench/bench_circuit_variation [--reps N] [--only KIND ROWS] [--no-wires]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/netlist/variation.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;

namespace {
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
// Best thread CPU time of `reps` one-thread solves (immune to other load preempting the process).
double best_cpu(const Crossbar& x, int reps, int* iterations) {
  circuit::SolveOptions opt;
  opt.threads = 1;
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double c0 = thread_cpu_s();
    const auto s = circuit::solve_crossbar(x, opt);
    best = std::min(best, thread_cpu_s() - c0);
    *iterations = s.newton_iterations;
  }
  return best;
}
}  // namespace

int main(int argc, char** argv) {
  int reps = 10;
  std::string only_kind;
  int only_rows = 0;
  bool wires = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--only") && i + 2 < argc) only_kind = argv[++i], only_rows = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-wires")) wires = false;
    else {
      std::fprintf(stderr, "usage: %s [--reps N] [--only KIND ROWS] [--no-wires]\n", argv[0]);
      return 2;
    }
  }
  const auto tech = load_technology("7nm");
  std::printf("| array | identical cells (ms) | per-device variation (ms) | ratio | with wire spread sigma_ln 0.1 (ms) | ratio | Newton iterations (identical / varied / wires) |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const char* kind : {"sram8t", "rram1t1r"})
    for (int n : {64, 128, 256}) {
      if (!only_kind.empty() && (only_kind != kind || only_rows != n)) continue;
      auto x = make_crossbar(tech, kind, n, n);
      apply_corner(x, tech, "tt");
      fill_random_inputs(x, 0.5, 1);
      fill_random_weights(x, 0.5, 1);
      int it0 = 0, it1 = 0, it2 = 0;
      const double t0 = best_cpu(x, reps, &it0);
      auto v = x;
      draw_variation(v, default_variation(tech, 1.0, 7));
      const double t1 = best_cpu(v, reps, &it1);
      auto w = x;
      auto spec = default_variation(tech, 1.0, 7);
      spec.sigma_ln_wire = 0.1;
      draw_variation(w, spec);
      const double t2 = wires ? best_cpu(w, std::max(1, reps / 2), &it2) : 0.0;
      std::printf("| %s %dx%d | %.3f | %.3f | %.2f | %.3f | %.2f | %d / %d / %d |\n", kind, n, n, t0 * 1e3, t1 * 1e3,
                  t1 / t0, t2 * 1e3, t2 / t0, it0, it1, it2);
      std::fflush(stdout);
    }
  return 0;
}
