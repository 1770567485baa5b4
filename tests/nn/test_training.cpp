#include <catch2/catch.hpp>

#include <cmath>

#include "test_nn_common.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/nn/network.hpp"
#include "xbarkit/nn/safetensors.hpp"
#include "xbarkit/nn/trainable.hpp"
#include "xbarkit/nn/trainer.hpp"

using namespace xbarkit::nn;

namespace {
// Two input channels, a pooled real-input convolution, a binary-input convolution (exercises the
// input gradient through im2col), a dense layer after a convolution and the output layer.
const char* kGradArch = R"(
input = [2, 6, 6]
classes = 3
[[layer]]
type = "conv3x3"
out = 3
pool = true
[[layer]]
type = "conv3x3"
out = 4
[[layer]]
type = "dense"
out = 5
[[layer]]
type = "dense"
out = 3
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
}  // namespace

TEST_CASE("gradient check: backward pass of every layer against central differences (STE = identity)", "[nn][train]") {
  const auto arch = parse_architecture(kGradArch, "grad.toml");
  Trainable<double> net(arch, 4);
  net.binarize = false;  // latent weights used directly, hardtanh in place of sign: the STE is exact
  xbarkit::Rng rng(21);
  for (auto& L : net.layers())
    for (size_t o = 0; o < L.gamma.size(); ++o) {
      L.gamma[o] = 0.3 + rng.uniform();  // keep hardtanh mostly unsaturated
      L.beta[o] = 0.4 * (rng.uniform() - 0.5);
    }
  const int B = 7;
  std::vector<std::vector<uint8_t>> images(B, std::vector<uint8_t>(72));
  std::vector<const uint8_t*> ptrs;
  std::vector<uint8_t> labels;
  for (auto& im : images) {
    for (auto& p : im) p = uint8_t(rng.below(256));
    ptrs.push_back(im.data());
    labels.push_back(uint8_t(rng.below(3)));
  }
  auto loss = [&] { return net.step(ptrs.data(), labels.data(), B, false, false); };
  net.step(ptrs.data(), labels.data(), B, true, false);
  // Copy the analytic gradients before the finite-difference passes.
  struct Param { std::vector<double>* value; std::vector<double> grad; std::string name; };
  std::vector<Param> params;
  for (size_t li = 0; li < net.layers().size(); ++li) {
    auto& L = net.layers()[li];
    params.push_back({&L.w, L.gw, "layer" + std::to_string(li) + ".weight"});
    params.push_back({&L.gamma, L.ggamma, "layer" + std::to_string(li) + ".gamma"});
    params.push_back({&L.beta, L.gbeta, "layer" + std::to_string(li) + ".beta"});
  }
  const double h = 1e-6;
  size_t checked = 0, nonzero = 0;
  for (auto& p : params) {
    double worst = 0;
    for (size_t i = 0; i < p.value->size(); ++i) {
      const double keep = (*p.value)[i];
      (*p.value)[i] = keep + h;
      const double up = loss();
      (*p.value)[i] = keep - h;
      const double down = loss();
      (*p.value)[i] = keep;
      const double numeric = (up - down) / (2 * h);
      const double analytic = p.grad[i];
      worst = std::max(worst, std::abs(numeric - analytic) / std::max(1e-4, std::abs(numeric) + std::abs(analytic)));
      ++checked;
      nonzero += std::abs(analytic) > 1e-6;
    }
    INFO(p.name);
    CHECK(worst < 1e-5);
  }
  CHECK(checked == (2 * 9 * 3 + 3 * 9 * 4 + 4 * 9 * 5 + 5 * 3) + 2 * (3 + 4 + 5 + 3));
  CHECK(nonzero > checked * 3 / 4);  // the check is not vacuous
}

TEST_CASE("training is reproducible for a seed, independent of threads, and learns", "[nn][train]") {
  const auto arch = parse_architecture(kTinyMlp, "tiny.toml");
  const auto train = nn_test::train_set().head(3000);
  const auto test = nn_test::test_set().head(1000);
  auto run = [&](uint64_t seed, unsigned threads) {
    TrainOptions o;
    o.config = arch.train;
    o.config.seed = seed;
    o.threads = threads;
    return train_network(arch, train, &test, o);
  };
  const auto a = run(1, 1);
  const auto b = run(1, 2);
  const auto c = run(2, 2);
  const auto bytes = [&](const TrainResult& r) { return serialize_safetensors(params_to_tensors(arch, r.params)); };
  CHECK(bytes(a) == bytes(b));
  CHECK(bytes(a) != bytes(c));
  REQUIRE(a.epochs.size() == 2);
  CHECK(a.epochs[1].loss < a.epochs[0].loss);
  // 3000 images, 2 epochs: far above chance (10%) on held-out images, via the bit-packed path.
  CHECK(a.test_accuracy > 0.72);
  const Network net(arch, a.params);
  CHECK(Network::accuracy(net.predict_all(test), test) == a.test_accuracy);
  // Latent weights stay clipped to [-1, 1].
  for (float w : a.params.layers[0].weight.data) REQUIRE(std::abs(w) <= 1.0f);
}
