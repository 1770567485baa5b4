#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <mutex>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/core/stop.hpp"
#include "xbarkit/imc/simulator.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/network.hpp"
#include "xbarkit/nn/safetensors.hpp"
#include "xbarkit/train/trainer.hpp"

using namespace xbarkit;
using namespace xbarkit::train;

namespace {
const nn::Dataset& train_set() {
  static const auto d = nn::load_fashion_mnist(nn::Split::Train);
  return d;
}
const nn::Dataset& test_set() {
  static const auto d = nn::load_fashion_mnist(nn::Split::Test);
  return d;
}

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
// Two hidden binary layers (a convolution and a dense layer) between the digital first layer and
// the output layer, so stochastic conversion has layers to act on and the output layer stays digital.
const char* kSmallCnn = R"(
input = [1, 28, 28]
classes = 10
[train]
batch = 50
epochs = 2
lr = 0.003
[[layer]]
type = "conv3x3"
out = 8
pool = true
[[layer]]
type = "conv3x3"
out = 16
pool = true
[[layer]]
type = "dense"
out = 64
[[layer]]
type = "dense"
out = 10
)";
const char* kMlp3 = R"(
input = [1, 28, 28]
classes = 10
[train]
batch = 50
epochs = 2
lr = 0.005
[[layer]]
type = "dense"
out = 128
[[layer]]
type = "dense"
out = 128
[[layer]]
type = "dense"
out = 10
)";

std::string bytes(const nn::Architecture& arch, const nn::NetworkParams& p) {
  return nn::serialize_safetensors(nn::params_to_tensors(arch, p));
}

HardwareInLoop stox_hardware(int rows, int L) {
  HardwareInLoop hw;
  hw.sim.rows = rows;
  hw.sim.converter = "mtj:stox:" + std::to_string(L);
  hw.sim.seed = 3;
  hw.stochastic_psum = true;
  return hw;
}

// Records what the crossbar simulator returns for each image's binary layers, keyed as
// Simulator::predict_all keys them (image index), through the public hook interface.
class RecordingHook : public nn::BinaryMatmulHook {
public:
  explicit RecordingHook(const imc::Simulator& sim) : sim_(sim) {}
  uint64_t image = 0;
  void matmul(const nn::BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out) const override {
    sim_.matmul_keyed(layer, inputs, positions, out, image);
    auto& dst = z[layer.index];
    const double scale = sim_.output_scale(layer);
    for (size_t i = 0; i < positions * size_t(layer.out_channels); ++i) dst.push_back(float(out[i] * scale));
  }
  double output_scale(const nn::BinaryLayer& layer) const override { return sim_.output_scale(layer); }
  mutable std::map<size_t, std::vector<float>> z;

private:
  const imc::Simulator& sim_;
};
}  // namespace

TEST_CASE("training is reproducible for a seed and thread count and learns", "[train]") {
  const auto arch = nn::parse_architecture(kTinyMlp, "tiny.toml");
  const auto train = train_set().head(3000);
  const auto test = test_set().head(1000);
  auto run = [&](uint64_t seed) {
    TrainOptions o;
    o.config = arch.train;
    o.config.seed = seed;
    o.threads = 2;  // libtorch's reductions depend on the thread count: fixed here
    return train_network(arch, train, &test, o);
  };
  const auto a = run(1);
  const auto b = run(1);
  const auto c = run(2);
  CHECK(bytes(arch, a.params) == bytes(arch, b.params));
  CHECK(bytes(arch, a.params) != bytes(arch, c.params));
  REQUIRE(a.epochs.size() == 2);
  CHECK(a.epochs[1].loss < a.epochs[0].loss);
  // 3000 images, 2 epochs: the retired hand-written trainer reached > 72% here; chance is 10%.
  CHECK(a.test_accuracy > 0.72);
  const nn::Network net(arch, a.params);
  CHECK(nn::Network::accuracy(net.predict_all(test), test) == a.test_accuracy);
  for (float w : a.params.layers[0].weight.data) REQUIRE(std::abs(w) <= 1.0f);  // latent weights clipped
}

TEST_CASE("the training graph computes what the bit-packed inference computes", "[train]") {
  // Without hardware the trainer's forward pass (float, libtorch) and nn::Network (integers,
  // popcount, folded thresholds) are two implementations of one network: the binary layers' z
  // must agree exactly (they are integers below 2^24 in float) and the logits to float rounding.
  const auto arch = nn::parse_architecture(kSmallCnn, "small.toml");
  auto p = initial_params(arch, 11);
  calibrate_batch_norm(arch, p, test_set().head(300), 0, 1);
  const nn::Network net(arch, p);
  const size_t n = 40;
  const auto tr = trace_forward(arch, p, test_set(), 0, n);
  size_t pred_same = 0;
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto ref = net.logits(test_set().image(i));
    int best = 0;
    for (size_t k = 0; k < ref.size(); ++k) {
      worst = std::max(worst, std::abs(ref[k] - tr.logits[i * ref.size() + k]) / (1 + std::abs(ref[k])));
      if (tr.logits[i * ref.size() + k] > tr.logits[i * ref.size() + size_t(best)]) best = int(k);
    }
    pred_same += best == net.predict(test_set().image(i));
  }
  // float32 batch norm vs double: relative differences of a few 1e-6; a hidden unit whose batch-norm
  // output is within that of 0 can flip, so 1e-3 bounds the logits' disagreement generously.
  CHECK(worst < 1e-3);
  CHECK(pred_same == n);
}

TEST_CASE("the crossbar in the training loop computes what xbarkit infer computes read for read", "[train][hardware]") {
  const auto arch = nn::parse_architecture(kSmallCnn, "small.toml");
  auto p = initial_params(arch, 12);
  calibrate_batch_norm(arch, p, test_set().head(300), 0, 1);
  for (bool stochastic : {false, true}) {
    INFO("stochastic psum " << stochastic);
    HardwareInLoop hw = stox_hardware(32, 4);  // L a power of 2: z / L is exact in float and double
    hw.stochastic_psum = stochastic;  // false: the unaware converter (samples inverted to counts)
    auto params = p;
    if (stochastic)
      for (size_t li = 1; li + 1 < params.layers.size(); ++li) {
        const size_t O = params.layers[li].bn_weight.size();
        for (size_t o = 0; o < O; ++o) {
          params.layers[li].psum_gain.push_back(0.5f + 0.1f * float(o % 7));
          params.layers[li].psum_offset.push_back(0.05f * (float(o % 5) - 2));
        }
      }
    const size_t n = 12;
    const auto tr = trace_forward(arch, params, test_set(), 0, n, &hw, 2);
    const nn::Network net(arch, params);
    const imc::Simulator sim(net, hw.sim);
    RecordingHook hook(sim);
    std::vector<int> predictions;
    for (size_t i = 0; i < n; ++i) {
      hook.image = i;
      predictions.push_back(net.predict(test_set().image(i), &hook));
    }
    size_t compared = 0;
    for (const auto& [li, z] : hook.z) {
      REQUIRE(z.size() == tr.z[li].size());
      for (size_t k = 0; k < z.size(); ++k) REQUIRE(z[k] == tr.z[li][k]);  // the same draws, the same sums
      compared += z.size();
    }
    CHECK(compared > 1000);
    size_t same = 0;
    for (size_t i = 0; i < n; ++i) {
      int best = 0;
      for (int k = 1; k < 10; ++k)
        if (tr.logits[i * 10 + size_t(k)] > tr.logits[i * 10 + size_t(best)]) best = k;
      same += best == predictions[i];
    }
    CHECK(same == n);
  }
}

TEST_CASE("stochastic conversion: the surrogate is the expectation of the sampled forward value", "[train][hardware]") {
  // With L samples per read each tile contributes the mean of L ±1 draws with mean tanh(k_A a) and
  // variance (1 − tanh²)/L, so z − surrogate has mean 0 and variance ≤ T/L over a layer's T tiles.
  const auto arch = nn::parse_architecture(kSmallCnn, "small.toml");
  auto p = initial_params(arch, 13);
  calibrate_batch_norm(arch, p, test_set().head(300), 0, 1);
  const int L = 1024;
  const auto hw = stox_hardware(32, L);
  const auto tr = trace_forward(arch, p, test_set(), 0, 6, &hw, 2);
  const int tiles_layer1 = (8 * 9 + 15) / 16;  // 72 inputs, 16 per 32-row XNOR tile
  double sum = 0, sum_sq = 0, worst = 0;
  size_t n = 0;
  const auto& z = tr.z[1];
  const auto& s = tr.surrogate[1];
  for (size_t k = 0; k < z.size(); ++k) {
    const double d = z[k] - s[k];
    sum += d;
    sum_sq += d * d;
    worst = std::max(worst, std::abs(d));
    ++n;
  }
  const double sigma_max = std::sqrt(double(tiles_layer1) / L);
  CHECK(n > 5000);
  CHECK(std::abs(sum / double(n)) < 5 * sigma_max / std::sqrt(double(n)));  // unbiased
  CHECK(std::sqrt(sum_sq / double(n)) <= sigma_max);                         // within the binomial spread
  CHECK(worst < 6 * sigma_max);
  CHECK(sum_sq > 0);  // the draws are really random
}

TEST_CASE("stochastic conversion: the surrogate and its gradients equal their closed forms", "[train][hardware]") {
  // e_o = Σ_t tanh(k_A a), a = g_o x + b_o, x = (ps + n_t)/n_tile − 1 (k_A = 4, imc/converter.hpp);
  // ∂e/∂ps = k_A (1 − y²) g / n_tile, ∂e/∂g = k_A (1 − y²) x, ∂e/∂b = k_A (1 − y²). Checked in double
  // here against the fused autograd function, in both of its modes: tabulated per partial sum (many
  // reads per tile column, P = 40) and evaluated per element (P = 1), a partial last tile included.
  const int64_t T = 3, O = 5, per_tile = 16;
  const std::vector<int64_t> slices{16, 16, 7};
  for (const int64_t P : {int64_t(40), int64_t(1)}) {
    const int64_t B = 3;
    Rng rng(77, uint64_t(P));
    std::vector<float> ps(static_cast<size_t>(B * T * O * P)), grad(static_cast<size_t>(B * O * P));
    std::vector<float> gain(static_cast<size_t>(O)), offset(static_cast<size_t>(O));
    for (size_t i = 0; i < ps.size(); ++i) {
      const int64_t n = slices[(i / size_t(O * P)) % size_t(T)];
      ps[i] = float(2 * int64_t(rng.below(uint64_t(n + 1))) - n);
    }
    for (auto& v : grad) v = float(2 * rng.uniform() - 1);
    for (int64_t o = 0; o < O; ++o) {
      gain[size_t(o)] = float(0.3 + 1.5 * rng.uniform());
      offset[size_t(o)] = float(0.6 * rng.uniform() - 0.3);
    }
    const auto got = probe_stochastic_surrogate(ps, {B, T, O, P}, gain, offset, slices, per_tile, grad, 1);
    std::vector<double> e(static_cast<size_t>(B * O * P), 0.0), d_gain(static_cast<size_t>(O), 0.0);
    std::vector<double> d_offset(static_cast<size_t>(O), 0.0);
    double worst_d_ps = 0, scale_d_ps = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t o = 0; o < O; ++o)
          for (int64_t p = 0; p < P; ++p) {
            const size_t i = size_t(((b * T + t) * O + o) * P + p), j = size_t((b * O + o) * P + p);
            const double x = (double(ps[i]) + double(slices[size_t(t)])) / double(per_tile) - 1.0;
            const double y = std::tanh(4.0 * (double(gain[size_t(o)]) * x + double(offset[size_t(o)])));
            const double slope = 4.0 * (1.0 - y * y);
            e[j] += y;
            const double d_ps = double(grad[j]) * slope * double(gain[size_t(o)]) / double(per_tile);
            worst_d_ps = std::max(worst_d_ps, std::abs(double(got.d_ps[i]) - d_ps));
            scale_d_ps = std::max(scale_d_ps, std::abs(d_ps));
            d_gain[size_t(o)] += double(grad[j]) * slope * x;
            d_offset[size_t(o)] += double(grad[j]) * slope;
          }
    INFO("P = " << P);
    // Float arithmetic throughout (arguments, libtorch's tanh, the products): a few float ulps of
    // values of order 1-10, so 1e-5 absolute on e (T = 3 terms in [-1, 1]) and 1e-5 of the largest
    // element on the gradients (sums of B·T·P ≤ 360 terms accumulated in double).
    for (size_t j = 0; j < e.size(); ++j) REQUIRE(std::abs(double(got.e[j]) - e[j]) < 1e-5);
    CHECK(worst_d_ps < 1e-5 * scale_d_ps);
    double scale_g = 0, scale_b = 0;
    for (int64_t o = 0; o < O; ++o) {
      scale_g = std::max(scale_g, std::abs(d_gain[size_t(o)]));
      scale_b = std::max(scale_b, std::abs(d_offset[size_t(o)]));
    }
    for (int64_t o = 0; o < O; ++o) {
      CHECK(std::abs(double(got.d_gain[size_t(o)]) - d_gain[size_t(o)]) < 1e-5 * scale_g);
      CHECK(std::abs(double(got.d_offset[size_t(o)]) - d_offset[size_t(o)]) < 1e-5 * scale_b);
    }
    // The same numbers on two threads (per-image sums, added in image order).
    const auto two = probe_stochastic_surrogate(ps, {B, T, O, P}, gain, offset, slices, per_tile, grad, 2);
    CHECK(two.e == got.e);
    CHECK(two.d_ps == got.d_ps);
    CHECK(two.d_gain == got.d_gain);
    CHECK(two.d_offset == got.d_offset);
    // A value no tile can produce is an internal error, not a silently wrong gradient: odd parity
    // (tile 0, 16 inputs: 1 + 16 is odd), beyond its slice (tile 2, 7 inputs: 9), not an integer.
    for (const auto& [tile, bad] : std::vector<std::pair<int64_t, float>>{{0, 1.0f}, {2, 9.0f}, {1, 0.5f}}) {
      auto wrong = ps;
      wrong[size_t(((1 * T + tile) * O + 1) * P)] = bad;
      REQUIRE_THROWS_WITH(probe_stochastic_surrogate(wrong, {B, T, O, P}, gain, offset, slices, per_tile, grad, 1),
                          Catch::Contains("is not 2c -"));
    }
  }
}

TEST_CASE("stochastic conversion: the surrogate's tile partial sums and their gradients are the tiles'", "[train][hardware]") {
  // Channel-sliced convolutions (conv) and input slices (dense) against im2col / masked weights and a
  // product per tile; a layer of 5 channels (45 conv inputs) on 16-row XNOR tiles (8 inputs per tile,
  // the last tile partial). Values are sums of ±1: exact. Gradients are float sums in other orders:
  // 1e-5 of the largest element (float epsilon 6e-8 times at most a few hundred terms).
  for (const bool conv : {true, false}) {
    INFO((conv ? "conv" : "dense"));
    const auto r = probe_tile_partial_sums(conv, 5, 4, 3, 6, 16, 3);
    CHECK(r.tiles == (conv ? 6 : 8));  // ceil(45 / 8), ceil(60 / 8)
    CHECK(r.value == 0.0);
    CHECK(r.input_grad < 1e-5);
    CHECK(r.weight_grad < 1e-5);
  }
}

TEST_CASE("stochastic conversion: the crossbar's handed-over tile partial sums give the sliced convolutions' gradients",
          "[train][hardware]") {
  // Training takes a stochastic layer's per-tile partial sums from the crossbar's read loop and
  // differentiates them by the sliced convolutions' backward alone; the reference recomputes them
  // with libtorch's sliced convolutions under autograd. Same batch, same draws: the gradients of every
  // weight and psum affine must agree to float rounding (1e-5 of the largest element: the two sum
  // the tiles' input gradients in different orders).
  const auto arch = nn::parse_architecture(kSmallCnn, "small.toml");
  auto p = initial_params(arch, 12);
  calibrate_batch_norm(arch, p, test_set().head(300), 0, 1);
  for (size_t li = 1; li + 1 < p.layers.size(); ++li)
    for (size_t o = 0; o < p.layers[li].bn_weight.size(); ++o) {
      p.layers[li].psum_gain.push_back(0.5f + 0.1f * float(o % 7));
      p.layers[li].psum_offset.push_back(0.05f * (float(o % 5) - 2));
    }
  for (const bool flips : {false, true}) {
    INFO("BinSparX flips " << flips);  // with flips the general read loop hands the sums over
    HardwareInLoop hw = stox_hardware(32, 4);  // 16 XNOR inputs per tile: 5 tiles (one partial) for 72 inputs
    hw.sim.binsparx.dynamic_flip = flips;
    hw.sim.binsparx.static_flip = flips;
    const auto handed = trace_gradients(arch, p, train_set(), 0, 20, nullptr, 1, 0, 2, &hw, true);
    const auto reference = trace_gradients(arch, p, train_set(), 0, 20, nullptr, 1, 0, 2, &hw, false);
    auto compare = [](const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
      REQUIRE(a.size() == b.size());
      for (size_t l = 0; l < a.size(); ++l) {
        REQUIRE(a[l].size() == b[l].size());
        double diff = 0, scale = 0;
        for (size_t i = 0; i < a[l].size(); ++i) {
          diff = std::max(diff, std::fabs(double(a[l][i]) - double(b[l][i])));
          scale = std::max(scale, std::fabs(double(b[l][i])));
        }
        INFO("tensor " << l << " max diff " << diff << " max element " << scale);
        CHECK(scale > 0);
        CHECK(diff <= 1e-5 * scale);
      }
    };
    compare(handed.weight_grad, reference.weight_grad);
    REQUIRE(handed.psum_grad.size() == 4);  // gain and offset of the two stochastic layers
    compare(handed.psum_grad, reference.psum_grad);
  }
}

TEST_CASE("StoX-Net partial-sum-aware training recovers the accuracy an unaware network loses at L = 1", "[train][hardware]") {
  const auto arch = nn::parse_architecture(kMlp3, "mlp3.toml");
  const auto train = train_set().head(4000);
  const auto test = test_set().head(1000);
  TrainOptions o;
  o.config = arch.train;
  o.threads = 2;
  const auto plain = train_network(arch, train, &test, o);
  o.hardware = stox_hardware(128, 1);
  const auto aware = train_network(arch, train, &test, o);
  // The unaware network on the same hardware: samples inverted to counts (at L = 1 every read gives
  // the same count, so layer 1 carries no information).
  imc::SimConfig unaware = o.hardware->sim;
  const nn::Network net(arch, plain.params);
  const imc::Simulator sim(net, unaware);
  const double unaware_acc = nn::Network::accuracy(sim.predict_all(test, 0, 2), test);
  INFO("software " << plain.test_accuracy << " unaware " << unaware_acc << " aware " << aware.test_accuracy);
  CHECK(unaware_acc < 0.3);
  // The aware network keeps most of the software accuracy with one MTJ sample per read: measured
  // 0.774 (software 0.805, unaware 0.111) on this subset; 0.70 leaves room for other thread counts.
  CHECK(aware.test_accuracy > 0.70);
  CHECK(aware.params.layers[1].psum_gain.size() == 128);
  CHECK(aware.params.layers[2].psum_gain.empty());  // the output layer stays digital
}

TEST_CASE("an interrupted training resumes to the same weights", "[train]") {
  const auto arch = nn::parse_architecture(kTinyMlp, "tiny.toml");
  const auto train = train_set().head(2000);
  const auto dir = std::filesystem::temp_directory_path() / "xbarkit_train_resume_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TrainOptions o;
  o.config = arch.train;
  o.threads = 1;
  const auto full = train_network(arch, train, nullptr, o);
  o.checkpoint = dir / "w.checkpoint";
  o.on_epoch = [](const EpochReport& r) {
    if (r.epoch == 1) request_stop(15);
  };
  CHECK_THROWS_AS(train_network(arch, train, nullptr, o), Cancelled);
  clear_stop();
  REQUIRE(std::filesystem::exists(o.checkpoint));
  o.on_epoch = nullptr;
  o.resume = true;
  const auto resumed = train_network(arch, train, nullptr, o);
  CHECK(resumed.epochs.size() == 1);
  CHECK(bytes(arch, resumed.params) == bytes(arch, full.params));
  // A checkpoint of another configuration is refused, naming the file.
  o.config.seed = 99;
  try {
    train_network(arch, train, nullptr, o);
    FAIL("resumed from a foreign checkpoint");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("w.checkpoint") && Catch::Contains("another"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("hardware that cannot be trained for is refused before training starts", "[train][hardware]") {
  const auto arch = nn::parse_architecture(kTinyMlp, "tiny.toml");
  const auto train = train_set().head(200);
  TrainOptions o;
  o.config = arch.train;
  bool started = false;
  o.on_epoch = [&](const EpochReport&) { started = true; };
  auto hw = stox_hardware(64, 2);
  hw.sim.mapping = imc::Mapping::And;
  o.hardware = hw;
  CHECK_THROWS_WITH(train_network(arch, train, nullptr, o), Catch::Contains("XNOR"));
  hw.sim.mapping = imc::Mapping::Xnor;
  hw.sim.converter = "adc:/nonexistent/adc_bundle";
  hw.stochastic_psum = false;
  o.hardware = hw;
  CHECK_THROWS_WITH(train_network(arch, train, nullptr, o), Catch::Contains("/nonexistent/adc_bundle"));
  hw.sim.converter = "mtj:stox:2";
  hw.stochastic_psum = true;
  o.hardware = hw;  // the tiny MLP has no hidden binary layer: nothing to convert stochastically
  CHECK_THROWS_WITH(train_network(arch, train, nullptr, o), Catch::Contains("hidden binary layer"));
  CHECK_FALSE(started);
}
