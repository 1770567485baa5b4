// Inference-simulator throughput (docs/PERFORMANCE.md, "Inference simulator (issue 7)"): images/s of
// the software bit-packed path, the ideal crossbar hook, LUT sensing and exact (native solver)
// sensing on the same network and images, and the LUT slowdown against the bit-packed path.
//
//   bench_imc_infer --lut BUNDLE [--network models/networks/bnn_cnn] [--rows 128] [--images 10000]
//                   [--exact-images 2] [--threads 2] [--mapping xnor] [--binsparx none]
//                   [--converter ideal] [--chip 0] [--lut-noise 1]
// Each row ends with a fingerprint (a hash of the predictions and of every per-layer read statistic):
// equal fingerprints before and after a change of the read path show bit-identical partial sums.
// Without the network's .safetensors (still training) the same architecture with random weights is
// used: the work per image, hence the speed, does not depend on the weight values.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "xbarkit/core/paths.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/imc/evaluate.hpp"

using namespace xbarkit;

namespace {

nn::Network random_weights(const std::filesystem::path& toml) {
  auto arch = nn::load_architecture(toml);
  nn::NetworkParams p;
  Rng rng(1, 1);
  for (const auto& s : arch.layers) {
    nn::LayerParams lp;
    lp.weight.shape = nn::weight_shape(s);
    lp.weight.data.resize(lp.weight.numel());
    for (auto& w : lp.weight.data) w = float(rng.uniform() - 0.5);
    const double spread = s.real_input ? 148.0 * std::sqrt(double(s.fan_in)) * arch.input_scale : std::sqrt(double(s.fan_in));
    for (int o = 0; o < s.out; ++o) {
      lp.bn_weight.push_back(1.0f);
      lp.bn_bias.push_back(0.0f);
      lp.bn_mean.push_back(float(0.3 * spread * (rng.uniform() - 0.5)));
      lp.bn_var.push_back(float(spread * spread));
    }
    p.layers.push_back(std::move(lp));
  }
  return nn::Network(std::move(arch), p);
}

}  // namespace

int main(int argc, char** argv) {
  std::string lut, network = (source_dir() / "models/networks/bnn_cnn").string(), mapping = "xnor", binsparx = "none",
              converter = "ideal";
  int rows = 128;
  uint64_t chip = 0;
  bool lut_noise = true;
  size_t images = 10000, exact_images = 2;
  unsigned threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--lut") lut = v;
    else if (a == "--network") network = v;
    else if (a == "--rows") rows = std::stoi(v);
    else if (a == "--images") images = std::stoul(v);
    else if (a == "--exact-images") exact_images = std::stoul(v);
    else if (a == "--threads") threads = unsigned(std::stoul(v));
    else if (a == "--mapping") mapping = v;
    else if (a == "--binsparx") binsparx = v;
    else if (a == "--converter") converter = v;
    else if (a == "--chip") chip = std::stoull(v);
    else if (a == "--lut-noise") lut_noise = std::stoi(v) != 0;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (lut.empty()) {
    std::fprintf(stderr, "usage: bench_imc_infer --lut ARRAY_PS_BUNDLE [--network NET] [--rows R] [--images N] "
                         "[--exact-images N] [--threads T]\n");
    return 2;
  }
  const bool trained = std::filesystem::exists(network + ".safetensors");
  const auto net = trained ? nn::load_network(network) : random_weights(network + ".toml");
  const auto data = nn::load_fashion_mnist(nn::Split::Test).head(images);
  std::printf("network %s (%s weights), %zu images, %d rows, %s mapping, BinSparX %s, converter %s, chip %llu, "
              "%u threads\n",
              net.architecture().name.c_str(), trained ? "trained" : "random", data.count, rows, mapping.c_str(),
              binsparx.c_str(), converter.c_str(), (unsigned long long)chip, threads);

  // Process CPU time (all threads) beside the wall clock: on shared cores only the CPU time is a cost.
  auto cpu_s = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  };
  double c0 = cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  // A network trained for stochastic partial sums has no software path (only a crossbar runs it).
  const bool software = !net.stochastic_psum();
  const auto soft = software ? net.predict_all(data, 0, threads) : std::vector<int>(data.count, 0);
  const double soft_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double soft_cpu = cpu_s() - c0;

  imc::SimConfig cfg;
  cfg.rows = rows;
  cfg.mapping = imc::parse_mapping(mapping);
  cfg.binsparx = imc::parse_binsparx(binsparx);
  cfg.converter = converter;
  cfg.chip = chip;
  cfg.lut_noise = lut_noise;
  cfg.array_lut = std::make_shared<const lut::ArrayPsLut>(lut::ArrayPsLut::load(lut));  // also for "calibrated"
  const std::vector<int>* sw = software ? &soft : nullptr;
  c0 = cpu_s();
  const auto ideal = imc::evaluate(net, data, cfg, 0, threads, sw);
  const double ideal_cpu = cpu_s() - c0;
  cfg.sensing = imc::Sensing::lut;
  c0 = cpu_s();
  const auto lutr = imc::evaluate(net, data, cfg, 0, threads, sw);
  const double lut_cpu = cpu_s() - c0;
  cfg.sensing = imc::Sensing::exact;
  // n = 0 means all images to evaluate(): skip exact mode instead.
  c0 = cpu_s();
  const auto exact = exact_images ? imc::evaluate(net, data, cfg, exact_images, threads, sw) : imc::Evaluation{};
  const double exact_cpu = cpu_s() - c0;

  const double reads = double(lutr.total.reads) / double(lutr.images);
  std::printf("| path | images | seconds | images/s | column reads/s | CPU s | CPU images/s | fingerprint |\n"
              "|---|---|---|---|---|---|---|---|\n");
  std::printf("| software, bit-packed popcount | %zu | %.2f | %.0f | - | %.2f | %.0f | - |\n", data.count, soft_s,
              data.count / soft_s, soft_cpu, data.count / soft_cpu);
  auto fingerprint = [](const imc::Evaluation& e) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
    auto add = [&](int64_t v) {
      for (int i = 0; i < 8; ++i) h = (h ^ uint64_t((v >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
    };
    for (const int p : e.predictions) add(p);
    for (const auto& s : e.layers)
      for (const int64_t v : {s.reads, s.conducting, s.conducting_plain, s.cells, s.weights, s.ps_error_sq,
                              s.ps_error_abs, s.ps_wrong, s.ps_error_max, s.ps_error_sum, s.ps_error_sum_negated,
                              s.reads_negated, s.z_error_sum, s.z_error_sq, s.outputs, s.z_wrong, s.z_error_abs,
                              s.static_flipped, s.dynamic_flipped, s.slices})
        add(v);
    return h;
  };
  auto row = [&](const char* name, const imc::Evaluation& e, double cpu) {
    std::printf("| %s | %zu | %.2f | %.1f | %.3g | %.2f | %.1f | %016llx |\n", name, e.images, e.seconds,
                e.images_per_s(), reads * e.images_per_s(), cpu, double(e.images) / cpu,
                (unsigned long long)fingerprint(e));
  };
  row("crossbar hook, ideal sensing", ideal, ideal_cpu);
  row("crossbar hook, LUT sensing", lutr, lut_cpu);
  if (exact_images) row("crossbar hook, exact native solver", exact, exact_cpu);
  std::printf("column reads per image: %.0f; LUT vs bit-packed software: %.1fx slower; LUT vs ideal hook: %.1fx; "
              "exact vs LUT: %.0fx\n",
              reads, (data.count / soft_s) / lutr.images_per_s(), ideal.images_per_s() / lutr.images_per_s(),
              exact_images ? lutr.images_per_s() / exact.images_per_s() : 0.0);
  std::printf("ideal hook agrees with software on %zu of %zu images\n", ideal.images - ideal.disagreements, ideal.images);
  return 0;
}
