// The simulator's read path takes table shortcuts (simulator.hpp: an ADC population's threshold rows
// resolved once per chip and layer, thresholds in units of conducting cells under ideal sensing; the
// MTJ's switching probability tabulated per output and count, drawn against integer thresholds).
// They must give exactly what calling the converter read by read gives: the reference below is that
// read loop, written from the public interfaces (mapping.hpp, converter.hpp) and the documented
// stream Rng(seed, derive_seed(key, layer)), and the outputs must be equal, not close.
#include <catch2/catch.hpp>

#include <fstream>

#include <fmt/format.h>

#include "imc_test_util.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/imc/simulator.hpp"

using namespace xbarkit;
using namespace xbarkit::imc;

namespace {

// One layer's outputs for `positions` ±1 input vectors, read by read through the converter (no
// BinSparX flips), on chip `chip`, drawing from the stream Simulator::matmul_keyed documents.
std::vector<int32_t> reference_matmul(const Simulator& sim, const nn::Network& net, const nn::BinaryLayer& layer,
                                      const int8_t* x, size_t positions, uint64_t key, uint64_t chip) {
  const LayerMapping& M = sim.mapping(layer.index);
  const Converter& conv = sim.converter();
  const double cell = sim.cell_current_A();
  const int C = sim.config().cols > 0 ? sim.config().cols : sim.config().rows;
  int slot = 0;
  for (size_t i = 0; i < layer.index; ++i) slot += net.layers()[i].binary();
  Rng rng(sim.config().seed, derive_seed(key, layer.index));
  const int O = M.outputs(), W = M.words();
  std::vector<int32_t> out;
  std::vector<uint64_t> active(static_cast<size_t>(W), 0);
  for (size_t p = 0; p < positions; ++p) {
    std::vector<int64_t> z(size_t(O), 0);
    const int8_t* xp = x + p * size_t(M.fan_in());
    for (int t = 0; t < M.tiles(); ++t) {
      const int plus = M.activate(xp, t, false, active.data());
      for (int o = 0; o < O; ++o) {
        const int c = popcount_and(M.stored(t, o), active.data(), W);
        ConvertContext cc;
        cc.column = o % C;
        cc.column_group = o / C;
        cc.tile = t;
        cc.max_count = M.max_count(t);
        cc.tile_capacity = M.inputs_per_tile();
        cc.layer_slot = slot;
        cc.tile_columns = C;
        cc.chip = chip;
        if (layer.stochastic_psum()) {
          cc.psum_gain = layer.psum_gain[size_t(o)];
          cc.psum_offset = layer.psum_offset[size_t(o)];
          z[size_t(o)] += 2 * conv.sample_ones(c * cell, cc, rng) - conv.sampling_length(slot);
        } else {
          z[size_t(o)] += M.partial_sum(t, o, conv.count(c * cell, cc, rng), plus);
        }
      }
    }
    for (const int64_t v : z) out.push_back(int32_t(v));
  }
  return out;
}

std::vector<int8_t> random_signs(size_t n, uint64_t seed) {
  Rng rng(seed, 5);
  std::vector<int8_t> x(n);
  for (auto& v : x) v = rng.uniform() < 0.5 ? int8_t(-1) : int8_t(1);
  return x;
}

// kSmallMlp with random weights and, when `psum`, a partial-sum affine on its hidden binary layer
// (a network trained for stochastic conversion).
nn::Network mlp(bool psum) {
  auto arch = nn::parse_architecture(imc_test::kSmallMlp, "test");
  nn::NetworkParams p;
  Rng rng(21, 7);
  for (const auto& s : arch.layers) {
    nn::LayerParams lp;
    lp.weight.shape = nn::weight_shape(s);
    lp.weight.data.resize(lp.weight.numel());
    for (auto& w : lp.weight.data) w = float(rng.uniform() - 0.5);
    for (int o = 0; o < s.out; ++o) {
      lp.bn_weight.push_back(1.0f);
      lp.bn_bias.push_back(0.0f);
      lp.bn_mean.push_back(0.0f);
      lp.bn_var.push_back(float(s.fan_in));
      if (psum && !s.real_input && !s.is_output) {
        lp.psum_gain.push_back(float(0.4 + rng.uniform()));
        lp.psum_offset.push_back(float(0.3 * (rng.uniform() - 0.5)));
      }
    }
    p.layers.push_back(std::move(lp));
  }
  return nn::Network(std::move(arch), p);
}

void check_layer(const Simulator& sim, const nn::Network& net, const nn::BinaryLayer& layer, uint64_t chip) {
  const size_t positions = 3;
  const auto x = random_signs(positions * size_t(layer.fan_in), 100 + layer.index + 7 * chip);
  for (const uint64_t key : {0ULL, 1ULL, 977ULL}) {
    INFO("layer " << layer.index << ", chip " << chip << ", key " << key);
    std::vector<int32_t> got(positions * size_t(layer.out_channels));
    sim.matmul_keyed(layer, x.data(), positions, got.data(), key, chip);
    CHECK(got == reference_matmul(sim, net, layer, x.data(), positions, key, chip));
  }
}

}  // namespace

TEST_CASE("read-path tables: an ADC population read by read, chip by chip", "[imc][adc]") {
  const auto net = mlp(false);
  SimConfig cfg;
  cfg.rows = 32;  // 16 inputs per tile: 6 tiles of the 96-input layer, 3 column groups of its 70 outputs
  const double cell = Simulator(net, cfg).cell_current_A();
  imc_test::TempDir dir;
  // 3 bits over 16 counts with offsets, gains and INL/DNL drawn per instance (σ 0.5 LSB), 40
  // instances: thresholds fall between and on integer counts, columns of one chip differ.
  const auto recipe = dir.path / "adc.toml";
  std::ofstream(recipe) << fmt::format("[characterize]\nkind = \"adc\"\nseed = 4\n[adc]\nbits = 3\n"
                                       "full_scale_A = {:.17g}\ncolumns = 40\nsigma_offset_lsb = 0.5\n"
                                       "sigma_gain = 0.05\nsigma_inl_lsb = 0.5\nsigma_dnl_lsb = 0.5\n",
                                       16 * cell);
  characterize::RunOptions ro;
  ro.output = dir.path / "adc3";
  ro.progress = ProgressMode::off;
  ro.threads = 1;
  characterize::run_characterization(recipe, ro);
  cfg.converter = "adc:" + ro.output.string();
  const Simulator sim(net, cfg);
  REQUIRE(sim.converter().step_levels() == 7);
  for (uint64_t chip : {0ULL, 3ULL, 11ULL})
    for (const auto& l : net.layers())
      if (l.binary()) check_layer(sim, net, l, chip);
  // The chips differ (else the chip index would not reach the converter).
  const auto& l = net.layers()[1];
  const auto x = random_signs(size_t(l.fan_in), 9);
  std::vector<int32_t> a(size_t(l.out_channels)), b(a.size());
  sim.matmul_keyed(l, x.data(), 1, a.data(), 0, 0);
  sim.matmul_keyed(l, x.data(), 1, b.data(), 0, 3);
  CHECK(a != b);
}

TEST_CASE("read-path tables: MTJ samples read by read (stochastic partial sums and count inversion)", "[imc][mtj]") {
  for (const bool psum : {true, false}) {
    INFO("psum-aware network " << psum);
    const auto net = mlp(psum);
    SimConfig cfg;
    cfg.rows = 32;
    cfg.seed = 5;
    for (const char* conv : {"mtj:stox:1", "mtj:stox:4,3"}) {
      INFO(conv);
      cfg.converter = conv;
      const Simulator sim(net, cfg);
      for (const auto& l : net.layers())
        if (l.binary() && (l.stochastic_psum() || !psum)) check_layer(sim, net, l, 0);
    }
  }
}
