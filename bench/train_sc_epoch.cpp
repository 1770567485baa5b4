// Cost of a training epoch with stochastic-computing weight gradients (train/sc_update.hpp) against a
// floating-point epoch of the same network (issue 16: at most 5x at L = 64), measured in one run on a
// slice of the training set, float and SC epochs alternated `rounds` times so that load changes on a
// shared machine hit both alike. Prints each epoch and the ratio of the medians.
//   build/bench/bench_train_sc_epoch [network=bnn_mlp] [images=5000] [threads=1] [sources=ideal:64,cbram:64] [rounds=3]
#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "xbarkit/core/paths.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/train/trainer.hpp"

using namespace xbarkit;

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
  std::vector<std::vector<double>> seconds(names.size());
  fmt::print("{}, {} training images, batch {}, threads {}, {} rounds\n", network, images, arch.train.batch, threads,
             rounds);
  for (int r = 0; r < rounds; ++r)
    for (size_t c = 0; c < names.size(); ++c) {
      train::TrainOptions t;
      t.config = arch.train;
      t.config.epochs = 1;
      t.config.recalibrate_bn = false;
      t.threads = threads;
      if (c > 0) t.sc_update = train::parse_sc_update(names[c]);
      const auto res = train::train_network(arch, data, nullptr, t);
      seconds[c].push_back(res.epochs.at(0).seconds);
      fmt::print("round {} {:<12} {:8.2f} s\n", r + 1, names[c], seconds[c].back());
    }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  const double base = median(seconds[0]);
  fmt::print("{:<12} {:>12} {:>16} {:>8}\n", "update", "median s", "s/epoch (60k)", "ratio");
  for (size_t c = 0; c < names.size(); ++c) {
    const double m = median(seconds[c]);
    fmt::print("{:<12} {:>12.2f} {:>16.1f} {:>8.2f}\n", names[c], m, m * 60000.0 / double(images), m / base);
  }
  return 0;
}
