// Real-valued networks (nn/real_model.hpp, nn/real_network.hpp): the architecture reader's errors, the
// C++ float path against libtorch's forward (train/real_trainer.hpp), engines, quantization and the
// batch-norm statistics update.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "test_nn_common.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/nn/real_network.hpp"
#include "xbarkit/train/real_trainer.hpp"

using namespace xbarkit;
using namespace xbarkit::nn;

namespace {

// Exercises every layer kind: a 5×5 stride-2 convolution with bias, a residual block with identity
// shortcut, one with a projection, global average pooling, a hidden dense layer with BN and ReLU, and
// an output layer with BN and no bias (needed by the scaled-engine test below).
const char* kArch = R"(format = "xbarkit-real-1"
name = "tiny"
input = [1, 28, 28]
classes = 10
WB_AB
[train]
epochs = 1
batch = 64
[[layer]]
type = "conv"
out = 6
kernel = 5
stride = 2
padding = 2
bias = true
[[layer]]
type = "residual"
[[layer]]
type = "residual"
out = 8
stride = 2
[[layer]]
type = "avgpool"
[[layer]]
type = "dense"
out = 12
bn = true
[[layer]]
type = "dense"
out = 10
bias = false
bn = true
)";

RealArchitecture tiny(const std::string& quant = "") {
  std::string s = kArch;
  s.replace(s.find("WB_AB"), 5, quant);
  return parse_real_architecture(s, "tiny.toml");
}

// Seeded non-trivial parameters: the trainer's initialization with random biases and BN statistics.
RealParams random_params(const RealArchitecture& a, uint64_t seed) {
  auto p = train::initial_real_params(a, seed);
  Rng rng(seed, 77);
  for (auto& [name, t] : p.tensors) {
    const bool var = name.find("running_var") != std::string::npos;
    const bool gamma = name.find("bn") != std::string::npos && name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    if (name.find("bn") != std::string::npos || name.find(".bias") != std::string::npos)
      for (auto& v : t.data) v = var ? float(0.5 + rng.uniform()) : float(0.3 * rng.normal() + (gamma ? 1.0 : 0.0));
    if (name.find("input_clip") != std::string::npos) t.data[0] = 2.0f;
  }
  return p;
}

// The product as the MatmulEngine contract defines it, by a plain double loop over weight_matrices(),
// optionally scaled by `factor` (a uniform conductance drift, for instance).
class LoopEngine : public MatmulEngine {
public:
  LoopEngine(std::vector<WeightMatrix> w, double factor = 1.0) : w_(std::move(w)), factor_(factor) {}
  void matmul(size_t layer, const float* x, size_t P, float* y, uint64_t) const override {
    const auto& m = w_.at(layer);
    for (size_t p = 0; p < P; ++p)
      for (int o = 0; o < m.out; ++o) {
        double s = 0;
        for (int n = 0; n < m.fan_in; ++n) s += double(m.w[size_t(o) * m.fan_in + n]) * x[p * m.fan_in + n];
        y[p * m.out + o] = float(factor_ * s);
      }
  }

private:
  std::vector<WeightMatrix> w_;
  double factor_;
};

}  // namespace

TEST_CASE("real architecture: layer shapes and weight units", "[nn][real]") {
  const auto a = tiny();
  REQUIRE(a.layers.size() == 6);
  CHECK(a.layers[0].out_h == 14);  // (28 + 4 − 5)/2 + 1
  CHECK(!a.layers[1].projection);
  CHECK(a.layers[2].projection);
  CHECK(a.layers[2].out_h == 7);
  const auto u = weight_units(a);
  CHECK(u.size() == 8);  // conv, res1 conv1/conv2, res2 conv1/conv2/shortcut, 2 dense
}

TEST_CASE("real architecture: weight units in forward order", "[nn][real]") {
  const auto u = weight_units(tiny());
  std::vector<std::string> names;
  for (const auto& x : u) names.push_back(x.name);
  CHECK(names == std::vector<std::string>{"layer0", "layer1.conv1", "layer1.conv2", "layer2.conv1", "layer2.conv2",
                                          "layer2.shortcut", "layer4", "layer5"});
  CHECK(u[0].fan_in() == 25);
  CHECK(u[0].positions() == 196);
  CHECK(u[5].fan_in() == 6);       // 1×1 projection of 6 channels
  CHECK(u[5].positions() == 49);
  CHECK(u[6].fan_in() == 8);       // dense after global average pooling
  CHECK(u[6].positions() == 1);
}

TEST_CASE("real architecture: bad files are refused naming the key", "[nn][real][errors]") {
  const std::string base = "format = \"xbarkit-real-1\"\ninput = [1, 28, 28]\nclasses = 10\n";
  auto err = [&](const std::string& text) {
    try {
      parse_real_architecture(base + text, "bad.toml");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(err("[[layer]]\ntype = \"conv\"\nout = 4\n"), Catch::Contains("bad.toml") && Catch::Contains("last layer must be dense"));
  CHECK_THAT(err("[[layer]]\ntype = \"pool\"\n[[layer]]\ntype = \"dense\"\nout = 10\n"), Catch::Contains("layer[0].type"));
  CHECK_THAT(err("[[layer]]\ntype = \"conv\"\nout = 4\nkernel = 40\npadding = 0\n[[layer]]\ntype = \"dense\"\nout = 10\n"),
             Catch::Contains("layer[0].kernel"));
  CHECK_THAT(err("[[layer]]\ntype = \"conv\"\nout = 4\nsize = 3\n[[layer]]\ntype = \"dense\"\nout = 10\n"), Catch::Contains("layer[0].size"));
  CHECK_THAT(err("[[layer]]\ntype = \"dense\"\nout = 9\n"), Catch::Contains("out = classes"));
  CHECK_THAT(err("[[layer]]\ntype = \"dense\"\nout = 10\nrelu = true\n"), Catch::Contains("layer[0].relu"));
  CHECK_THAT(err("activation_bits = 4\n[[layer]]\ntype = \"conv\"\nout = 4\nrelu = false\n[[layer]]\ntype = \"dense\"\nout = 10\n"),
             Catch::Contains("layer[1].type") && Catch::Contains("non-negative"));
  CHECK_THAT(err("weight_bits = 1\n[[layer]]\ntype = \"dense\"\nout = 10\n"), Catch::Contains("weight_bits"));
  CHECK_THAT(err("[train]\noptimizer = \"lbfgs\"\n[[layer]]\ntype = \"dense\"\nout = 10\n"), Catch::Contains("train.optimizer"));
  CHECK_THAT(err("colour = 1\n[[layer]]\ntype = \"dense\"\nout = 10\n"), Catch::Contains("colour"));
  try {
    parse_real_architecture("format = \"xbarkit-bnn-1\"\ninput = [1, 28, 28]\nclasses = 10\n", "b.toml");
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("format"));
  }
}

TEST_CASE("real parameters: missing, misshapen and extra tensors are refused", "[nn][real][errors]") {
  const auto a = tiny();
  auto p = random_params(a, 3);
  TensorFile tf;
  tf.tensors = p.tensors;
  tf.tensors.erase("layer2.shortcut.weight");
  CHECK_THROWS_WITH(real_params_from_tensors(a, tf, "w.safetensors"),
                    Catch::Contains("w.safetensors") && Catch::Contains("layer2.shortcut.weight") && Catch::Contains("missing"));
  tf.tensors = p.tensors;
  tf.tensors["layer0.weight"].shape = {6, 1, 25};
  CHECK_THROWS_WITH(real_params_from_tensors(a, tf, "w.safetensors"), Catch::Contains("layer0.weight") && Catch::Contains("shape"));
  tf.tensors = p.tensors;
  tf.tensors["layer9.weight"] = Tensor{{1}, {0.f}};
  CHECK_THROWS_WITH(real_params_from_tensors(a, tf, "w.safetensors"), Catch::Contains("layer9.weight") && Catch::Contains("unexpected"));
  tf.tensors = p.tensors;
  tf.tensors["layer1.bn2.running_var"].data[0] = -1;
  CHECK_THROWS_WITH(real_params_from_tensors(a, tf, "w.safetensors"), Catch::Contains("layer1.bn2.running_var"));
  // Round trip through a file.
  nn_test::TempDir dir;
  write_real_params(a, p, dir.path / "w.safetensors");
  const auto q = read_real_params(a, dir.path / "w.safetensors");
  CHECK(q.at("layer2.shortcut.weight").data == p.at("layer2.shortcut.weight").data);
  CHECK(q.metadata.at("format") == kRealFormat);
}

TEST_CASE("real network: the C++ float path equals libtorch's forward", "[nn][real]") {
  const auto& data = nn_test::test_set();
  for (const std::string quant : {"", "weight_bits = 4\nactivation_bits = 4\n"}) {
    INFO("quantization: " << (quant.empty() ? "none" : quant));
    const auto a = tiny(quant);
    const auto p = random_params(a, 5);
    const RealNetwork net(a, p);
    const size_t first = 100, count = 8;
    const auto ref = train::real_torch_logits(a, p, data, first, count, 1);
    double max_err = 0;
    for (size_t i = 0; i < count; ++i) {
      const auto y = net.logits(data.image(first + i).data());
      REQUIRE(y.size() == 10);
      for (size_t c = 0; c < 10; ++c) {
        const double r = ref[i * 10 + c];
        max_err = std::max(max_err, std::fabs(y[c] - r) / (1 + std::fabs(r)));
      }
    }
    // Both are float32 with different summation orders (Eigen GEMM vs torch's convolution) and BN folded
    // into one affine map here: differences of a few float ulps per operation, ~1e-6 relative over
    // eight layers. 1e-4 leaves room for that and catches any layout or semantics error (those are O(1)).
    // With quantization a rounding boundary can flip one activation level; the tiny network's outputs
    // still agree to 1e-4 unless such a tie occurs, which the seeded case does not hit.
    CHECK(max_err < 1e-4);
  }
}

TEST_CASE("real network: quantized weight matrices have 2^(n-1)-1 levels per sign", "[nn][real]") {
  const auto a = tiny("weight_bits = 3\n");
  const RealNetwork net(a, random_params(a, 7));
  const auto wm = net.weight_matrices();
  for (size_t k = 0; k < wm.size(); ++k) {
    const float s = net.weight_scale(k);
    REQUIRE(s > 0);
    float maxabs = 0;
    for (float v : wm[k].w) {
      const float q = v / s;
      CHECK(std::fabs(q - std::nearbyint(q)) < 1e-5);
      CHECK(std::fabs(q) <= 3.0f + 1e-5f);
      maxabs = std::max(maxabs, std::fabs(v));
    }
    CHECK(maxabs / s == Approx(3.0).epsilon(1e-6));
  }
}

TEST_CASE("real network: an engine computing the plain product predicts like the float path", "[nn][real]") {
  const auto a = tiny();
  const RealNetwork net(a, random_params(a, 11));
  const auto wm = net.weight_matrices();
  REQUIRE(wm.size() == net.units().size());
  // The matrices are the torch tensors, row-major (conv [out, in, k, k] flattened = (in, ky, kx) order).
  CHECK(wm[0].w == net.params().at("layer0.weight").data);
  const LoopEngine engine(wm);
  const auto& data = nn_test::test_set();
  const auto pf = net.predict_all(data, 300, 2);
  const auto pe = net.predict_all(data, 300, 2, &engine);
  CHECK(pf == pe);
  for (size_t i = 0; i < 5; ++i) {
    const auto yf = net.logits(data.image(i).data()), ye = net.logits(data.image(i).data(), &engine, i);
    // Double-accumulated loop vs Eigen float GEMM: float rounding only.
    for (size_t c = 0; c < yf.size(); ++c) CHECK(ye[c] == Approx(yf[c]).margin(1e-5).epsilon(1e-5));
  }
}

TEST_CASE("real network: batch-norm update absorbs a uniform scaling of every product", "[nn][real]") {
  // Closed form: if every product is scaled by c > 0 (a uniform drift) and every weight layer is followed
  // by batch norm without a bias in between, the updated statistics are c·mean and c²·var of the
  // unscaled ones, and the updated network computes the same logits. bn_eps = 1e-12 so that
  // (c²·var + eps) = c²·(var + eps) holds to float rounding (with 1e-5 and small variances it did not).
  const auto a = tiny("bn_eps = 1e-12\n");
  // Biases before a batch norm: c·(Wx) + b is not c·(Wx + b); zero them for the closed form.
  auto p = random_params(a, 13);
  for (auto* b : {"layer0.bias", "layer4.bias"})
    for (auto& v : p.tensors.at(b).data) v = 0;
  const RealNetwork net(a, p);
  const auto& data = nn_test::train_set();
  const double c = 0.5;
  const LoopEngine scaled(net.weight_matrices(), c);
  const size_t n = 400;
  const auto f = net.with_updated_bn(data, n, nullptr, 2);
  const auto g = net.with_updated_bn(data, n, &scaled, 2);
  for (const auto& u : net.units()) {
    INFO(u.bn);
    const auto& mf = f.params().at(u.bn + ".running_mean").data;
    const auto& vf = f.params().at(u.bn + ".running_var").data;
    const auto& mg = g.params().at(u.bn + ".running_mean").data;
    const auto& vg = g.params().at(u.bn + ".running_var").data;
    for (size_t o = 0; o < mf.size(); ++o) {
      CHECK(mg[o] == Approx(c * mf[o]).margin(1e-5).epsilon(1e-4));
      CHECK(vg[o] == Approx(c * c * vf[o]).margin(1e-6).epsilon(1e-4));
    }
  }
  // The first BN's statistics directly: the stem's products over the n images, computed here by a loop.
  {
    const auto& u = net.units()[0];
    const auto w = net.weight_matrices()[0];
    std::vector<double> s(6, 0), q(6, 0);
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* img = data.image(i).data();
      for (int oy = 0; oy < u.out_h; ++oy)
        for (int ox = 0; ox < u.out_w; ++ox)
          for (int o = 0; o < 6; ++o) {
            double z = 0;
            for (int ky = 0; ky < 5; ++ky)
              for (int kx = 0; kx < 5; ++kx) {
                const int iy = 2 * oy - 2 + ky, ix = 2 * ox - 2 + kx;
                if (iy >= 0 && iy < 28 && ix >= 0 && ix < 28) z += w.w[o * 25 + ky * 5 + kx] * (img[iy * 28 + ix] / 255.0);
              }
            s[o] += z;
            q[o] += z * z;
          }
    }
    const double m = double(n) * u.positions();
    for (int o = 0; o < 6; ++o) {
      const double mean = s[o] / m, var = (q[o] - m * mean * mean) / (m - 1);
      CHECK(f.params().at("layer0.bn.running_mean").data[o] == Approx(mean).epsilon(1e-4).margin(1e-6));
      CHECK(f.params().at("layer0.bn.running_var").data[o] == Approx(var).epsilon(1e-4).margin(1e-6));
    }
  }
  const auto& test = nn_test::test_set();
  for (size_t i = 0; i < 10; ++i) {
    const auto yf = f.logits(test.image(i).data());
    const auto yg = g.logits(test.image(i).data(), &scaled, i);
    // Float statistics of 400 images × positions and float products: relative agreement ~1e-5.
    for (size_t k = 0; k < yf.size(); ++k) CHECK(yg[k] == Approx(yf[k]).margin(1e-4).epsilon(1e-4));
  }
}
