// SC weight gradients in the trainer (train/sc_update.hpp): against libtorch's floating-point
// gradients with the kernel's closed-form variance, reproducibility, and bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/safetensors.hpp"
#include "xbarkit/sc/stream.hpp"
#include "xbarkit/train/trainer.hpp"

using namespace xbarkit;
using namespace xbarkit::train;

namespace {
const nn::Dataset& train_images() {
  static const auto d = nn::load_fashion_mnist(nn::Split::Train).head(3000);
  return d;
}

// Every kind of layer the trainer has: a real-input conv (layer 0, zero padding), a binary conv
// (padding -1, im2col over ±1 patches), a dense layer on ±1 inputs and the output layer.
const char* kTinyCnn = R"(
input = [1, 28, 28]
classes = 10
[[layer]]
type = "conv3x3"
out = 4
pool = true
[[layer]]
type = "conv3x3"
out = 8
pool = true
[[layer]]
type = "dense"
out = 32
[[layer]]
type = "dense"
out = 10
)";
const char* kTinyMlp = R"(
input = [1, 28, 28]
classes = 10
[train]
batch = 50
epochs = 2
lr = 0.003
[[layer]]
type = "dense"
out = 96
[[layer]]
type = "dense"
out = 10
)";

ScUpdateConfig ideal(size_t L) {
  ScUpdateConfig c;
  c.source = sc::UpdateOptions::Source::ideal;
  c.stream_length = L;
  return c;
}

struct Z {
  double mean_z2 = 0, max_abs_z = 0, rms_error = 0, max_mean_error = 0;
  size_t n = 0;
};
// z-scores of the SC gradient of one layer against the float gradient, with the kernel's standard
// deviation; and how far the kernel's expectation is from the float gradient, in those deviations.
Z compare(const GradientTrace& f, const GradientTrace& s, size_t layer) {
  Z z;
  const auto& g = f.weight_grad[layer];
  for (size_t k = 0; k < g.size(); ++k) {
    const double sd = s.sc_stddev[layer][k];
    if (sd == 0) {
      // No random stream: every operand of this weight's products is 0 or +-its scale (an all-zero
      // row of errors, or +-1 activations against errors all of one magnitude), so the SC gradient is
      // exact: equal to the float one up to float32 rounding.
      REQUIRE(std::abs(s.weight_grad[layer][k] - g[k]) <= 1e-5 * std::abs(g[k]) + 1e-30);
      continue;
    }
    const double e = s.weight_grad[layer][k] - g[k];
    z.mean_z2 += (e / sd) * (e / sd);
    z.max_abs_z = std::max(z.max_abs_z, std::abs(e / sd));
    z.rms_error += e * e;
    z.max_mean_error = std::max(z.max_mean_error, std::abs(s.sc_mean[layer][k] - g[k]) / sd);
    ++z.n;
  }
  z.mean_z2 /= double(z.n);
  z.rms_error = std::sqrt(z.rms_error / double(z.n));
  return z;
}
}  // namespace

TEST_CASE("SC weight gradients with an ideal source equal the float gradients within the streams' statistical error",
          "[train][sc]") {
  const auto arch = nn::parse_architecture(kTinyCnn, "tiny_cnn.toml");
  const auto params = initial_params(arch, 5);
  const size_t first = 100, count = 8;
  const auto f = trace_gradients(arch, params, train_images(), first, count);
  // Errors of weights in one row share that row's delta streams (and, for real-valued inputs, weights
  // in one column share the x streams), so the z-scores of one draw are correlated: the independent
  // units are the rows (output channels; 54 in this network). Eight steps (independent streams) give
  // >= 8 x 54 = 432 independent groups per stream length.
  constexpr int kSteps = 8;
  for (const auto scaling : {sc::Scaling::tensor, sc::Scaling::row_col}) {
    for (size_t L : {size_t{256}, size_t{4096}}) {
      auto cfg = ideal(L);
      cfg.scaling = scaling;
      double sum_z2 = 0, max_abs_z = 0, max_mean_error = 0;
      size_t n = 0;
      for (int step = 0; step < kSteps; ++step) {
        const auto s = trace_gradients(arch, params, train_images(), first, count, &cfg, 7, uint64_t(step), 1);
        REQUIRE(s.weight_grad.size() == arch.layers.size());
        for (size_t li = 0; li < arch.layers.size(); ++li) {
          const auto z = compare(f, s, li);
          sum_z2 += z.mean_z2 * double(z.n);
          n += z.n;
          max_abs_z = std::max(max_abs_z, z.max_abs_z);
          max_mean_error = std::max(max_mean_error, z.max_mean_error);
        }
      }
      const double mean_z2 = sum_z2 / double(n);
      INFO((scaling == sc::Scaling::tensor ? "tensor" : "row_col")
           << " scales, L = " << L << ": " << n << " z-scores over " << kSteps << " steps, mean z^2 " << mean_z2
           << ", max |z| " << max_abs_z << ", expectation off by up to " << max_mean_error << " sd");
      // The SC gradient of each weight is a sum of S * L independent XNOR bits (S = samples: 8 images,
      // times output positions for a conv): its error over the kernel's closed-form standard deviation
      // sd = s_d s_x 2 sqrt(sum_s q_s (1 - q_s) / L) (s_d[r] s_x[c] with row_col scales) is ~N(0, 1)
      // whatever the correlations between weights.
      // Mean z^2: sd <= sqrt(2 / 432) = 0.068 (the groups' count; more where columns are independent too),
      // so 1 +- 0.34 is 5 sd. max |z| < 6 over 105,504 z-scores: chance failure < 105,504 * 2e-9 = 2e-4
      // (union bound, valid for correlated z). Passing at both L means the error shrinks as 1/sqrt(L).
      CHECK(mean_z2 > 0.66);
      CHECK(mean_z2 < 1.34);
      CHECK(max_abs_z < 6.0);
      // The expectation differs from the exact gradient only by the 2^-16 probability quantization
      // (|bias| <= S s_d s_x 2^-15, about 0.16 sd for these S and L at q ~ 1/2, less on average since the
      // rounding errors have both signs) and float32 rounding of libtorch's GEMM.
      CHECK(max_mean_error < 0.35);
    }
  }
}

TEST_CASE("SC weight gradients are reproducible for a seed and step and fresh for another step", "[train][sc]") {
  const auto arch = nn::parse_architecture(kTinyCnn, "tiny_cnn.toml");
  const auto params = initial_params(arch, 5);
  ScUpdateConfig cbram;  // CBRAM generators: device draws and calibration are seeded too
  cbram.stream_length = 16;
  const auto a = trace_gradients(arch, params, train_images(), 0, 4, &cbram, 11, 2, 1);
  const auto b = trace_gradients(arch, params, train_images(), 0, 4, &cbram, 11, 2, 2);  // other thread count
  const auto c = trace_gradients(arch, params, train_images(), 0, 4, &cbram, 11, 3, 1);
  const auto d = trace_gradients(arch, params, train_images(), 0, 4, &cbram, 12, 2, 1);
  for (size_t li = 0; li < arch.layers.size(); ++li) {
    CHECK(a.weight_grad[li] == b.weight_grad[li]);
    CHECK(a.weight_grad[li] != c.weight_grad[li]);
    CHECK(a.weight_grad[li] != d.weight_grad[li]);
  }
}

TEST_CASE("training with CBRAM SC weight updates is reproducible and learns", "[train][sc]") {
  const auto arch = nn::parse_architecture(kTinyMlp, "tiny.toml");
  const auto test = nn::load_fashion_mnist(nn::Split::Test).head(1000);
  auto run = [&](bool sc) {
    TrainOptions o;
    o.config = arch.train;
    o.threads = 1;  // libtorch's reductions depend on the thread count: fixed here
    if (sc) {
      ScUpdateConfig c;
      c.stream_length = 32;
      o.sc_update = c;
    }
    return train_network(arch, train_images(), &test, o);
  };
  const auto f = run(false), a = run(true), b = run(true);
  const auto bytes = [&](const nn::NetworkParams& p) { return nn::serialize_safetensors(nn::params_to_tensors(arch, p)); };
  CHECK(bytes(a.params) == bytes(b.params));
  CHECK(bytes(a.params) != bytes(f.params));
  INFO("float " << f.test_accuracy << ", SC cbram:32 " << a.test_accuracy);
  // Learning, and near the float network: 2 epochs on 3000 images, measured float 79.3%, cbram:32
  // 77.3% with the default per-row/column scales and chopping (67.3% with per-tensor scales, no
  // chopping: the row scales and the cancelled calibration offsets are what closes the gap; the
  // loss vs L on longer schedules is in docs/VALIDATION.md). 50% on 1000 test images (binomial sd
  // 1.6 points) fails only if the SC update is broken: a random or sign-flipped gradient stays near
  // chance, 10%. Within 6 points of float: 3x the measured gap, and half the gap of per-tensor scales.
  CHECK(a.test_accuracy > 0.5);
  CHECK(a.test_accuracy > f.test_accuracy - 0.06);
}

TEST_CASE("bad SC update settings are refused with a clear message", "[train][sc]") {
  auto refused = [](const std::string& spec, const std::string& words) {
    INFO(spec);
    CHECK_THROWS_WITH(parse_sc_update(spec), Catch::Contains("--sc-update") && Catch::Contains(words));
  };
  refused("ideal:0", "must be > 0");
  refused("cbram:-8", "must be > 0");
  refused("ideal:8x", "not an integer");
  refused("ideal:", "not an integer");
  refused("ideal", "SOURCE:L");
  refused("bernoulli:8", "unknown SC stream source 'bernoulli'");
  refused("cbram@:8", "needs a device");
  refused("ideal:1000000000", "above the maximum");
  refused("cbram/0:8", "calibration pulses '0'");
  refused("cbram@ag_asi_gaba2013/1e5:8", "calibration pulses '1e5'");
  refused("cbramx:8", "unknown SC stream source 'cbramx'");
  CHECK(parse_sc_update("cbram/100000:8").calibration_trials == 100000);
  CHECK(parse_sc_update("cbram@ag_asi_gaba2013/5000:8").calibration_trials == 5000);
  CHECK(parse_sc_update("cbram@ag_asi_gaba2013/5000:8").device == "ag_asi_gaba2013");
  CHECK_THROWS_WITH(parse_sc_update("cbram@no_such_device:8"), Catch::Contains("CBRAM device file not found"));
  // A device file's path has slashes of its own: the last component is its name, not a pulse count.
  CHECK_THROWS_WITH(parse_sc_update("cbram@/tmp/no/such/device.toml:8"), Catch::Contains("CBRAM device file not found"));
  const std::string shipped = (models_dir() / "cbram" / "ag_asi_gaba2013.toml").string();
  CHECK(parse_sc_update("cbram@" + shipped + "/2000:8").calibration_trials == 2000);
  CHECK(parse_sc_update("cbram@" + shipped + ":8").device == shipped);
  const auto ok = parse_sc_update("cbram@ag_asi_gaba2013:64");
  CHECK(ok.stream_length == 64);
  CHECK(ok.source == sc::UpdateOptions::Source::cbram);
  CHECK(parse_sc_update("ideal:8").source == sc::UpdateOptions::Source::ideal);
  // A probability outside [0, 1] (a value outside the bipolar [-1, 1]) is refused by the encoder.
  CHECK_THROWS_WITH(sc::to_probability(1.5, sc::Encoding::bipolar), Catch::Contains("1.5"));
  // A non-finite error reaching the SC kernel names the layer (the scale max|delta| would be NaN).
  const auto arch = nn::parse_architecture(kTinyMlp, "tiny.toml");
  auto params = initial_params(arch, 1);
  params.layers[1].bn_weight[0] = std::numeric_limits<float>::quiet_NaN();
  const auto cfg = ideal(8);
  CHECK_THROWS_WITH(trace_gradients(arch, params, train_images(), 0, 4, &cfg),
                    Catch::Contains("layer 1 weight gradient") && Catch::Contains("non-finite"));
  // With the crossbar in the loop the trainer refuses before training.
  TrainOptions o;
  o.config = arch.train;
  o.sc_update = cfg;
  o.hardware = HardwareInLoop{};
  CHECK_THROWS_WITH(train_network(arch, train_images(), nullptr, o), Catch::Contains("--sc-update"));
}
