// A real-valued residual network (nn/real_network.hpp) whose products run on the PCM analog engine:
// with noise-free devices, no converters and ideal wires it is the float network (the issue's "G_max
// -> infinity noise-free devices and zero wires equal the float network" check); with the full PCM
// model, drift and GDC the network still runs and GDC moves the logits back toward the float ones.
#include <catch2/catch.hpp>

#include <cmath>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/nn/real_model.hpp"
#include "xbarkit/nn/real_network.hpp"
#include "xbarkit/pcm/analog_engine.hpp"

using namespace xbarkit;

namespace {
nn::RealNetwork small_resnet() {
  const auto arch = nn::parse_real_architecture(R"(
format = "xbarkit-real-1"
name = "pcm_test_resnet"
input = [1, 28, 28]
classes = 10
[[layer]]
type = "conv"
out = 8
kernel = 3
[[layer]]
type = "residual"
out = 16
stride = 2
[[layer]]
type = "avgpool"
[[layer]]
type = "dense"
out = 10
)", "pcm_test_resnet");
  nn::RealParams p;
  Rng rng(17, 0);
  for (const auto& [name, shape] : nn::real_tensor_shapes(arch)) {
    nn::Tensor t;
    t.shape = shape;
    size_t n = 1;
    for (auto s : shape) n *= static_cast<size_t>(s);
    t.data.resize(n);
    const double fan_in = static_cast<double>(n) / static_cast<double>(shape[0]);
    const bool bn = shape.size() == 1;
    for (auto& v : t.data) {
      if (name.ends_with(".running_var")) v = static_cast<float>(0.5 + rng.uniform());
      else if (bn) v = static_cast<float>(0.2 * rng.normal() + (name.ends_with(".weight") ? 1 : 0));
      else v = static_cast<float>(rng.normal() * std::sqrt(2.0 / fan_in));
    }
    p.tensors[name] = std::move(t);
  }
  return nn::RealNetwork(arch, p);
}
std::vector<uint8_t> random_image(uint64_t seed) {
  Rng rng(seed, 3);
  std::vector<uint8_t> px(28 * 28);
  for (auto& v : px) v = static_cast<uint8_t>(rng.below(256));
  return px;
}
double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}
}  // namespace

TEST_CASE("pcm network: noise-free PCM tiles without converters and wires give the float network's logits",
          "[pcm][network]") {
  const auto net = small_resnet();
  pcm::PcmModel m;
  m.prog_noise_scale = m.drift_scale = m.read_noise_scale = 0;
  for (auto ir : {pcm::IrMode::none, pcm::IrMode::exact}) {
    pcm::AnalogEngineOptions o;
    o.dac_bits = o.adc_bits = 0, o.rows_per_tile = 64, o.t_s = 3600, o.gdc = pcm::GdcMode::layer, o.ir = ir;
    o.r_wire_ohm = 0, o.threads = 1;
    const pcm::AnalogEngine e(net.weight_matrices(), m, o);
    double worst = 0;
    for (uint64_t k = 0; k < 8; ++k) {
      const auto px = random_image(k);
      const auto ref = net.logits(px.data());
      const auto got = net.logits(px.data(), &e, k);
      for (size_t c = 0; c < ref.size(); ++c) worst = std::max(worst, std::abs(got[c] - ref[c]) / max_abs(ref));
    }
    INFO("IR " << pcm::to_string(ir) << ": worst |logit difference| / max |logit| = " << worst);
    // Float rounding through five products, BN, ReLU, the residual add and pooling: each product is
    // exact to ~1e-7 relative (engine test); 1e-4 leaves room for the propagation and fails any
    // mapping error (a wrong sign or scale changes logits by O(1)).
    CHECK(worst < 1e-4);
  }
}

TEST_CASE("pcm network: with the PCM model a day after programming, GDC brings the logits back toward the float ones",
          "[pcm][network][gdc]") {
  const auto net = small_resnet();
  const pcm::PcmModel m;
  double err[2] = {0, 0};
  for (int gdc = 0; gdc < 2; ++gdc) {
    pcm::AnalogEngineOptions o;
    o.t_s = 86400, o.gdc = gdc ? pcm::GdcMode::layer : pcm::GdcMode::off, o.rows_per_tile = 64, o.threads = 1;
    const pcm::AnalogEngine e(net.weight_matrices(), m, o);
    for (uint64_t k = 0; k < 8; ++k) {
      const auto px = random_image(k);
      const auto ref = net.logits(px.data());
      const auto got = net.logits(px.data(), &e, k);
      double s = 0;
      for (size_t c = 0; c < ref.size(); ++c) s += std::pow(got[c] - ref[c], 2);
      err[gdc] += std::sqrt(s / ref.size()) / max_abs(ref);
    }
  }
  INFO("mean relative RMS logit error: no GDC " << err[0] / 8 << ", GDC " << err[1] / 8);
  // A day of drift scales every product by ~(86400/20)^-0.05 ~ 0.66 before BN; BN's shift does not
  // scale with it, so uncompensated logits are off by tens of percent; GDC restores the scale and leaves
  // the programming and read noise (a few percent of each product).
  CHECK(err[1] < 0.7 * err[0]);
}
