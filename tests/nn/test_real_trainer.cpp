// The libtorch trainer of real-valued networks (train/real_trainer.hpp): it learns, is seeded,
// resumes bit-identically, and noise injection changes the training (and nothing else).
#include <catch2/catch.hpp>

#include <cmath>

#include "test_nn_common.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/nn/real_network.hpp"
#include "xbarkit/train/real_trainer.hpp"

using namespace xbarkit;
using namespace xbarkit::nn;
using namespace xbarkit::train;

namespace {

RealArchitecture small_net() {
  return parse_real_architecture(R"(format = "xbarkit-real-1"
name = "small"
input = [1, 28, 28]
classes = 10
[train]
epochs = 2
batch = 64
lr = 0.05
augment_shift = 1
augment_flip = true
[[layer]]
type = "conv"
out = 8
stride = 2
[[layer]]
type = "residual"
out = 8
[[layer]]
type = "residual"
out = 16
stride = 2
[[layer]]
type = "avgpool"
[[layer]]
type = "dense"
out = 10
)",
                                 "small.toml");
}

bool same(const RealParams& a, const RealParams& b) {
  for (const auto& [n, t] : a.tensors)
    if (b.at(n).data != t.data) return false;
  return a.tensors.size() == b.tensors.size();
}

}  // namespace

TEST_CASE("real trainer: learns Fashion-MNIST, and the C++ inference agrees with libtorch", "[nn][real][train]") {
  const auto arch = small_net();
  const auto train = nn_test::train_set().head(3000);
  const auto test = nn_test::test_set().head(500);
  RealTrainOptions o;
  o.config = arch.train;
  o.threads = 1;
  const auto r = train_real_network(arch, train, &test, o);
  REQUIRE(r.epochs.size() == 2);
  // Chance is 10%; two epochs on 3,000 images reached 58.0% here (seeded, 1 thread; other machines may
  // round differently). 45% fails only if it does not learn.
  CHECK(r.test_accuracy > 0.45);
  CHECK(r.epochs[1].loss < r.epochs[0].loss);
  const RealNetwork net(arch, r.params);
  // Same weights, two implementations: at most an image whose two top logits tie to float rounding.
  CHECK(std::fabs(net.accuracy(test, 0, 2) - r.test_accuracy) <= 1.0 / 500);
}

TEST_CASE("real trainer: an interrupted training resumes to the same weights", "[nn][real][train]") {
  const auto arch = small_net();
  const auto train = nn_test::train_set().head(640);
  nn_test::TempDir dir;
  RealTrainOptions o;
  o.config = arch.train;
  o.config.weight_noise = 0.05;  // the noise generator's state is part of the checkpoint too
  o.threads = 1;
  o.checkpoint = dir.path / "ck";
  const auto full = train_real_network(arch, train, nullptr, o);
  o.on_epoch = [](const RealEpochReport& r) {
    if (r.epoch == 1) throw Error("interrupted");
  };
  CHECK_THROWS_WITH(train_real_network(arch, train, nullptr, o), "interrupted");
  o.on_epoch = nullptr;
  o.resume = true;
  const auto resumed = train_real_network(arch, train, nullptr, o);
  CHECK(resumed.epochs.size() == 1);
  CHECK(same(resumed.params, full.params));
  // A checkpoint of another configuration is refused.
  o.config.seed = 99;
  CHECK_THROWS_WITH(train_real_network(arch, train, nullptr, o), Catch::Contains("fingerprint"));
}

TEST_CASE("real trainer: seeded; weight noise changes the training and is itself seeded", "[nn][real][train]") {
  const auto arch = small_net();
  const auto train = nn_test::train_set().head(640);
  RealTrainOptions o;
  o.config = arch.train;
  o.config.epochs = 1;
  o.threads = 1;
  const auto a = train_real_network(arch, train, nullptr, o);
  const auto b = train_real_network(arch, train, nullptr, o);
  CHECK(same(a.params, b.params));
  o.config.weight_noise = 0.05;
  const auto n1 = train_real_network(arch, train, nullptr, o);
  const auto n2 = train_real_network(arch, train, nullptr, o);
  CHECK(same(n1.params, n2.params));
  CHECK_FALSE(same(n1.params, a.params));
  // The noise is relative (η = 5% of max|W|): the trained weights stay close to the noise-free run's
  // after one epoch of 10 steps (relative change well below 1), unlike a broken absolute σ.
  double d = 0, s = 0;
  for (const auto& [name, t] : a.params.tensors)
    if (name.find("conv") != std::string::npos)
      for (size_t i = 0; i < t.data.size(); ++i) {
        const double x = t.data[i], y = n1.params.at(name).data[i];
        d += (x - y) * (x - y);
        s += x * x;
      }
  CHECK(d / s < 0.25);
}
