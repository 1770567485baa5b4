// Batch-norm recalibration on the crossbar (Simulator::recalibrate_batch_norm, `xbarkit infer
// --recalibrate-bn`): the statistics it writes are the population mean and variance of what each
// layer's batch norm sees (pooled pre-activation times the hook's scale) over the calibration
// images, and they do not depend on the thread count.
#include <catch2/catch.hpp>

#include <cmath>

#include "xbarkit/core/paths.hpp"
#include "xbarkit/imc/simulator.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/network.hpp"

using namespace xbarkit;

namespace {

// Records the first binary layer's products (the exact ±1 product, which an ideal crossbar equals).
struct Recorder : nn::BinaryMatmulHook {
  size_t layer = 0;
  mutable std::vector<int32_t> z;
  void matmul(const nn::BinaryLayer& l, const int8_t* x, size_t P, int32_t* out) const override {
    nn::ideal_matmul(l, x, P, out);
    if (l.index == layer) z.assign(out, out + P * size_t(l.out_channels));
  }
};

}  // namespace

TEST_CASE("BN recalibration: an ideal crossbar's statistics equal the pooled products' mean and variance", "[imc]") {
  const auto net = nn::load_network(source_dir() / "models/networks/bnn_cnn");
  const auto train = nn::load_fashion_mnist(nn::Split::Train).head(24);
  imc::SimConfig cfg;
  cfg.rows = 128;  // ideal sensing and converter: every partial sum exact (docs/VALIDATION.md)
  const imc::Simulator sim(net, cfg);
  const auto recal = sim.recalibrate_batch_norm(train, 0, 2);
  // Independent reference for every binary layer, the output layer included: its products recorded
  // image by image in the recalibrated network (layer k's inputs depend only on layers < k, which
  // are recalibrated first: the chain), max-pooled 2x2 here when the layer pools, then the
  // population statistics.
  int checked = 0;
  for (const auto& layer : net.layers()) {
    if (!layer.binary()) continue;
    INFO("layer " << layer.index);
    Recorder rec;
    rec.layer = layer.index;
    const int O = layer.out_channels, CW = layer.spec.conv_width;
    const int OH = layer.is_output ? 1 : layer.spec.out_height, OW = layer.is_output ? 1 : layer.spec.out_width;
    std::vector<double> sum(size_t(O), 0.0), sq(size_t(O), 0.0);
    double count = 0;
    for (size_t i = 0; i < train.count; ++i) {
      recal.logits(train.image(i), &rec);
      for (int y = 0; y < OH; ++y)
        for (int x = 0; x < OW; ++x, ++count)
          for (int o = 0; o < O; ++o) {
            auto at = [&](int yy, int xx) { return double(rec.z[size_t(yy * CW + xx) * size_t(O) + size_t(o)]); };
            const double v = layer.spec.pool && !layer.is_output
                                 ? std::max(std::max(at(2 * y, 2 * x), at(2 * y, 2 * x + 1)),
                                            std::max(at(2 * y + 1, 2 * x), at(2 * y + 1, 2 * x + 1)))
                                 : at(y, x);
            sum[size_t(o)] += v;
            sq[size_t(o)] += v * v;
          }
    }
    const auto& got = recal.layers()[layer.index];
    for (int o = 0; o < O; ++o) {
      const double mean = sum[size_t(o)] / count, var = sq[size_t(o)] / count - mean * mean;
      // Sums of the same integers in another order: equal to rounding (1e-9 relative).
      CHECK(got.mean[size_t(o)] == Approx(mean).epsilon(1e-9).margin(1e-9));
      CHECK(got.var[size_t(o)] == Approx(var).epsilon(1e-9).margin(1e-9));
    }
    // The refolded thresholds are the new statistics' (fold_threshold with them).
    if (!layer.is_output)
      for (int o = 0; o < O; ++o) {
        int32_t t = 0;
        int8_t d = 0;
        nn::fold_threshold(got.gamma[size_t(o)], got.beta[size_t(o)], got.mean[size_t(o)], got.var[size_t(o)], got.eps, 1.0,
                           got.fan_in, t, d);
        CHECK(got.threshold[size_t(o)] == t);
        CHECK(got.direction[size_t(o)] == d);
      }
    CHECK(net.layers()[layer.index].mean != got.mean);
    ++checked;
  }
  CHECK(checked >= 3);
  // The digital first layer is untouched.
  CHECK(recal.layers()[0].mean == net.layers()[0].mean);
}

TEST_CASE("BN recalibration: stochastic MTJ reads give the same statistics on 1 and 2 threads", "[imc][mtj]") {
  const auto net = nn::load_network(source_dir() / "models/networks/bnn_cnn_mtj");
  const auto train = nn::load_fashion_mnist(nn::Split::Train).head(16);
  imc::SimConfig cfg;
  cfg.rows = 128;
  cfg.converter = "mtj:stox:4";
  const imc::Simulator sim(net, cfg);
  const auto a = sim.recalibrate_batch_norm(train, 0, 1);
  const auto b = sim.recalibrate_batch_norm(train, 0, 2);
  for (size_t li = 0; li < net.layers().size(); ++li) {
    CHECK(a.layers()[li].mean == b.layers()[li].mean);
    CHECK(a.layers()[li].var == b.layers()[li].var);
    if (net.layers()[li].binary()) CHECK(a.layers()[li].mean != net.layers()[li].mean);
  }
  // Recalibration reads are not counted in the simulator's evaluation statistics.
  CHECK(sim.total_stats().reads == 0);
}
