// Cost of a training epoch with stochastic-computing weight gradients (train/sc_update.hpp) against a
// floating-point epoch of the same network (issue 16: at most 5x at L = 64), measured in one run on a
// slice of the training set, float and SC epochs alternated `rounds` times so that load changes on a
// shared machine hit both alike. Prints each epoch's wall time (the trainer's epoch time, evaluation
// excluded) and the process and calling-thread CPU time of the whole one-epoch training call (which
// also includes setting up the network and, for CBRAM, drawing and calibrating the devices), and the
// ratios of the medians. On a machine shared with other jobs only the CPU-time ratios mean anything.
// The epoch CPU time of an SC run is the call's CPU time minus that of making the layers' SC kernels
// (device draws and calibration: once per training, not per epoch), measured here by making the same
// kernels once more on the calling thread.
//   build/bench/bench_train_sc_epoch [network=bnn_mlp] [images=5000] [threads=1] [sources=ideal:64,cbram:64] [rounds=3]
// A source may end in +tensor (per-tensor operand scales) and/or +nochop (no chopping), e.g.
// cbram:64+tensor+nochop for the first design.
#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "xbarkit/core/paths.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/sc/update.hpp"
#include "xbarkit/train/sc_update.hpp"
#include "xbarkit/train/trainer.hpp"
#include "epoch_rounds.hpp"

using namespace xbarkit;

namespace {
double cpu_s(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
  const std::string network = argc > 1 ? argv[1] : "bnn_mlp";
  const size_t images = argc > 2 ? size_t(std::atol(argv[2])) : 5000;
  const unsigned threads = argc > 3 ? unsigned(std::atoi(argv[3])) : 1;
  const std::string sources = argc > 4 ? argv[4] : "ideal:64,cbram:64";
  const int rounds = argc > 5 ? std::atoi(argv[5]) : 3;
  const auto arch = nn::load_architecture(models_dir() / "networks" / (network + ".toml"));
  const auto data = nn::load_fashion_mnist(nn::Split::Train).head(images);
  std::vector<std::string> names{"float"};
  std::stringstream ss(sources);
  for (std::string s; std::getline(ss, s, ',');) names.push_back(s);
  // SOURCE:L, optionally +tensor (per-tensor scales) and +nochop, as --sc-scale / --sc-chop; parsed
  // before anything runs.
  std::vector<train::ScUpdateConfig> configs(names.size());
  for (size_t c = 1; c < names.size(); ++c) {
    std::stringstream parts(names[c]);
    std::string part;
    std::getline(parts, part, '+');
    configs[c] = train::parse_sc_update(part);
    while (std::getline(parts, part, '+')) {
      if (part == "tensor") configs[c].scaling = sc::Scaling::tensor;
      else if (part == "nochop") configs[c].chop = false;
      else {
        fmt::print(stderr, "unknown source option '+{}' in '{}' (+tensor, +nochop)\n", part, names[c]);
        return 1;
      }
    }
  }
  std::vector<std::vector<double>> seconds(names.size()), process_cpu(names.size()), thread_cpu(names.size());
  fmt::print("{}, {} training images, batch {}, threads {}, {} rounds\n", network, images, arch.train.batch, threads,
             rounds);
  for (int r = 0; r < rounds; ++r)
    for (size_t c = 0; c < names.size(); ++c) {
      auto t = bench::one_epoch(arch, threads);
      if (c > 0) t.sc_update = configs[c];
      const double p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID), t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
      const auto res = train::train_network(arch, data, nullptr, t);
      process_cpu[c].push_back(cpu_s(CLOCK_PROCESS_CPUTIME_ID) - p0);
      thread_cpu[c].push_back(cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0);
      if (c > 0) {  // the SC kernels' one-time setup, as the trainer makes them
        const double s0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
        for (size_t li = 0; li < arch.layers.size(); ++li)
          sc::ScOuterProduct k(size_t(arch.layers[li].out), size_t(arch.layers[li].fan_in),
                               train::kernel_options(*t.sc_update, t.config.seed, li, threads));
        const double setup = cpu_s(CLOCK_THREAD_CPUTIME_ID) - s0;
        process_cpu[c].back() -= setup;
        thread_cpu[c].back() -= setup;
        fmt::print("        {:<12} SC kernel setup {:.2f} s CPU (subtracted below)\n", names[c], setup);
      }
      seconds[c].push_back(res.epochs.at(0).seconds);
      fmt::print("round {} {:<12} wall {:8.2f} s  process CPU {:8.2f} s  thread CPU {:8.2f} s\n", r + 1, names[c],
                 seconds[c].back(), process_cpu[c].back(), thread_cpu[c].back());
    }
  using bench::median;
  const double base = median(seconds[0]), base_p = median(process_cpu[0]), base_t = median(thread_cpu[0]);
  fmt::print("{:<12} {:>10} {:>8} {:>14} {:>8} {:>13} {:>8} {:>14}\n", "update", "wall s", "ratio", "process CPU s",
             "ratio", "thread CPU s", "ratio", "CPU s/60k img");
  for (size_t c = 0; c < names.size(); ++c) {
    const double m = median(seconds[c]), mp = median(process_cpu[c]), mt = median(thread_cpu[c]);
    fmt::print("{:<12} {:>10.2f} {:>8.2f} {:>14.2f} {:>8.2f} {:>13.2f} {:>8.2f} {:>14.1f}\n", names[c], m, m / base, mp,
               mp / base_p, mt, mt / base_t, mp * 60000.0 / double(images));
  }
  return 0;
}
