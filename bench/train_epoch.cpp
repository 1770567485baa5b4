// Cost of an epoch with the crossbar in the loop against a plain epoch of the same network
// (issue: at most 3x), for the shipped CNN, measured in one run on a slice of the training set and
// extrapolated to 60,000 images. Each hardware configuration is optional (its bundle argument).
//   build/bench/bench_train_epoch [images=2000] [threads=0] [MTJ_BUNDLE[@FIT]] [ADC_BUNDLE] [ARRAY_LUT] [rounds=3]
// A bundle argument "-" skips that configuration (e.g. to profile one at a time); BENCH_MTJ_L=L sets
// the MTJ sampling length (default 4). Each row ends with
// a hash of the trained parameters: equal hashes before and after a change of the read path show that
// the training forward values (hence every gradient step) are bit-identical.
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "xbarkit/core/paths.hpp"
#include "xbarkit/imc/sim_options.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/train/trainer.hpp"
#include "epoch_rounds.hpp"

using namespace xbarkit;

int main(int argc, char** argv) {
  const size_t images = argc > 1 ? size_t(std::atol(argv[1])) : 2000;
  const unsigned threads = argc > 2 ? unsigned(std::atoi(argv[2])) : 0;
  const std::string mtj = argc > 3 ? argv[3] : "stox", adc = argc > 4 ? argv[4] : "", lut = argc > 5 ? argv[5] : "";
  const int rounds = argc > 6 ? std::max(1, std::atoi(argv[6])) : 3;
  const auto arch = nn::load_architecture(models_dir() / "networks" / "bnn_cnn.toml");
  const auto init = nn::read_params(arch, models_dir() / "networks" / "bnn_cnn.safetensors");
  const auto data = nn::load_fashion_mnist(nn::Split::Train).head(images);
  struct Case {
    std::string name;
    std::optional<train::HardwareInLoop> hw;
  };
  std::vector<Case> cases{{"plain (no crossbar)", std::nullopt}};
  auto hardware = [](imc::SimOptions o, bool stochastic) {
    train::HardwareInLoop h;
    h.sim = imc::make_sim_config(o);
    h.stochastic_psum = stochastic;
    return h;
  };
  imc::SimOptions o;
  o.rows = 128;
  o.converter = "mtj:" + mtj + ":" + (std::getenv("BENCH_MTJ_L") ? std::getenv("BENCH_MTJ_L") : "4");
  if (mtj != "-") cases.push_back({"StoX-Net mtj L=" + o.converter.substr(o.converter.rfind(':') + 1) + ", 128 rows", hardware(o, true)});
  if (!adc.empty() && adc != "-") {
    o.converter = "adc:" + adc;
    auto h = hardware(o, false);
    h.train_chips = 20;
    cases.push_back({"ADC, a chip per image, 128 rows", h});
  }
  if (!lut.empty() && lut != "-") {
    o.converter = "ideal";
    o.array_lut = lut;
    cases.push_back({"array_ps LUT + ideal converter, 128 rows", hardware(o, false)});
  }
  fmt::print("bnn_cnn, {} training images, batch {}, threads {} (0 = all), median of {} rounds\n", images,
             arch.train.batch, threads, rounds);
  // Process CPU time (all threads) as well as wall time: on shared cores the wall clock measures the
  // neighbours; the ratio of CPU times is the cost ratio.
  auto cpu_s = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  };
  fmt::print("{:<44} {:>8} {:>8} {:>14} {:>8} {:>8}  {}\n", "configuration", "wall s", "CPU s", "CPU s/ep (60k)",
             "wall x", "CPU x", "params hash");
  auto params_hash = [](const nn::NetworkParams& p) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the bytes of every tensor
    auto add = [&](const std::vector<float>& v) {
      const auto* c = reinterpret_cast<const unsigned char*>(v.data());
      for (size_t i = 0; i < v.size() * sizeof(float); ++i) h = (h ^ c[i]) * 0x100000001b3ULL;
    };
    for (const auto& l : p.layers) {
      add(l.weight.data);
      add(l.bn_weight);
      add(l.bn_bias);
      add(l.bn_mean);
      add(l.bn_var);
      add(l.psum_gain);
      add(l.psum_offset);
    }
    return h;
  };
  // Rounds: the configurations run in turn, `rounds` times; each row reports the median over rounds
  // (the cores' speed drifts by ±10% between minutes on this machine, which one pass per
  // configuration would fold into the ratios).
  struct Row {
    std::vector<double> wall, cpu;
    uint64_t hash = 0;
  };
  std::vector<Row> rows(cases.size());
  for (int round = 0; round < rounds; ++round)
    for (size_t i = 0; i < cases.size(); ++i) {
      auto t = bench::one_epoch(arch, threads);
      t.init = init;
      t.hardware = cases[i].hw;
      const double cpu0 = cpu_s();
      const auto r = train::train_network(arch, data, nullptr, t);
      rows[i].wall.push_back(r.epochs.at(0).seconds);
      rows[i].cpu.push_back(cpu_s() - cpu0);  // CPU includes the simulator's setup
      const uint64_t h = params_hash(r.params);
      if (round > 0 && h != rows[i].hash) fmt::print("warning: {}: round {} trained other weights\n", cases[i].name, round);
      rows[i].hash = h;
    }
  using bench::median;
  const double plain = median(rows[0].wall), plain_cpu = median(rows[0].cpu);
  for (size_t i = 0; i < cases.size(); ++i) {
    const double s = median(rows[i].wall), cpu = median(rows[i].cpu);
    fmt::print("{:<44} {:>8.2f} {:>8.2f} {:>14.1f} {:>8.2f} {:>8.2f}  {:016x}  CPU s by round: {:.2f}\n", cases[i].name, s,
               cpu, cpu * 60000.0 / double(images), s / plain, cpu / plain_cpu, rows[i].hash,
               fmt::join(rows[i].cpu, " "));
  }
  return 0;
}
