// BinSparX static-data (imc/binsparx.hpp): the flips chosen from calibration activations and the LUT.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "imc_test_util.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/imc/binsparx.hpp"
#include "xbarkit/imc/simulator.hpp"

using namespace xbarkit;
using namespace xbarkit::imc;

namespace {

SimConfig lut_config(Mapping mapping, const std::string& binsparx, int rows, double droop, double noise,
                     std::shared_ptr<const nn::Dataset> calib, size_t calib_images) {
  SimConfig c;
  c.mapping = mapping;
  c.binsparx = parse_binsparx(binsparx);
  c.rows = rows;
  c.sensing = Sensing::lut;
  c.array_lut = imc_test::synthetic_lut(rows, droop, noise);
  c.converter = "calibrated";
  c.calibration_data = std::move(calib);
  c.calibration_images = calib_images;
  c.calibration_threads = 2;
  c.guard_images = 0;  // the model's choice itself (the guard has its own test)
  return c;
}

}  // namespace

TEST_CASE("BinSparX modes parse and print; static-data needs calibration images", "[imc][binsparx]") {
  for (const char* m : {"none", "static", "dynamic", "both", "static-data", "both-data"})
    CHECK(to_string(parse_binsparx(m)) == m);
  CHECK(parse_binsparx("static-data").static_flip);
  CHECK_FALSE(parse_binsparx("static-data").dynamic_flip);
  CHECK(parse_binsparx("both-data").dynamic_flip);
  CHECK_THROWS_AS(parse_binsparx("data"), Error);
  const auto net = imc_test::random_network(imc_test::kSmallCnn, 3);
  SimConfig c;
  c.rows = 16;
  c.mapping = Mapping::And;
  c.binsparx = parse_binsparx("static-data");
  CHECK_THROWS_WITH(Simulator(net, c), Catch::Contains("calibration images"));
}

TEST_CASE("step_moments: exact expectations over a step converter equal sampled ones", "[imc][binsparx]") {
  std::vector<double> th;
  for (int k = 0; k < 12; ++k) th.push_back(0.9 * k + 0.45 + 0.02 * k * k);  // a non-uniform staircase
  const int max_count = 10, c = 4;
  const double d = 4;
  auto count = [&](double i) {
    i = std::max(i, 0.0);
    const int n = int(std::upper_bound(th.begin(), th.begin() + max_count, i) - th.begin());
    return n;
  };
  double m1 = 0, m2 = 0;
  step_moments(th, max_count, 3.7, 0.0, c, d, m1, m2);  // no noise: one count
  CHECK(m1 == d * (count(3.7) - c));
  CHECK(m2 == m1 * m1);
  for (const auto& [mean, sd] : std::vector<std::pair<double, double>>{{3.7, 0.8}, {0.2, 0.5}, {9.5, 2.0}}) {
    step_moments(th, max_count, mean, sd, c, d, m1, m2);
    Rng rng(11, 1);
    const int n = 400000;
    double s1 = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; ++i) {
      const double e = d * (count(mean + sd * rng.normal()) - c);
      s1 += e, s2 += e * e, s4 += e * e * e * e;
    }
    const double e1 = s1 / n, e2 = s2 / n;
    // 5 standard errors of the sample means (seeded, so the check is reproducible).
    const double se1 = std::sqrt((e2 - e1 * e1) / n), se2 = std::sqrt((s4 / n - e2 * e2) / n);
    CHECK(std::abs(m1 - e1) <= 5 * se1 + 1e-12);
    CHECK(std::abs(m2 - e2) <= 5 * se2 + 1e-12);
  }
}

TEST_CASE("ActivationStats: expected wrong pooled activations equal sampled ones", "[imc][binsparx]") {
  // One output, one tile, four pooled positions; choice 0 (keep) has no error, choice 1 a biased,
  // noisy one.
  ActivationStats a;
  a.tiles = 1;
  a.z = {3, 5, -2, 0};
  a.windows = {{0, 1, 2, 3}};
  a.mean = {0, -1.2f, 0, 0.7f, 0, 2.0f, 0, -0.4f};
  a.var = {0, 4.0f, 0, 2.5f, 0, 9.0f, 0, 0.0f};
  for (const int8_t dir : {int8_t(1), int8_t(-1)})
    for (const int32_t thr : {-1, 4, 5, 7}) {
      a.threshold = thr;
      a.direction = dir;
      const bool sw = dir > 0 ? 5 >= thr : 5 <= thr;
      CHECK(a.wrong({0}) == 0);
      Rng rng(3, uint64_t(thr + 10 * dir));
      const int n = 200000;
      int wrong = 0;
      for (int i = 0; i < n; ++i) {
        int32_t zmax = INT32_MIN;
        for (size_t p = 0; p < 4; ++p) {
          // The crossbar's pre-activation is an integer: the normal error rounded.
          const double e = a.mean[2 * p + 1] + std::sqrt(double(a.var[2 * p + 1])) * rng.normal();
          zmax = std::max(zmax, a.z[p] + int32_t(std::lround(e)));
        }
        const bool fires = dir > 0 ? zmax >= thr : zmax <= thr;
        wrong += fires != sw;
      }
      const double pw = double(wrong) / n, se = std::sqrt(std::max(pw * (1 - pw), 1.0 / n) / n);
      INFO("dir " << int(dir) << " thr " << thr);
      CHECK(std::abs(a.wrong({1}) - pw) <= 5 * se);  // 5 binomial standard errors
    }
}

TEST_CASE("BinSparX static-data: the choice never increases its objective on the calibration activations",
          "[imc][binsparx]") {
  const auto net = imc_test::random_network(imc_test::kSmallCnn, 21, 0.6);
  const auto calib = imc_test::random_images(net, 40, 5);
  for (const auto mapping : {Mapping::And, Mapping::Xnor})
    for (const bool dynamic : {false, true}) {
      INFO("mapping " << to_string(mapping) << ", dynamic " << dynamic);
      const auto cfg = lut_config(mapping, dynamic ? "both-data" : "static-data", 16, 0.35, 0.04, nullptr, 0);
      const Simulator plain(net, [&] {  // the simulator's mapping with the paper's flips, no calibration
        auto c = cfg;
        c.binsparx.data_aware = false;
        return c;
      }());
      std::vector<LayerMapping> maps(net.layers().size());
      for (const auto& l : net.layers())
        if (l.binary()) maps[l.index] = plain.mapping(l.index);
      const FastArrayLut lut(cfg.array_lut, cfg.array_lut->find("sram8t", 16, 1.0, ""));
      ReadModel rm;
      rm.lut = &lut;
      rm.cell_A = lut.ideal_cell_current_A();
      rm.converter = &plain.converter();
      rm.rows = rm.cols = 16;
      std::vector<std::vector<FlipStats>> stats;
      std::vector<std::vector<ActivationStats>> acts;
      const auto cal = calibrate_static_flips(net, maps, rm, calib, 40, dynamic, 2, &stats, &acts);
      int nontrivial = 0;
      for (const auto& l : net.layers()) {
        if (!l.binary()) continue;
        const LayerMapping& M = maps[l.index];
        const int T = M.tiles();
        for (int o = 0; o < M.outputs(); ++o) {
          const FlipStats& st = stats[l.index][size_t(o)];
          const ActivationStats* act = l.is_output ? nullptr : &acts[l.index][size_t(o)];
          auto obj = [&](const std::vector<uint8_t>& a) { return flip_objective(st, act, a); };
          std::vector<uint8_t> none(size_t(T), 0), paper(size_t(T), 0), chosen(size_t(T), 0);
          for (int t = 0; t < T; ++t) {
            paper[size_t(t)] = 2 * M.weight_plus_plain(t, o) > M.slice_size(t);
            chosen[size_t(t)] = cal.flips[l.index][size_t(t) * size_t(M.outputs()) + size_t(o)];
          }
          const auto j = obj(chosen);
          // The same function evaluates every candidate, so these hold exactly: (A, J, cells) in
          // lexicographic order, A = expected wrong activations (hidden layers), J = squared error.
          REQUIRE_FALSE(obj(none) < j);
          REQUIRE_FALSE(obj(paper) < j);
          if (l.is_output) {
            REQUIRE(j.sq <= st.objective(none));
            REQUIRE(j.sq <= st.objective(paper));
          } else {
            REQUIRE(j.wrong <= act->wrong(none));
            REQUIRE(j.wrong <= act->wrong(paper));
          }
          nontrivial += obj(chosen) < obj(none) && obj(chosen) < obj(paper);
          // A local minimum: no single column's change lowers the objective.
          for (int t = 0; t < T; ++t) {
            auto other = chosen;
            other[size_t(t)] ^= 1;
            REQUIRE_FALSE(obj(other) < j);
          }
        }
      }
      CHECK(nontrivial > 0);  // the rule is not just one of the two fixed rules
      for (const auto& r : cal.layers) {
        CHECK(r.wrong_chosen <= r.wrong_none);
        CHECK(r.wrong_chosen <= r.wrong_paper);
      }
      CHECK(cal.layers.back().objective_chosen <= cal.layers.back().objective_none);  // output layer: J
      CHECK(cal.layers.back().objective_chosen <= cal.layers.back().objective_paper);
    }
}

TEST_CASE("BinSparX static-data: the objective is the simulated squared output error of the first crossbar layer",
          "[imc][binsparx]") {
  // The first binary layer sees the same inputs in software and on the crossbar, so J / vectors
  // (expected Σ_o (z_o − ẑ_o)² per input vector) is what the simulator produces on average when it
  // runs the calibration images themselves.
  const auto net = imc_test::random_network(imc_test::kSmallCnn, 21, 0.6);
  auto calib = std::make_shared<const nn::Dataset>(imc_test::random_images(net, 30, 9));
  for (const bool noise : {false, true}) {
    INFO("LUT noise " << noise);
    auto cfg = lut_config(Mapping::And, "static-data", 16, 0.9, 0.04, calib, 30);
    cfg.lut_noise = noise;
    const auto& first = *std::find_if(net.layers().begin(), net.layers().end(), [](const auto& l) { return l.binary(); });
    std::vector<double> runs;
    double objective = 0;
    for (uint64_t seed = 1; seed <= (noise ? 8u : 1u); ++seed) {
      cfg.seed = seed;
      const Simulator sim(net, cfg);
      (void)sim.predict_all(*calib, 30, 2);
      const auto s = sim.stats().front();
      REQUIRE(s.layer == first.index);
      const double vectors = double(s.outputs) / double(first.out_channels);
      runs.push_back(double(s.z_error_sq) / vectors);
      objective = sim.flip_calibration().layers.front().objective_chosen;
    }
    REQUIRE(objective > 0);
    if (!noise) {
      // Deterministic reads: the same sum in another order (double rounding only).
      CHECK(runs[0] == Approx(objective).epsilon(1e-9));
    } else {
      double mean = 0, var = 0;
      for (double r : runs) mean += r / double(runs.size());
      for (double r : runs) var += (r - mean) * (r - mean) / double(runs.size() - 1);
      const double se = std::sqrt(var / double(runs.size()));
      // 4 standard errors of the mean over 8 seeds, plus 1% for the per-vector sampled LUT draws the
      // expectation replaces (the same images every seed).
      CHECK(std::abs(mean - objective) <= 4 * se + 0.01 * objective);
    }
  }
}

TEST_CASE("BinSparX static-data and both-data: an ideal crossbar stays bit-identical to software", "[imc][binsparx]") {
  const auto net = imc_test::random_network(imc_test::kSmallCnn, 4, 0.65);
  const auto test = imc_test::random_images(net, 60, 1);
  // 20 calibration images, then 25 for the guard (which cannot tell the choices apart here).
  auto calib = std::make_shared<const nn::Dataset>(imc_test::random_images(net, 45, 2));
  const auto software = net.predict_all(test, 0, 2);
  for (const auto mapping : {Mapping::And, Mapping::Xnor})
    for (const char* mode : {"static-data", "both-data"})
      for (const int rows : {16, 64}) {
        INFO(to_string(mapping) << " " << mode << " rows " << rows);
        SimConfig ideal;
        ideal.mapping = mapping;
        ideal.binsparx = parse_binsparx(mode);
        ideal.rows = rows;
        ideal.calibration_data = calib;
        ideal.calibration_images = 20;
        ideal.calibration_threads = 2;
        ideal.guard_images = 25;
        const Simulator a(net, ideal);
        CHECK(a.predict_all(test, 0, 2) == software);
        // Exact reads: the guard has nothing to compare and does not run.
        CHECK(a.flip_calibration().guard.ideal_reads);
        CHECK(a.flip_calibration().guard.images == 0);
        // No error anywhere: the choice falls to the fewest conducting cells.
        for (const auto& r : a.flip_calibration().layers) {
          CHECK(r.objective_chosen == 0);
          CHECK(r.cells_chosen <= r.cells_none);
          CHECK(r.cells_chosen <= r.cells_paper);
        }
        // An ideal LUT (no droop, no spread) with the calibrated converter.
        auto lutc = lut_config(mapping, mode, rows, 0.0, 0.0, calib, 20);
        lutc.guard_images = 25;
        const Simulator b(net, lutc);
        CHECK(b.predict_all(test, 0, 2) == software);
        // An ideal LUT is still sampled: the guard runs and finds no image the choices disagree on.
        const auto& g = b.flip_calibration().guard;
        CHECK_FALSE(g.ideal_reads);
        CHECK(g.images == 25);
        CHECK(g.only_chosen + g.only_none == 0);
        CHECK(g.kept);
      }
}

TEST_CASE("BinSparX static-data guard: its counts, its decision, and a dropped choice equals plain AND",
          "[imc][binsparx]") {
  // The guard (binsparx.hpp, FlipGuard) runs the whole network on the images after the calibration
  // ones with the chosen flips and with none. Checked against an independent rerun of both choices
  // on the guard's keys: a simulator with the guard off keeps the model's flips (the "with" side), a
  // plain-AND simulator is the "without" side. Seeds 1-6 label the images with the software
  // network's predictions ("correct" = agrees with software, where the data-aware flips usually
  // win); seeds 7-9 label the guard images with plain AND's own predictions on the guard's reads, so
  // no flips are right on every image and the guard must drop any choice that changes a prediction.
  size_t kept = 0, dropped = 0;
  for (uint64_t seed = 1; seed <= 9; ++seed) {
    INFO("seed " << seed);
    const auto net = imc_test::random_network(imc_test::kSmallCnn, 30 + seed, 0.6);
    auto images = imc_test::random_images(net, 20 + 75, seed);
    const auto software = net.predict_all(images, 0, 2);
    images.labels.assign(software.begin(), software.end());
    auto cfg = lut_config(Mapping::And, "static-data", 16, 0.9, 0.06, nullptr, 20);
    cfg.seed = seed;
    cfg.guard_images = 75;
    auto plain_cfg = cfg;
    plain_cfg.binsparx = parse_binsparx("none");
    const Simulator plain(net, plain_cfg);
    if (seed > 6) {
      const auto p = plain.predict_keyed(images, 20, 95, Simulator::kGuardKeys, 2);
      std::copy(p.begin(), p.end(), images.labels.begin() + 20);
    }
    auto calib = std::make_shared<const nn::Dataset>(images);
    cfg.calibration_data = calib;
    const Simulator guarded(net, cfg);
    auto model_cfg = cfg;
    model_cfg.guard_images = 0;
    const Simulator model(net, model_cfg);

    const auto& g = guarded.flip_calibration().guard;
    CHECK(model.flip_calibration().guard.images == 0);
    CHECK(model.flip_calibration().flips == guarded.flip_calibration().flips);
    REQUIRE(g.images > 0);
    REQUIRE(g.images <= 75);
    CHECK((g.images == 75 || g.decided_early));
    const auto with = model.predict_keyed(*calib, 20, 20 + g.images, Simulator::kGuardKeys, 2);
    const auto without = plain.predict_keyed(*calib, 20, 20 + g.images, Simulator::kGuardKeys, 1);
    size_t a = 0, n = 0, only_a = 0, only_n = 0;
    for (size_t i = 0; i < g.images; ++i) {
      const int y = calib->labels[20 + i];
      const bool ca = with[i] == y, cn = without[i] == y;
      a += ca, n += cn, only_a += ca && !cn, only_n += cn && !ca;
    }
    CHECK(g.correct_chosen == a);
    CHECK(g.correct_none == n);
    CHECK(g.only_chosen == only_a);
    CHECK(g.only_none == only_n);
    CHECK(g.kept == (only_a >= only_n));
    if (seed > 6) CHECK_FALSE(g.kept);
    // What is evaluated afterwards is the model's choice or plain AND, read for read.
    const auto test = imc_test::random_images(net, 40, 100 + seed);
    const Simulator& same = g.kept ? model : plain;
    same.reset_stats();  // it ran the guard's images above
    CHECK(guarded.stats().front().reads == 0);  // the guard's own reads were not kept
    CHECK(guarded.predict_all(test, 0, 2) == same.predict_all(test, 0, 1));
    // Read for read: every read's error statistics agree, not only the predictions.
    const auto sg = guarded.total_stats(), ss = same.total_stats();
    CHECK(sg.reads == ss.reads);
    CHECK(sg.conducting == ss.conducting);
    CHECK(sg.ps_error_sq == ss.ps_error_sq);
    CHECK(sg.ps_error_sum == ss.ps_error_sum);
    CHECK(sg.z_error_sq == ss.z_error_sq);
    (g.kept ? kept : dropped) += 1;
  }
  CHECK(kept >= 5);  // the data-aware flips win on software labels here (a property of these seeds)
  CHECK(dropped == 3);
}
