// Cost of the SC weight-update kernel (sc/update.hpp) per element at stream length L, against the float
// weight-gradient GEMM it replaces (a float GEMM: Eigen's), on one thread: the 784 -> 512
// dense layer of bnn_mlp with a batch of 100. An "element" is one (sample, output, input) product of
// the batch's outer products, i.e. rows x cols x batch per call. Times are the calling thread's CPU
// time (CLOCK_THREAD_CPUTIME_ID), best of `repeats`, so other jobs on a shared machine do not inflate
// them; both kernels run on this one thread.
//   build/bench/bench_sc_update [L=64] [repeats=5]
#include <algorithm>
#include <ctime>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/core/rng.hpp"
#include <Eigen/Dense>
#include "xbarkit/sc/update.hpp"

using namespace xbarkit;

double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <class F>
double best_of(int repeats, F f) {
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = thread_cpu_s();
    f(r);
    best = std::min(best, thread_cpu_s() - t0);
  }
  return best;
}

int main(int argc, char** argv) {
  const size_t L = argc > 1 ? static_cast<size_t>(std::atol(argv[1])) : 64;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const size_t batch = 100, rows = 512, cols = 784;
  Rng rng(1);
  std::vector<float> delta(batch * rows), x(batch * cols), out(rows * cols);
  for (auto& d : delta) d = static_cast<float>(1e-3 * rng.normal());
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  const double elements = static_cast<double>(batch * rows * cols);

  const double t_gemm = best_of(repeats, [&](int) {
    // G (rows x cols) = delta^T (rows x batch) . x (batch x cols)
    using RM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const RM> D(delta.data(), Eigen::Index(batch), Eigen::Index(rows));
    Eigen::Map<const RM> X(x.data(), Eigen::Index(batch), Eigen::Index(cols));
    Eigen::Map<RM> G(out.data(), Eigen::Index(rows), Eigen::Index(cols));
    G.noalias() = D.transpose() * X;
  });
  fmt::print("layer {} x {}, batch {}, L = {}, one thread, thread CPU time (float GEMM: Eigen)\n", rows, cols, batch, L);
  fmt::print("{:<34} {:>10} {:>12} {:>10}\n", "kernel", "ms/call", "ns/element", "x GEMM");
  fmt::print("{:<34} {:>10.3f} {:>12.4f} {:>10.1f}\n", "float GEMM (Eigen)", t_gemm * 1e3, t_gemm / elements * 1e9, 1.0);
  for (int src = 0; src < 2; ++src) {
    sc::UpdateOptions o;
    o.stream_length = L;
    o.source = src ? sc::UpdateOptions::Source::cbram : sc::UpdateOptions::Source::ideal;
    if (src) o.device = cbram::load_device("ag_asi_gaba2013");
    const sc::ScOuterProduct k(rows, cols, o);
    const double t = best_of(repeats, [&](int r) { k.compute(delta, x, batch, static_cast<uint64_t>(r), out); });
    fmt::print("{:<34} {:>10.3f} {:>12.4f} {:>10.1f}\n", src ? "SC update, CBRAM generators" : "SC update, ideal Bernoulli",
               t * 1e3, t / elements * 1e9, t / t_gemm);
  }
  return 0;
}
