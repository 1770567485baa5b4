// Analog PCM tiles with exact IR drop (xbarkit/pcm/analog_tile.hpp), for docs/PERFORMANCE.md and
// docs/VALIDATION.md, measured in one run:
//   1. speed: symbolic analysis and numeric factorization of an n x n array (n/2 differential
//      outputs), solves per second one input vector at a time and in blocks of 64, and a fresh
//      factorization per input (what a solver without reuse pays);
//   2. accuracy of aihwkit's analytical IR-drop approximation against the exact solve, and of no
//      correction at all, at 128 and 256 rows, for realistic conductances.
// Weights: Gaussian, scaled per output to max |w| = 1, mapped to pairs (|w| G_max on one device, 0
// on the other), programmed and read at t = 1 h with the PCM statistical model (seed 1).
// Timings are thread CPU time (best of 3), immune to other processes sharing the cores.
//   build/bench/bench_pcm_analog_tile [--vectors N]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "xbarkit/circuit/passive.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/pcm/analog_tile.hpp"
#include "xbarkit/pcm/statistical_model.hpp"

using namespace xbarkit;
using namespace xbarkit::pcm;

namespace {
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

void realistic_pairs(int rows, int outs, uint64_t seed, Eigen::MatrixXd& gp, Eigen::MatrixXd& gm) {
  const PcmModel m;
  Rng rng(seed, 1);
  Eigen::MatrixXd w(rows, outs);
  for (int k = 0; k < outs; ++k) {
    for (int i = 0; i < rows; ++i) w(i, k) = rng.normal();
    w.col(k) /= w.col(k).cwiseAbs().maxCoeff();
  }
  std::vector<double> targets(static_cast<size_t>(2 * rows * outs));
  for (int i = 0; i < rows; ++i)
    for (int k = 0; k < outs; ++k) {
      const size_t idx = 2 * (static_cast<size_t>(i) * outs + k);
      targets[idx] = std::max(w(i, k), 0.0) * m.g_max_S;
      targets[idx + 1] = std::max(-w(i, k), 0.0) * m.g_max_S;
    }
  const auto g = read(m, program(m, targets, seed), 3600, seed);
  gp.resize(rows, outs), gm.resize(rows, outs);
  for (int i = 0; i < rows; ++i)
    for (int k = 0; k < outs; ++k) {
      const size_t idx = 2 * (static_cast<size_t>(i) * outs + k);
      gp(i, k) = std::min(g[idx], m.g_max_S), gm(i, k) = std::min(g[idx + 1], m.g_max_S);
    }
}

Eigen::MatrixXd inputs(int rows, int batch, bool signed_inputs, uint64_t seed) {
  Rng rng(seed, 2);
  Eigen::MatrixXd x(rows, batch);
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < rows; ++i) x(i, b) = signed_inputs ? 2 * rng.uniform() - 1 : rng.uniform();
  return x;
}

template <class F>
double best_of(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = thread_cpu_s();
    f();
    best = std::min(best, thread_cpu_s() - t0);
  }
  return best;
}

// Differential outputs (outputs x batch) from physical column currents.
Eigen::MatrixXd differential(const Eigen::MatrixXd& c) {
  Eigen::MatrixXd out(c.rows() / 2, c.cols());
  for (Eigen::Index k = 0; k < out.rows(); ++k) out.row(k) = c.row(2 * k) - c.row(2 * k + 1);
  return out;
}
double rms(const Eigen::MatrixXd& m) { return std::sqrt(m.squaredNorm() / static_cast<double>(m.size())); }
}  // namespace

int main(int argc, char** argv) {
  int vectors = 256;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--vectors") && i + 1 < argc) vectors = std::max(64, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--vectors N]\n", argv[0]);
      return 2;
    }
  }
  const auto tech = netlist::load_technology("7nm");

  std::printf("## speed (default 7nm [pcm] wires, %d input vectors)\n\n", vectors);
  std::printf("| array | unknowns | analysis (ms) | factorization (ms) | solves/s, one at a time | solves/s, blocks of 64 | "
              "fresh factorization per input (solves/s) | block speed-up over fresh |\n|---|---|---|---|---|---|---|---|\n");
  for (int n : {128, 256}) {
    Eigen::MatrixXd gp, gm;
    realistic_pairs(n, n / 2, 1, gp, gm);
    double analyze = 1e30, factor = 1e30;
    for (int r = 0; r < 3; ++r) {
      const AnalogTile t(tech, gp, gm);
      analyze = std::min(analyze, t.analyze_s()), factor = std::min(factor, t.factorize_s());
    }
    const AnalogTile tile(tech, gp, gm);
    const Eigen::MatrixXd x = inputs(n, vectors, false, 3);
    const Eigen::MatrixXd v = tile.drive_V(x);
    volatile double sink = 0;
    const double one = best_of(3, [&] {
      for (int b = 0; b < vectors; ++b) sink = sink + tile.column_currents_from_drive_A(Eigen::MatrixXd(v.col(b)))(0, 0);
    });
    const double block = best_of(3, [&] {
      for (int b = 0; b < vectors; b += 64) sink = sink + tile.column_currents_from_drive_A(Eigen::MatrixXd(v.middleCols(b, std::min(64, vectors - b))))(0, 0);
    });
    const int fresh_n = 16;
    const double fresh = best_of(3, [&] {
      for (int b = 0; b < fresh_n; ++b) {
        const circuit::PassiveNetwork net(tile.crossbar());
        sink = sink + net.column_currents(Eigen::MatrixXd(v.col(b)))(0, 0);
      }
    });
    std::printf("| %dx%d (%d outputs) | %d | %.2f | %.2f | %.0f | %.0f | %.1f | %.0f |\n", n, n, n / 2, tile.unknowns(),
                1e3 * analyze, 1e3 * factor, vectors / one, vectors / block, fresh_n / fresh,
                (vectors / block) / (fresh_n / fresh));
  }

  std::printf("\n## aihwkit's IR-drop approximation vs the exact solve (RMS error of the differential outputs / RMS output)\n\n");
  std::printf("| rows | wire per cell (ohm) | wires modelled | inputs | no correction (ideal G V) | aihwkit approximation | "
              "aihwkit error / uncorrected error |\n|---|---|---|---|---|---|---|\n");
  for (int n : {128, 256}) {
    Eigen::MatrixXd gp, gm;
    realistic_pairs(n, n / 2, 1, gp, gm);
    // 8.3 ohm: the 7nm [pcm] wires; 0.35 ohm: the wire behind aihwkit's default ir_drop_g_ratio.
    for (double r : {8.3, 1.0, 0.35})
      for (int wires = 0; wires < 2; ++wires) {
        AnalogTileOptions o;
        o.r_bitline_ohm = r;
        o.r_wordline_ohm = wires == 1 ? 0.0 : r;  // columns only: aihwkit's own assumption
        o.dac_bits = 0;
        const AnalogTile tile(tech, gp, gm, o);
        for (bool sgn : {false, true}) {
          const Eigen::MatrixXd x = inputs(n, 200, sgn, 4);
          const Eigen::MatrixXd v = tile.drive_V(x);
          const Eigen::MatrixXd exact = differential(tile.column_currents_from_drive_A(v));
          const Eigen::MatrixXd ideal = differential(ideal_column_currents_A(tile.crossbar(), v));
          const Eigen::MatrixXd approx = differential(aihwkit_ir_drop_column_currents_A(tile.crossbar(), v, tile.v_read_V()));
          const double scale = rms(exact);
          std::printf("| %d | %.2f | %s | %s | %.4f | %.4f | %.3f |\n", n, r, wires == 0 ? "rows and columns" : "columns only",
                      sgn ? "uniform [-1, 1]" : "uniform [0, 1]", rms(ideal - exact) / scale, rms(approx - exact) / scale,
                      rms(approx - exact) / rms(ideal - exact));
        }
      }
  }
  return 0;
}
