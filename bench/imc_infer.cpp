// Inference-simulator throughput (docs/PERFORMANCE.md, "Inference simulator (issue 7)"): images/s of
// the software bit-packed path, the ideal crossbar hook, LUT sensing and exact (native solver)
// sensing on the same network and images, and the LUT slowdown against the bit-packed path.
//
//   bench_imc_infer --lut BUNDLE [--network models/networks/bnn_cnn] [--rows 128] [--images 10000]
//                   [--exact-images 2] [--threads 2] [--mapping xnor] [--binsparx none]
// Without the network's .safetensors (still training) the same architecture with random weights is
// used: the work per image, hence the speed, does not depend on the weight values.
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
  std::string lut, network = (source_dir() / "models/networks/bnn_cnn").string(), mapping = "xnor", binsparx = "none";
  int rows = 128;
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
  std::printf("network %s (%s weights), %zu images, %d rows, %s mapping, BinSparX %s, %u threads\n",
              net.architecture().name.c_str(), trained ? "trained" : "random", data.count, rows, mapping.c_str(),
              binsparx.c_str(), threads);

  const auto t0 = std::chrono::steady_clock::now();
  const auto soft = net.predict_all(data, 0, threads);
  const double soft_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  imc::SimConfig cfg;
  cfg.rows = rows;
  cfg.mapping = imc::parse_mapping(mapping);
  cfg.binsparx = imc::parse_binsparx(binsparx);
  const auto ideal = imc::evaluate(net, data, cfg, 0, threads, &soft);
  cfg.sensing = imc::Sensing::lut;
  cfg.array_lut = std::make_shared<const lut::ArrayPsLut>(lut::ArrayPsLut::load(lut));
  const auto lutr = imc::evaluate(net, data, cfg, 0, threads, &soft);
  cfg.sensing = imc::Sensing::exact;
  // n = 0 means all images to evaluate(): skip exact mode instead.
  const auto exact = exact_images ? imc::evaluate(net, data, cfg, exact_images, threads, &soft) : imc::Evaluation{};

  const double reads = double(lutr.total.reads) / double(lutr.images);
  std::printf("| path | images | seconds | images/s | column reads/s |\n|---|---|---|---|---|\n");
  std::printf("| software, bit-packed popcount | %zu | %.2f | %.0f | - |\n", data.count, soft_s, data.count / soft_s);
  auto row = [&](const char* name, const imc::Evaluation& e) {
    std::printf("| %s | %zu | %.2f | %.1f | %.3g |\n", name, e.images, e.seconds, e.images_per_s(),
                reads * e.images_per_s());
  };
  row("crossbar hook, ideal sensing", ideal);
  row("crossbar hook, LUT sensing", lutr);
  if (exact_images) row("crossbar hook, exact native solver", exact);
  std::printf("column reads per image: %.0f; LUT vs bit-packed software: %.1fx slower; LUT vs ideal hook: %.1fx; "
              "exact vs LUT: %.0fx\n",
              reads, (data.count / soft_s) / lutr.images_per_s(), ideal.images_per_s() / lutr.images_per_s(),
              exact_images ? lutr.images_per_s() / exact.images_per_s() : 0.0);
  std::printf("ideal hook agrees with software on %zu of %zu images\n", ideal.images - ideal.disagreements, ideal.images);
  return 0;
}
