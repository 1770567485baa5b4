#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "test_nn_common.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/nn/network.hpp"
#include "xbarkit/train/trainer.hpp"

using namespace xbarkit::nn;

namespace {

// Channel counts that are not multiples of 64 (70: two words per pixel, high bits unused), odd
// feature maps under pooling (7 -> 3) and a dense layer after a convolution.
const char* kOddCnn = R"(
name = "odd_cnn"
input = [1, 28, 28]
classes = 10
[[layer]]
type = "conv3x3"
out = 8
pool = true
[[layer]]
type = "conv3x3"
out = 70
pool = true
[[layer]]
type = "conv3x3"
out = 6
pool = true
[[layer]]
type = "conv3x3"
out = 5
[[layer]]
type = "dense"
out = 33
[[layer]]
type = "dense"
out = 10
)";
const char* kMlp = R"(
name = "odd_mlp"
input = [1, 28, 28]
classes = 10
[[layer]]
type = "dense"
out = 100
[[layer]]
type = "dense"
out = 65
[[layer]]
type = "dense"
out = 10
)";

// A random network with realistic batch-norm statistics (measured on 200 test images) and random
// scales of both signs (some exactly zero) and offsets, so both threshold directions and the
// always-on/always-off cases occur.
NetworkParams random_params(const Architecture& arch, uint64_t seed) {
  NetworkParams p = xbarkit::train::initial_params(arch, seed);
  const auto data = nn_test::test_set().head(200);
  xbarkit::Rng rng(seed, 7);
  // Layer by layer: statistics of layer l depend on the (randomized) scales of the layers before it.
  for (size_t li = 0; li < p.layers.size(); ++li) {
    xbarkit::train::calibrate_batch_norm(arch, p, data, 0, 1);
    auto& L = p.layers[li];
    for (size_t o = 0; o < L.bn_weight.size(); ++o) {
      const double u = rng.uniform();
      L.bn_weight[o] = u < 0.1 ? 0.0f : float((rng.uniform() < 0.35 ? -1 : 1) * (0.2 + rng.uniform()));
      L.bn_bias[o] = float(2 * rng.uniform() - 1);
    }
  }
  xbarkit::train::calibrate_batch_norm(arch, p, data, 0, 1);
  return p;
}

void check_exact(const Architecture& arch, const NetworkParams& p, size_t begin, size_t end) {
  const Network net(arch, p);
  const FloatReference reference(arch, p);
  const auto& data = nn_test::test_set();
  std::atomic<size_t> logit_mismatch{0}, pred_mismatch{0};
  xbarkit::parallel_for(end - begin, 0, [&](size_t k) {
    const size_t i = begin + k;
    const auto ref = reference.logits(data.image(i).data());
    const auto got = net.logits(data.image(i));
    if (ref != got) ++logit_mismatch;
    if (argmax(ref) != net.predict(data.image(i))) ++pred_mismatch;
  }, 8);
  CHECK(pred_mismatch == 0);
  CHECK(logit_mismatch == 0);
}

void check_shipped(const char* name, size_t begin, size_t end) {
  const auto base = nn_test::networks_dir() / name;
  auto arch = load_architecture(base.string() + ".toml");
  const auto p = read_params(arch, base.string() + ".safetensors");
  check_exact(arch, p, begin, end);
}

}  // namespace

TEST_CASE("folded thresholds reproduce batch norm + sign for every integer pre-activation", "[nn][inference]") {
  xbarkit::Rng rng(11);
  for (int trial = 0; trial < 3000; ++trial) {
    const int32_t bound = 1 + int32_t(rng.below(600));
    const double scale = trial % 3 == 0 ? 1.0 / 255.0 : 1.0;
    const double zs = bound * scale;
    double gamma = (rng.uniform() * 4 - 2);
    if (trial % 17 == 0) gamma = 0;
    const double beta = rng.uniform() * 4 - 2, mean = (rng.uniform() * 2 - 1) * zs, var = rng.uniform() * zs * zs / 4;
    int32_t thr;
    int8_t dir;
    fold_threshold(gamma, beta, mean, var, 1e-5, scale, bound, thr, dir);
    BinaryLayer L;
    L.threshold = {thr};
    L.direction = {dir};
    for (int32_t z = -bound; z <= bound; ++z)
      REQUIRE(L.fires(0, z) == (bn_apply(z * scale, gamma, beta, mean, var, 1e-5) >= 0.0));
  }
}

TEST_CASE("bit-packed path equals the floating-point network: random CNN with odd shapes", "[nn][inference]") {
  const auto arch = parse_architecture(kOddCnn, "odd_cnn.toml");
  const auto p = random_params(arch, 5);
  // The randomized network has both threshold directions.
  const Network net(arch, p);
  std::set<int> dirs;
  for (const auto& L : net.layers())
    for (auto d : L.direction) dirs.insert(d);
  CHECK(dirs.count(-1) == 1);
  CHECK(dirs.count(1) == 1);
  check_exact(arch, p, 0, 1500);
}

TEST_CASE("bit-packed path equals the floating-point network: random MLP", "[nn][inference]") {
  const auto arch = parse_architecture(kMlp, "odd_mlp.toml");
  check_exact(arch, random_params(arch, 6), 0, 3000);
}

// Every test image, in slices so each test case stays well under a minute on a loaded machine.
TEST_CASE("shipped MLP: bit-packed == floating point, test images 0-4999", "[nn][inference]") { check_shipped("bnn_mlp", 0, 5000); }
TEST_CASE("shipped MLP: bit-packed == floating point, test images 5000-9999", "[nn][inference]") { check_shipped("bnn_mlp", 5000, 10000); }
TEST_CASE("shipped CNN: bit-packed == floating point, test images 0-1999", "[nn][inference]") { check_shipped("bnn_cnn", 0, 2000); }
TEST_CASE("shipped CNN: bit-packed == floating point, test images 2000-3999", "[nn][inference]") { check_shipped("bnn_cnn", 2000, 4000); }
TEST_CASE("shipped CNN: bit-packed == floating point, test images 4000-5999", "[nn][inference]") { check_shipped("bnn_cnn", 4000, 6000); }
TEST_CASE("shipped CNN: bit-packed == floating point, test images 6000-7999", "[nn][inference]") { check_shipped("bnn_cnn", 6000, 8000); }
TEST_CASE("shipped CNN: bit-packed == floating point, test images 8000-9999", "[nn][inference]") { check_shipped("bnn_cnn", 8000, 10000); }

namespace {
// Records what the simulator would see and answers with the ideal product (optionally perturbed).
struct RecordingHook : BinaryMatmulHook {
  mutable std::mutex mu;
  mutable std::map<size_t, std::pair<size_t, int>> seen;  // layer -> (positions, fan_in)
  mutable std::atomic<size_t> non_pm1{0};
  int perturb_layer = -1;
  void matmul(const BinaryLayer& layer, const int8_t* in, size_t positions, int32_t* out) const override {
    for (size_t i = 0; i < positions * size_t(layer.fan_in); ++i) non_pm1 += (in[i] != 1 && in[i] != -1);
    {
      std::lock_guard<std::mutex> lock(mu);
      seen[layer.index] = {positions, layer.fan_in};
    }
    ideal_matmul(layer, in, positions, out);
    if (int(layer.index) == perturb_layer)
      for (size_t i = 0; i < positions * size_t(layer.out_channels); ++i) out[i] = -out[i];
  }
};
}  // namespace

TEST_CASE("the matmul hook sees every binary layer's ±1 im2col vectors, and ideal answers change nothing", "[nn][inference]") {
  const auto arch = parse_architecture(kOddCnn, "odd_cnn.toml");
  const auto p = random_params(arch, 9);
  const Network net(arch, p);
  const auto& data = nn_test::test_set();
  RecordingHook hook;
  const auto plain = net.predict_all(data, 300, 0);
  const auto hooked = net.predict_all(data, 300, 0, &hook);
  CHECK(plain == hooked);
  for (size_t i = 0; i < 20; ++i) CHECK(net.logits(data.image(i), &hook) == net.logits(data.image(i)));
  CHECK(hook.non_pm1 == 0);
  // Layer 0 (real input) stays digital; layers 1.. are binary: positions = conv outputs before pooling.
  CHECK(hook.seen.count(0) == 0);
  CHECK(hook.seen.at(1) == std::make_pair(size_t(14 * 14), 8 * 9));
  CHECK(hook.seen.at(2) == std::make_pair(size_t(7 * 7), 70 * 9));
  CHECK(hook.seen.at(3) == std::make_pair(size_t(3 * 3), 6 * 9));
  CHECK(hook.seen.at(4) == std::make_pair(size_t(1), 5 * 3 * 3));
  CHECK(hook.seen.at(5) == std::make_pair(size_t(1), 33));
  CHECK(net.layers()[0].binary() == false);
  CHECK(net.layers()[5].binary());
  // The hook's answers are used: negating one layer's products changes predictions.
  RecordingHook flip;
  flip.perturb_layer = 2;
  const auto flipped = net.predict_all(data, 300, 0, &flip);
  size_t changed = 0;
  for (size_t i = 0; i < flipped.size(); ++i) changed += flipped[i] != plain[i];
  CHECK(changed > 10);
}

TEST_CASE("load_network reads <base>.toml + <base>.safetensors and reaches the documented accuracy", "[nn][inference]") {
  const auto& data = nn_test::test_set();
  const auto mlp = load_network(nn_test::networks_dir() / "bnn_mlp");
  const auto cnn = load_network(nn_test::networks_dir() / "bnn_cnn.toml");
  CHECK(cnn.layers().size() == cnn.architecture().layers.size());
  const double acc_mlp = Network::accuracy(mlp.predict_all(data), data);
  const double acc_cnn = Network::accuracy(cnn.predict_all(data), data);
  CHECK(acc_mlp >= 0.85);  // the shipped networks' accuracy targets (docs/NETWORKS.md)
  CHECK(acc_cnn >= 0.90);
}
