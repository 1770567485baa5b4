#pragma once
// Helpers for the imc tests: random in-memory binary networks and temporary directories.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <cmath>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/lut/bundle.hpp"
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

// A synthetic array_ps bundle for `rows`-row sram8t columns: mean = k I_cell (1 − droop q_or_z k/rows),
// std = std_fraction · mean. droop = 0 and std 0 is an ideal array.
// `extra_axes`: more axes after the second, each on the non-uniform grid 0, 0.1, 0.3, 0.6, 1 with a
// 10% linear effect on the mean (LUT layouts of other cells: rram1t1r is k, q, hrs).
inline std::shared_ptr<const xbarkit::lut::ArrayPsLut> synthetic_lut(int rows, double droop, double std_fraction,
                                                     const std::string& second_axis = "q", int k_step = 1,
                                                     const std::vector<std::string>& extra_axes = {},
                                                     std::vector<double> g = {}) {
  const double cell = 1e-5;
  std::vector<double> ks;
  for (int k = 0; k < rows; k += k_step) ks.push_back(k);
  ks.push_back(rows);
  if (g.empty())  // the second axis's grid, by default 0, 0.2, …, 1
    for (int i = 0; i <= 5; ++i) g.push_back(i / 5.0);
  const std::vector<double> h{0, 0.1, 0.3, 0.6, 1.0};
  std::vector<xbarkit::lut::Axis> axes{{"k", "1", ks}, {second_axis, "1", g}};
  for (const auto& a : extra_axes) axes.push_back({a, "1", h});
  xbarkit::lut::Table t(fmt::format("sram8t_r{}_w1", rows), axes, {{"mean_A", "A"}, {"std_A", "A"}});
  size_t extra_nodes = 1;
  for (size_t a = 0; a < extra_axes.size(); ++a) extra_nodes *= h.size();
  for (size_t i = 0; i < ks.size(); ++i)
    for (size_t j = 0; j < g.size(); ++j)
      for (size_t e = 0; e < extra_nodes; ++e) {
        const double k = ks[i];
        double factor = 1;  // one base-5 digit of e per extra axis
        for (size_t a = 0, rest = e; a < extra_axes.size(); ++a, rest /= h.size()) factor *= 1 - 0.1 * h[rest % h.size()];
        const double mean = factor * k * cell * (1 - droop * (0.3 + 0.7 * g[j]) * k / rows);
        const size_t row = (i * g.size() + j) * extra_nodes + e;  // last axis fastest
        t.value(row, 0) = mean;
        t.value(row, 1) = std_fraction * mean + (std_fraction > 0 ? 1e-3 * cell * g[j] : 0.0);
      }
  xbarkit::lut::Table tr(t.name() + "_transfer", {{"k", "1", ks}}, {{"mean_A", "A"}, {"std_A", "A"}});
  for (size_t i = 0; i < ks.size(); ++i) {
    tr.value(i, 0) = ks[i] * cell * (1 - droop * 0.65 * ks[i] / rows);
    tr.value(i, 1) = 0;
  }
  t.attributes = {{"role", "array_ps"}, {"cell", "sram8t"}, {"rows", rows}, {"cols", rows}, {"wire_scale", 1.0},
                  {"full_scale_A", rows * cell}, {"ideal_cell_current_A", cell}, {"rail_weight_top", 0.0},
                  {"rail_weight_bottom", 1.0}, {"transfer_table", tr.name()}};
  xbarkit::lut::Bundle b;
  b.kind = "array_ps";
  b.tables = {t, tr};
  return std::make_shared<const xbarkit::lut::ArrayPsLut>(b);
}

}  // namespace imc_test
