// Column features, the LUT sensing path, converters (ideal, ADC, SOT-MTJ) and the exact solver path.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "imc_test_util.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/imc/features.hpp"
#include "xbarkit/imc/simulator.hpp"
#include "xbarkit/lut/bundle.hpp"

using namespace xbarkit;
using namespace xbarkit::imc;

namespace {

double accuracy_vs(const std::vector<int>& a, const std::vector<int>& b) {
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return double(same) / double(a.size());
}

}  // namespace

TEST_CASE("bit-packed column features equal lut::column_features", "[imc][features]") {
  Rng rng(3, 3);
  for (int rows : {7, 8, 63, 64, 100, 128, 256}) {
    const int words = (rows + 63) / 64;
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<uint8_t> in(static_cast<size_t>(rows)), w(static_cast<size_t>(rows));
      std::vector<uint64_t> mask(size_t(words), 0);
      // Densities from empty to full, sometimes concentrated at one end.
      const double d = rng.uniform(), tilt = rng.uniform() * 2 - 1;
      int active = 0;
      for (int r = 0; r < rows; ++r) {
        const double p = std::clamp(d + tilt * (double(r) / rows - 0.5), 0.0, 1.0);
        in[size_t(r)] = rng.uniform() < p;
        w[size_t(r)] = rng.uniform() < (trial % 7 == 0 ? 1.0 : p);
        active += in[size_t(r)];
        if (in[size_t(r)] && w[size_t(r)]) mask[size_t(r / 64)] |= uint64_t(1) << (r % 64);
      }
      const auto want = lut::column_features(rows, 1, 0, in, w);
      const auto got = mask_features(mask.data(), rows, 1, 0, active);
      INFO("rows " << rows << " trial " << trial);
      REQUIRE(got.k == want.k);
      REQUIRE(got.load_bottom == want.load_bottom);
      REQUIRE(bottom_load(mask.data(), rows) == want.load_bottom);  // the sram8t read loop's inline path
      REQUIRE(mask_features(mask.data(), rows, 1, 0, active, {false, true, false}).load_bottom == want.load_bottom);
      REQUIRE(got.load_top == want.load_top);
      REQUIRE(got.sum_distance == want.sum_distance);
      REQUIRE(got.active_rows == want.active_rows);
    }
  }
}

TEST_CASE("the fast LUT evaluator equals lut::ArrayPsLut::predict", "[imc][lut]") {
  Rng rng(1, 2);
  // Layouts: k and one axis (sram8t), k and two (rram1t1r: k, q, hrs; the dense path's second
  // grid non-uniform), k and three (the general path).
  const std::vector<std::vector<std::string>> extras{{}, {"hrs"}, {"hrs", "column"}};
  int inline_checked = 0;
  for (const auto& extra : extras)
  for (const char* axis : {"q", "z"})
    for (int k_step : {1, 5}) {
      const auto lut = imc_test::synthetic_lut(64, 0.4, 0.05, axis, k_step, extra);
      const auto& cfg = lut->find("sram8t", 64);
      const FastArrayLut fast(lut, cfg);
      for (int trial = 0; trial < 500; ++trial) {
        std::vector<uint64_t> mask{rng() & rng()};
        // Active rows beyond the conducting ones (the hrs axis: active rows that do not conduct).
        const int active = 64 - int(rng() % 33);
        const auto f = mask_features(mask.data(), 64, 64, int(rng() % 64), std::max(active, __builtin_popcountll(mask[0])));
        const auto want = lut->predict(cfg, f);
        const auto got = fast.predict(f);
        REQUIRE(got.mean_A == Approx(want.mean_A).epsilon(1e-12).margin(1e-20));
        REQUIRE(got.std_A == Approx(want.std_A).epsilon(1e-12).margin(1e-20));
        // What the read loops call (the inline (k, q) path where the layout allows).
        const auto read = fast.predict_mask(mask.data(), 64, f.k, 64, f.column, f.active_rows);
        REQUIRE(read.mean_A == Approx(want.mean_A).epsilon(1e-12).margin(1e-20));
        REQUIRE(read.std_A == Approx(want.std_A).epsilon(1e-12).margin(1e-20));
        inline_checked += fast.kq_inline();
      }
    }
  CHECK(inline_checked >= 500);  // the sram8t layout (k, q) took the inline path
}

TEST_CASE("the inline sram8t LUT read equals the general path at its edges", "[imc][lut]") {
  // The inline path folds the load normalization (clamped to [0, 1]; 0.5 where the extreme
  // placements of k cells have one load: k = 0 and k = rows) and the q-grid bracket (clamped to the
  // grid) into one affine map per k. Exercise every clamp and the degenerate case: grids inside,
  // equal to and beyond [0, 1]; empty, full and block masks whose loads are the extremes; rows not a
  // multiple of 64. Equal to rounding: 1e-12 relative (a few ulps of the map, amplified by the load
  // span's cancellation when k is near rows).
  Rng rng(5, 9);
  const std::vector<std::vector<double>> grids{{0.2, 0.4, 0.6, 0.8}, {}, {-0.2, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2}};
  int checked = 0;
  for (int rows : {64, 100, 128})
    for (const auto& grid : grids) {
      const auto lut = imc_test::synthetic_lut(rows, 0.4, 0.05, "q", 1, {}, grid);
      const auto& cfg = lut->find("sram8t", rows);
      const FastArrayLut fast(lut, cfg);
      REQUIRE(fast.kq_inline());
      const int words = (rows + 63) / 64;
      auto check = [&](const std::vector<int>& on) {
        std::vector<uint64_t> mask(size_t(words), 0);
        for (int r : on) mask[size_t(r / 64)] |= uint64_t(1) << (r % 64);
        const auto f = lut::column_features_from_rows(rows, rows, 0, rows, on);
        const auto want = lut->predict(cfg, f);
        const auto got = fast.predict_mask(mask.data(), rows, f.k, rows, 0, rows);
        INFO("rows " << rows << " grid points " << grid.size() << " k " << f.k);
        REQUIRE(got.mean_A == Approx(want.mean_A).epsilon(1e-12).margin(1e-20));
        REQUIRE(got.std_A == Approx(want.std_A).epsilon(1e-12).margin(1e-20));
        ++checked;
      };
      std::vector<int> ks{0, 1, 2, 3, rows - 3, rows - 2, rows - 1, rows};  // both degenerate ends and beside them
      for (int k = 4; k < rows - 3; k += 7) ks.push_back(k);
      for (const int k : ks) {
        std::vector<int> top, bottom, middle, split, random;
        for (int r = 0; r < k; ++r) top.push_back(r);
        for (int r = rows - k; r < rows; ++r) bottom.push_back(r);
        for (int r = (rows - k) / 2; r < (rows - k) / 2 + k; ++r) middle.push_back(r);
        for (int r = 0; r < k / 2; ++r) split.push_back(r);
        for (int r = rows - (k - k / 2); r < rows; ++r) split.push_back(r);
        for (int r = 0; r < rows; ++r)
          if (rng.uniform() < double(k) / rows) random.push_back(r);
        for (const auto* on : {&top, &bottom, &middle, &split, &random}) check(*on);
      }
    }
  CHECK(checked >= 3 * 3 * 5 * 20);  // rows × grids × masks × at least 20 values of k
  // A read with another row count than the table's is refused, not misread.
  const auto lut = imc_test::synthetic_lut(64, 0.4, 0.05);
  const FastArrayLut fast(lut, lut->find("sram8t", 64));
  const uint64_t mask[2] = {~0ULL, ~0ULL};
  CHECK_THROWS_WITH(fast.predict_mask(mask, 128, 64, 64, 0, 64), Catch::Contains("has 64 rows, read with 128"));
}

TEST_CASE("LUT sensing: an ideal LUT reproduces software, a noisy one errs, reproducibly for any thread count",
          "[imc][lut]") {
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 6);
  const auto data = imc_test::random_images(net, 80, 2);
  const auto soft = net.predict_all(data, 0, 1);
  SimConfig cfg;
  cfg.rows = 64;
  cfg.sensing = Sensing::lut;
  cfg.array_lut = imc_test::synthetic_lut(64, 0.0, 0.0);
  {
    const Simulator sim(net, cfg);
    CHECK(sim.predict_all(data, 0, 2) == soft);
    CHECK(sim.total_stats().ps_wrong == 0);
  }
  cfg.array_lut = imc_test::synthetic_lut(64, 0.3, 0.03);
  for (const char* map : {"xnor", "and"}) {
    cfg.mapping = parse_mapping(map);
    const Simulator one(net, cfg), two(net, cfg);
    const auto p1 = one.predict_all(data, 0, 1);
    const auto p2 = two.predict_all(data, 0, 2);
    CHECK(p1 == p2);
    const auto s1 = one.total_stats(), s2 = two.total_stats();
    CHECK(s1.ps_error_sq == s2.ps_error_sq);
    CHECK(s1.ps_wrong > s1.reads / 10);  // 30% droop at full scale: most reads lose counts
    // Without noise, the calibrated converter removes the mean droop and leaves the placement (q)
    // dependent part: far smaller partial-sum errors than the ideal converter's.
    SimConfig droop = cfg;
    droop.array_lut = imc_test::synthetic_lut(64, 0.3, 0.0);
    const Simulator ideal_conv(net, droop);
    ideal_conv.predict_all(data, 0, 2);
    droop.converter = "calibrated";
    const Simulator cal(net, droop);
    CHECK(accuracy_vs(cal.predict_all(data, 0, 2), soft) > 0.6);
    INFO("ideal converter " << ideal_conv.total_stats().ps_rmse() << ", calibrated " << cal.total_stats().ps_rmse());
    CHECK(cal.total_stats().ps_rmse() < 0.5 * ideal_conv.total_stats().ps_rmse());
  }
}

TEST_CASE("ADC converter from an adc bundle: 8 bits are exact on 64 ideal rows, 4 bits quantize", "[imc][adc]") {
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 8);
  const auto data = imc_test::random_images(net, 40, 5);
  const auto soft = net.predict_all(data, 0, 2);
  SimConfig cfg;
  cfg.rows = 64;
  const double cell = Simulator(net, cfg).cell_current_A();
  imc_test::TempDir dir;
  auto make_adc = [&](int bits) {
    const auto recipe = dir.path / fmt::format("adc{}.toml", bits);
    std::ofstream(recipe) << fmt::format("[characterize]\nkind = \"adc\"\nseed = 1\n[adc]\nbits = {}\n"
                                         "full_scale_A = {:.17g}\ncolumns = 8\n", bits, 64 * cell);
    characterize::RunOptions ro;
    ro.output = dir.path / fmt::format("adc{}", bits);
    ro.progress = ProgressMode::off;
    ro.threads = 1;
    characterize::run_characterization(recipe, ro);
    return ro.output.string();
  };
  cfg.converter = "adc:" + make_adc(8);
  {
    const Simulator sim(net, cfg);
    CHECK(sim.predict_all(data, 0, 2) == soft);
    CHECK(sim.total_stats().ps_wrong == 0);
  }
  cfg.converter = "adc:" + make_adc(4);
  const Simulator sim(net, cfg);
  sim.predict_all(data, 0, 2);
  const auto s = sim.total_stats();
  CHECK(s.ps_wrong > 0);
  // 15 steps over 64 counts: a count is off by at most half a step (2.13) rounded up -> 3; XNOR ×2.
  CHECK(s.ps_error_max <= 6);
  cfg.converter = "adc:" + (dir.path / "missing").string();
  CHECK_THROWS(Simulator(net, cfg));
}

TEST_CASE("SOT-MTJ converter: accuracy approaches the ideal converter's as L grows", "[imc][mtj]") {
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 9);
  const auto data = imc_test::random_images(net, 40, 6);
  const auto soft = net.predict_all(data, 0, 2);
  SimConfig cfg;
  cfg.rows = 64;
  double last_rmse = INFINITY;
  for (int L : {1, 8, 64, 1024, 16384}) {
    cfg.converter = fmt::format("mtj:stox:{}", L);
    const Simulator sim(net, cfg);
    const auto pred = sim.predict_all(data, 0, 2);
    const auto s = sim.total_stats();
    INFO("L " << L << " rmse " << s.ps_rmse());
    CHECK(s.ps_rmse() < last_rmse);
    last_rmse = s.ps_rmse();
    if (L == 16384) {
      CHECK(double(s.ps_wrong) / double(s.reads) < 0.1);
      CHECK(accuracy_vs(pred, soft) >= 0.9);
    }
  }
  // Per-layer lengths: a long first layer and a short second one beat short-everywhere on layer 1.
  cfg.converter = "mtj:stox:4096,2";
  const Simulator mixed(net, cfg);
  mixed.predict_all(data, 0, 2);
  cfg.converter = "mtj:stox:2";
  const Simulator shorter(net, cfg);
  shorter.predict_all(data, 0, 2);
  CHECK(mixed.stats()[0].ps_rmse() < shorter.stats()[0].ps_rmse() / 4);
}

TEST_CASE("SOT-MTJ converter reads an mtj_psw bundle (logistic fit, measured P_sw table)", "[imc][mtj]") {
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 10);
  const auto data = imc_test::random_images(net, 30, 7);
  imc_test::TempDir dir;
  const double i50 = 120e-6, s = 8e-6;
  lut::Bundle b;
  b.kind = "mtj_psw";
  lut::NamedFit f;
  f.name = "psw_10ns";
  f.fit.kind = "logistic";
  f.fit.param_names = {"x50", "scale"};
  f.fit.params = {i50, s};
  f.fit.param_stderr = {0, 0};
  b.fits.push_back(f);
  std::vector<double> xs;
  for (int i = 0; i <= 200; ++i) xs.push_back(i50 + s * (i - 100) * 0.1);
  lut::Table t("psw", {{"current_A", "A", xs}}, {{"p_switch", "1"}});
  for (size_t i = 0; i < xs.size(); ++i) t.value(i, 0) = 1 / (1 + std::exp(-(xs[i] - i50) / s));
  b.tables.push_back(t);
  lut::write_bundle(dir.path / "mtj", b);
  SimConfig cfg;
  cfg.rows = 64;
  cfg.converter = "mtj:" + (dir.path / "mtj").string() + ":16";
  const Simulator from_bundle(net, cfg);
  const auto pb = from_bundle.predict_all(data, 0, 2);
  cfg.converter = "mtj:stox:16";
  const Simulator stox(net, cfg);
  const auto ps = stox.predict_all(data, 0, 2);
  // A logistic device mapped onto the StoX-Net curve is the StoX-Net converter (up to interpolation).
  CHECK(accuracy_vs(pb, ps) > 0.9);
  CHECK(from_bundle.total_stats().ps_rmse() == Approx(stox.total_stats().ps_rmse()).epsilon(0.05));
  // The layout of characterize/kind_mtj_psw.cpp: table "<device>_psw" over (pulse_s, current_A) and a
  // fit "<device>_<pulse>ns" per pulse; the converter samples the fit's pulse row.
  lut::Bundle k = b;
  k.fits[0].name = "dev_10ns";
  lut::NamedFit other = k.fits[0];
  other.name = "dev_5ns";
  other.fit.params = {3 * i50, s};
  k.fits.insert(k.fits.begin(), other);
  lut::Table t2("dev_psw", {{"pulse_s", "s", {5e-9, 1e-8}}, {"current_A", "A", xs}}, {{"p_switch", "1"}});
  for (size_t i = 0; i < xs.size(); ++i) {
    t2.value(i, 0) = 0.5;  // the 5 ns row: a device stuck at 1/2, useless as a converter
    t2.value(xs.size() + i, 0) = t.value(i, 0);
  }
  k.tables = {t2};
  lut::write_bundle(dir.path / "mtj2", k);
  cfg.converter = "mtj:" + (dir.path / "mtj2").string() + "@dev_10ns:16";
  const Simulator layout(net, cfg);
  CHECK(accuracy_vs(layout.predict_all(data, 0, 2), ps) > 0.9);
  CHECK(layout.total_stats().ps_rmse() == Approx(stox.total_stats().ps_rmse()).epsilon(0.05));
  cfg.converter = "mtj:" + (dir.path / "mtj2").string() + "@dev_5ns:16";
  const Simulator stuck(net, cfg);
  stuck.predict_all(data, 0, 2);
  CHECK(stuck.total_stats().ps_rmse() > 1.5 * stox.total_stats().ps_rmse());
  cfg.converter = "mtj:" + (dir.path / "mtj2").string() + "@dev_1ns:16";
  CHECK_THROWS_WITH(Simulator(net, cfg), Catch::Contains("dev_10ns"));
  cfg.converter = "mtj:" + (dir.path / "nothing").string() + ":16";
  CHECK_THROWS(Simulator(net, cfg));
  cfg.converter = "mtj:stox:0";
  CHECK_THROWS_WITH(Simulator(net, cfg), Catch::Contains("sampling length"));
  cfg.converter = "mtj:stox";
  CHECK_THROWS(Simulator(net, cfg));
}

TEST_CASE("exact mode: zero wire resistance reproduces software, 7nm wires lose current", "[imc][exact]") {
  const auto net = imc_test::random_network(R"(
format = "xbarkit-bnn-1"
name = "tiny"
input = [1, 6, 6]
classes = 10
[[layer]]
type = "dense"
out = 24
[[layer]]
type = "dense"
out = 10
)", 12);
  const auto data = imc_test::random_images(net, 12, 3);
  const auto soft = net.predict_all(data, 0, 2);
  SimConfig cfg;
  cfg.rows = 16;
  cfg.cols = 8;
  cfg.sensing = Sensing::exact;
  cfg.wire_scale = 0.0;
  {
    const Simulator sim(net, cfg);
    CHECK(sim.predict_all(data, 0, 2) == soft);
    CHECK(sim.total_stats().ps_wrong == 0);
  }
  cfg.wire_scale = 40.0;  // 16 rows with 40× the 7nm wires: the IR drop of a much taller column
  const Simulator sim(net, cfg);
  sim.predict_all(data, 0, 2);
  const auto s = sim.total_stats();
  CHECK(s.ps_wrong > 0);
}

TEST_CASE("a staged evaluation (imc::extend) equals one run over all its images", "[imc][lut]") {
  // The main job runs a configuration on 50, then 250, then 750 images, each stage running only
  // its new images. Every image draws from its own index and the statistics are integer sums, so
  // the stages must reproduce one run bit for bit: predictions and every statistic.
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 6);
  const auto data = imc_test::random_images(net, 90, 3);
  const auto soft = net.predict_all(data, 0, 1);
  SimConfig cfg;
  cfg.rows = 64;
  cfg.mapping = Mapping::And;
  cfg.binsparx = parse_binsparx("static");
  cfg.sensing = Sensing::lut;
  cfg.array_lut = imc_test::synthetic_lut(64, 0.3, 0.05);
  cfg.converter = "calibrated";
  const Simulator sim(net, cfg);
  const auto whole = evaluate(sim, data, 90, 2, &soft);
  auto staged = evaluate(sim, data, 10, 1, &soft);
  extend(sim, staged, data, 45, 2, &soft);
  extend(sim, staged, data, 90, 1, &soft);
  CHECK(staged.images == 90);
  CHECK(staged.predictions == whole.predictions);
  CHECK(staged.accuracy == whole.accuracy);
  CHECK(staged.disagreements == whole.disagreements);
  CHECK(staged.disagreements > 0);  // the LUT's noise changes some predictions: the draws matter
  CHECK(staged.total.ps_error_sq == whole.total.ps_error_sq);
  CHECK(staged.total.conducting == whole.total.conducting);
  CHECK(staged.total.reads == whole.total.reads);
  REQUIRE(staged.layers.size() == whole.layers.size());
  for (size_t l = 0; l < whole.layers.size(); ++l) CHECK(staged.layers[l].z_error_sq == whole.layers[l].z_error_sq);
  CHECK_THROWS_WITH(extend(sim, staged, data, 50, 1), Catch::Contains("cannot continue"));
}
