#pragma once
// Helpers for the imc tests: random in-memory binary networks and temporary directories.
#include <unistd.h>

#include <filesystem>
#include <string>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/model.hpp"
#include "xbarkit/nn/network.hpp"

namespace imc_test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "xbarkit_imc_test_XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// A network from architecture text with random weights (P(w >= 0) = weight_density per layer) and
// batch-norm parameters chosen so hidden thresholds fall inside the reachable range.
inline xbarkit::nn::Network random_network(const std::string& toml, uint64_t seed, double weight_density = 0.5) {
  using namespace xbarkit;
  auto arch = nn::parse_architecture(toml, "test");
  nn::NetworkParams p;
  Rng rng(seed, 7);
  for (size_t li = 0; li < arch.layers.size(); ++li) {
    const auto& s = arch.layers[li];
    nn::LayerParams lp;
    lp.weight.shape = nn::weight_shape(s);
    lp.weight.data.resize(lp.weight.numel());
    for (auto& w : lp.weight.data) w = rng.uniform() < weight_density ? float(0.1 + rng.uniform()) : float(-0.1 - rng.uniform());
    const double spread = s.real_input ? 128.0 * std::sqrt(double(s.fan_in)) * arch.input_scale : std::sqrt(double(s.fan_in));
    for (int o = 0; o < s.out; ++o) {
      lp.bn_weight.push_back(float(rng.uniform() < 0.8 ? 0.5 + rng.uniform() : -0.5 - rng.uniform()));
      lp.bn_bias.push_back(float(0.3 * (rng.uniform() - 0.5)));
      lp.bn_mean.push_back(float(spread * (rng.uniform() - 0.5)));
      lp.bn_var.push_back(float(spread * spread * (0.5 + rng.uniform())));
    }
    p.layers.push_back(std::move(lp));
  }
  return nn::Network(std::move(arch), p);
}

// Conv + dense, with fan-ins that leave partial tiles at every tile size used in the tests.
inline const char* kSmallCnn = R"(
format = "xbarkit-bnn-1"
name = "small_cnn"
input = [1, 12, 12]
classes = 10
[[layer]]
type = "conv3x3"
out = 8
pool = true
[[layer]]
type = "conv3x3"
out = 21
pool = true
[[layer]]
type = "dense"
out = 37
[[layer]]
type = "dense"
out = 10
)";

inline const char* kSmallMlp = R"(
format = "xbarkit-bnn-1"
name = "small_mlp"
input = [1, 8, 8]
classes = 10
[[layer]]
type = "dense"
out = 96
[[layer]]
type = "dense"
out = 70
[[layer]]
type = "dense"
out = 10
)";

// n random 8-bit images of the network's input shape, with random labels.
inline xbarkit::nn::Dataset random_images(const xbarkit::nn::Network& net, size_t n, uint64_t seed) {
  xbarkit::nn::Dataset d;
  d.name = "random";
  d.count = n;
  d.channels = net.architecture().in_channels;
  d.rows = net.architecture().in_height;
  d.cols = net.architecture().in_width;
  xbarkit::Rng rng(seed, 3);
  d.pixels.resize(n * d.image_size());
  for (auto& p : d.pixels) p = uint8_t(rng.below(256));
  for (size_t i = 0; i < n; ++i) d.labels.push_back(uint8_t(rng.below(10)));
  return d;
}

}  // namespace imc_test
