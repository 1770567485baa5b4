// The PCM analog engine (xbarkit/pcm/analog_engine.hpp) on a network-sized set of matrices, for
// docs/PERFORMANCE.md: products per second for the weight layers of a ResNet-8 on 28x28 inputs
// (16/32/64 channels; conv3x3 1->16; per stage two 3x3 convs, the first of stages 2 and 3 with
// stride 2 and a 1x1 projection shortcut; dense 64->10), so the speed targets (10,000 test
// images in < 60 s without IR drop, < 15 min with exact IR drop at 128 rows, on 2 cores) can be
// judged. Only the engine's products are timed (DAC, tiles, ADC, digital sum, GDC scale); the
// network's im2col, batch norm, ReLU and pooling are not. Random weights and activations (the
// engine's cost does not depend on their values). PCM model with all noise on, t = 1 day, GDC on.
// Exact IR drop pays its circuit solves when the engine is built (one per tile row: the tiles'
// transfers), so "build" holds them and the per-image cost is that of a dense product.
//   build/bench/bench_pcm_engine [--images N] [--exact-images N] [--threads T]
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/pcm/analog_engine.hpp"

using namespace xbarkit;
using namespace xbarkit::pcm;

namespace {
struct Shape {
  const char* name;
  int out, fan_in, positions;
};
const Shape kResNet8[] = {
    {"conv0 1->16", 16, 9, 784},       {"s1.a 16->16", 16, 144, 784},     {"s1.b 16->16", 16, 144, 784},
    {"s2.a 16->32 /2", 32, 144, 196},  {"s2.b 32->32", 32, 288, 196},     {"s2.sc 1x1 16->32", 32, 16, 196},
    {"s3.a 32->64 /2", 64, 288, 49},   {"s3.b 64->64", 64, 576, 49},      {"s3.sc 1x1 32->64", 64, 32, 49},
    {"fc 64->10", 10, 64, 1}};

double cpu_s() {  // process CPU time (all threads): immune to other processes sharing the cores
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

int main(int argc, char** argv) {
  int images = 400, exact_images = -1;  // exact IR: as many images as the others unless given
  unsigned threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--images")) images = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--exact-images")) exact_images = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 1; }
  }
  if (exact_images < 0) exact_images = images;
  std::vector<nn::WeightMatrix> layers;
  std::vector<std::vector<float>> inputs;
  long macs = 0;
  Rng rng(1, 0);
  for (const auto& s : kResNet8) {
    nn::WeightMatrix w;
    w.name = s.name, w.out = s.out, w.fan_in = s.fan_in, w.positions = s.positions;
    w.w.resize(static_cast<size_t>(s.out) * s.fan_in);
    for (auto& v : w.w) v = static_cast<float>(rng.normal() / std::sqrt(s.fan_in));
    std::vector<float> x(static_cast<size_t>(s.fan_in) * s.positions);
    for (auto& v : x) v = static_cast<float>(rng.uniform() < 0.5 ? 0.0 : rng.uniform());  // ReLU-like
    layers.push_back(std::move(w));
    inputs.push_back(std::move(x));
    macs += static_cast<long>(s.out) * s.fan_in * s.positions;
  }
  std::printf("ResNet-8 (28x28, 16/32/64): %zu weight layers, %.2f M MACs per image, %d threads\n", layers.size(),
              macs / 1e6, threads);
  std::printf("| IR | rows | tiles | circuit solves (build) | build (s) | images timed | images/s (wall) | CPU ms/image | "
              "10,000 images on 2 cores (s, from CPU time) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  struct Case {
    IrMode ir;
    int rows;
    int n;
  };
  for (const Case c : {Case{IrMode::none, 256, images}, Case{IrMode::none, 128, images}, Case{IrMode::aihwkit, 128, images / 4 * (exact_images > 0)},
                       Case{IrMode::exact, 128, exact_images}, Case{IrMode::exact, 256, exact_images}}) {
    AnalogEngineOptions o;
    o.t_s = 86400, o.gdc = GdcMode::layer, o.rows_per_tile = c.rows, o.ir = c.ir, o.threads = threads;
    double t0 = now_s();
    const AnalogEngine e(layers, PcmModel{}, o);
    const double build = now_s() - t0;
    int tiles = 0;
    for (size_t l = 0; l < layers.size(); ++l) tiles += e.tiles(l);
    if (c.n == 0) continue;
    t0 = now_s();
    const double c0 = cpu_s();
    parallel_for(static_cast<size_t>(c.n), threads, [&](size_t img) {
      std::vector<float> y;
      for (size_t l = 0; l < layers.size(); ++l) {
        y.resize(static_cast<size_t>(layers[l].out) * layers[l].positions);
        e.matmul(l, inputs[l].data(), layers[l].positions, y.data(), img);
      }
    });
    const double run = now_s() - t0, cpu = cpu_s() - c0;
    const double ips = c.n / run, cpu_ms = 1e3 * cpu / c.n;
    std::printf("| %s | %d | %d | %zu | %.2f | %d | %.1f | %.2f | %.0f |\n", to_string(c.ir).c_str(), c.rows, tiles,
                e.circuit_solves(), build, c.n, ips, cpu_ms,
                build + 1e4 * cpu_ms / 1e3 / 2);
    std::fflush(stdout);
  }
  return 0;
}
