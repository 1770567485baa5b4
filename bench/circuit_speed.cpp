// Native solver speed: native vs ngspice per operating point on the same recipes, the
// column-ladder solves on one core, and passive-array analysis / factorization / per-vector solve
// times from 64x64 up to --max-passive (default 512) with the multifrontal default and three Eigen
// baselines (up to 256). Prints markdown tables for docs/PERFORMANCE.md.
//   build/bench/bench_circuit_speed [--no-ngspice] [--only-ladder] [--only-passive] [--max-passive N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <ctime>

#include <fmt/format.h>

#include "xbarkit/circuit/passive.hpp"
#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/crossbar_op.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;
using Clock = std::chrono::steady_clock;

namespace {
Crossbar random_array(std::string kind, int n, uint64_t seed = 1) {
  auto x = make_crossbar(load_technology("7nm"), kind, n, n);
  fill_random_inputs(x, 0.5, seed);
  fill_random_weights(x, 0.5, seed);
  return x;
}
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
// Best wall time of `reps` solves; `cpu` gets the best thread CPU time (immune to the machine's
// other load preempting this process, which inflates wall times of runs longer than a time slice).
double best_native(const Crossbar& x, int reps, int* iterations = nullptr, double* cpu = nullptr) {
  double best = 1e30, best_cpu = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double c0 = thread_cpu_s();
    const auto s = circuit::solve_crossbar(x);
    best_cpu = std::min(best_cpu, thread_cpu_s() - c0);
    best = std::min(best, s.elapsed_s);
    if (iterations) *iterations = s.newton_iterations;
  }
  if (cpu) *cpu = best_cpu;
  return best;
}
}  // namespace

int main(int argc, char** argv) {
  bool ngspice = true;
  int max_passive = 512;
  bool ladder = true, passive = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--no-ngspice")) ngspice = false;
    if (!std::strcmp(argv[i], "--only-ladder")) ngspice = passive = false;
    if (!std::strcmp(argv[i], "--only-passive")) ngspice = ladder = false;
    if (!std::strcmp(argv[i], "--max-passive") && i + 1 < argc) max_passive = std::atoi(argv[++i]);
  }
  if (ngspice) {
    std::printf("### Native vs ngspice, one operating point, default 7nm wires, random stimulus (seed 1)\n\n");
    std::printf("| array | ngspice (s) | native (ms, best of 5) | speedup | max rel. column diff |\n|---|---|---|---|---|\n");
    spice::Session session;
    for (auto kind : {"sram8t", "passive", "rram1t1r"}) {
      const auto x = random_array(kind, 64);
      const auto ref = spice::solve_crossbar(session, x);
      const double t = best_native(x, 5);
      const auto nat = circuit::solve_crossbar(x).column_current_A;
      double w = 0;
      for (size_t j = 0; j < nat.size(); ++j)
        w = std::max(w, std::abs(nat[j] - ref.column_current_A[j]) / std::max(std::abs(ref.column_current_A[j]), 1e-12));
      std::printf("| %s 64x64 | %.3f | %.3f | %.0fx | %.1e |\n", std::string(kind).c_str(), ref.elapsed_s, t * 1e3,
                  ref.elapsed_s / t, w);
      std::fflush(stdout);
    }
    std::printf("\n");
  }

  if (ladder) {
    std::printf("### Column-ladder arrays on one core (threads = 1), default wires, random stimulus\n\n");
    std::printf("| array | native wall (ms, best of 10) | native CPU (ms, best of 10) | Newton iterations | CPU per cell (ns) |\n|---|---|---|---|---|\n");
    for (auto kind : {"sram8t", "rram1t1r"})
      for (int n : {32, 64, 128, 256}) {
        const auto x = random_array(kind, n);
        int its = 0;
        double cpu = 0;
        const double t = best_native(x, n >= 256 ? 3 : 10, &its, &cpu);
        std::printf("| %s %dx%d | %.3f | %.3f | %d | %.0f |\n", std::string(kind).c_str(), n, n, t * 1e3, cpu * 1e3, its,
                    cpu / (n * n) * 1e9);
        std::fflush(stdout);
      }
  }
  if (!passive) return 0;

  std::printf("\n### Passive linear array: factorization and solves vs size and ordering\n\n");
  std::printf("nested = xbarkit's geometric nested dissection + multifrontal Cholesky (the default); nested-simplicial "
              "= the same ordering with Eigen's SimplicialLLT; amd = Eigen SimplicialLLT with AMD; colamd-lu = Eigen "
              "SparseLU with COLAMD (general-purpose baseline). Times are thread CPU times (best of 3 for nested). "
              "Per-vector time: one input vector alone (best of 3), and each of a block of 64 solved at once.\n\n");
  std::printf("| array | ordering | unknowns | factor entries | analyze (ms) | factorize (ms) | 1 vector (ms) | per vector in a block of 64 (ms) |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  using circuit::PassiveOrdering;
  for (int n = 64; n <= max_passive; n *= 2)
    for (auto ord : {PassiveOrdering::nested_dissection, PassiveOrdering::nested_dissection_simplicial,
                     PassiveOrdering::amd, PassiveOrdering::colamd_lu}) {
      if (ord != PassiveOrdering::nested_dissection && n > 256) continue;  // baselines get too slow
      const auto x = random_array("passive", n);
      circuit::PassiveNetwork net(x, ord);
      double analyze = net.analyze_s(), factorize = net.factorize_s();
      for (int r = 1; r < (ord == PassiveOrdering::nested_dissection ? 3 : 1); ++r) {
        net = circuit::PassiveNetwork(x, ord);
        analyze = std::min(analyze, net.analyze_s()), factorize = std::min(factorize, net.factorize_s());
      }
      Rng rng(7);
      Eigen::MatrixXd drive(n, 64);
      for (int k = 0; k < 64; ++k)
        for (int i = 0; i < n; ++i) drive(i, k) = rng.uniform() < 0.5 ? x.v_read_V : 0.0;
      double one = 1e30;
      for (int r = 0; r < 3; ++r) {
        const double c0 = thread_cpu_s();
        const Eigen::MatrixXd c = net.column_currents(Eigen::MatrixXd(drive.col(r)));
        one = std::min(one, thread_cpu_s() - c0);
      }
      const double c0 = thread_cpu_s();
      const Eigen::MatrixXd c = net.column_currents(drive);
      const double block = (thread_cpu_s() - c0) / 64;
      const char* name = ord == PassiveOrdering::nested_dissection            ? "nested"
                         : ord == PassiveOrdering::nested_dissection_simplicial ? "nested-simplicial"
                         : ord == PassiveOrdering::amd                          ? "amd"
                                                                                : "colamd-lu";
      std::printf("| %dx%d | %s | %d | %ld | %.1f | %.1f | %.2f | %.2f |\n", n, n, name, net.unknowns(),
                  net.factor_nonzeros(), analyze * 1e3, factorize * 1e3, one * 1e3, block * 1e3);
      std::fflush(stdout);
    }
  return 0;
}
