#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "helpers.hpp"
#include "xbarkit/characterize/array_model.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/netlist/technology.hpp"

using namespace xbarkit;
using namespace xbarkit::characterize;
using namespace test_helpers;
namespace fs = std::filesystem;

TEST_CASE("IR-drop load features match a brute-force count of segment currents") {
  Rng rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    const int rows = 2 + static_cast<int>(rng.below(40));
    std::vector<int> on;
    for (int i = 0; i < rows; ++i)
      if (rng.bernoulli(0.4)) on.push_back(i);
    const auto f = lut::column_features_from_rows(rows, 1, 0, rows, on);
    long long top = 0, bottom = 0, sum = 0;
    // Top rail: segment t (t = 0..rows-1) feeds row t and below; bottom rail: segment s (s = 1..rows)
    // collects from rows at distance >= s.
    for (int t = 0; t < rows; ++t) {
      long long n = 0;
      for (int r : on) n += r >= t;
      top += n * n;
    }
    for (int s = 1; s <= rows; ++s) {
      long long n = 0;
      for (int r : on) n += rows - r >= s;
      bottom += n * n;
    }
    for (int r : on) sum += rows - r;
    CHECK(f.load_top == top);
    CHECK(f.load_bottom == bottom);
    CHECK(f.sum_distance == sum);
    CHECK(f.k == static_cast<int>(on.size()));
  }
}

TEST_CASE("load normalizer: 0 for the block nearest the sense end, 1 for the farthest (one-ended rails)") {
  const int rows = 16;
  const lut::LoadNormalizer norm(rows, {0, 1});
  std::vector<int> near, far;
  for (int n = 0; n < 5; ++n) {
    near.push_back(rows - 1 - n);
    far.push_back(n);
  }
  std::sort(near.begin(), near.end());
  CHECK(norm(lut::column_features_from_rows(rows, 1, 0, rows, near)) == 0.0);
  CHECK(norm(lut::column_features_from_rows(rows, 1, 0, rows, far)) == 1.0);
  const std::vector<int> spread{1, 5, 9, 13};
  const double q = norm(lut::column_features_from_rows(rows, 1, 0, rows, spread));
  CHECK(q > 0.2);
  CHECK(q < 0.8);
}

TEST_CASE("anchor patterns cover k = 0..rows at both ends of the column") {
  const auto tech = netlist::load_technology("7nm");
  auto x = netlist::make_crossbar(tech, "sram8t", 10, 4);
  const int n = anchor_count(10, 4);
  std::set<std::pair<int, bool>> seen;
  for (int a = 0; a < n; ++a) {
    anchor_pattern(x, a);
    for (int j = 0; j < 4; ++j) {
      const auto f = lut::column_features(10, 4, j, x.inputs, x.weights);
      const double z = lut::centroid_z(10, f.k, f.sum_distance);
      if (f.k > 0 && f.k < 10) CHECK((z == 0.0 || z == 1.0));
      seen.insert({f.k, z > 0.5});
    }
  }
  for (int k = 1; k < 10; ++k) {
    CHECK(seen.count({k, false}));
    CHECK(seen.count({k, true}));
  }
  CHECK(seen.count({10, false}));
}

TEST_CASE("LUT from samples of a known transfer: mean recovered, noise gives ~95% coverage of 2 sigma") {
  // Synthetic column currents: I = 1 uA * k * (1 - 0.3 q) + N(0, (0.02 uA * sqrt(k))^2).
  const int rows = 32;
  const lut::LoadNormalizer norm(rows, {0, 1});
  auto truth = [&](const lut::ColumnFeatures& f) { return 1e-6 * f.k * (1 - 0.3 * norm(f)); };
  auto make = [&](uint64_t seed, int n) {
    Rng rng(seed);
    std::vector<ColumnSample> out;
    for (int p = 0; p < n; ++p) {
      const double d = 0.05 + 0.9 * rng.uniform();
      std::vector<int> on;
      for (int i = 0; i < rows; ++i)
        if (rng.bernoulli(std::clamp(d + (rng.uniform() - 0.5) * 0.3 * (i - 16) / 16.0, 0.0, 1.0))) on.push_back(i);
      ColumnSample s;
      s.f = lut::column_features_from_rows(rows, 1, 0, rows, on);
      s.current_A = truth(s.f) + 0.02e-6 * std::sqrt(static_cast<double>(s.f.k)) * rng.normal();
      out.push_back(s);
    }
    return out;
  };
  ArrayTableSpec spec;
  spec.name = "synthetic";
  spec.rows = rows;
  spec.cols = 1;
  spec.axes = {"k", "q"};
  std::vector<double> kp, qp;
  for (int k = 0; k <= rows; ++k) kp.push_back(k);
  for (int g = 0; g <= 10; ++g) qp.push_back(g / 10.0);
  spec.points = {kp, qp};
  const auto table = build_array_table(spec, make(1, 20000));
  const auto check = check_held_out(table, make(2, 4000), rows, {0, 1}, 1e-6);
  // The noise alone is 0.02 uA * sqrt(k) ~ 0.1 uA of a ~32 uA full scale (~0.3%).
  CHECK(check.nrmse_mean < 0.005);
  CHECK(check.coverage_2sigma > 0.93);
  CHECK(check.coverage_2sigma < 0.98);
  CHECK(check.coverage_1sigma == Approx(0.68).margin(0.06));
  CHECK(check.ideal_nrmse > 0.05);  // ignoring the q dependence costs far more
  // A table without the q axis cannot follow the placement dependence.
  spec.axes = {"k"};
  spec.points = {kp};
  const auto konly = build_array_table(spec, make(1, 20000));
  CHECK(check_held_out(konly, make(2, 4000), rows, {0, 1}, 1e-6).nrmse_mean > 2 * check.nrmse_mean);
}

TEST_CASE("array_ps with ideal wires: the LUT is exactly k times the isolated cell current") {
  const auto dir = temp_dir("ideal");
  write(dir / "r.toml",
        "[characterize]\nkind = \"array_ps\"\nseed = 2\n[array_ps]\ncells = [\"sram8t\", \"rram1t1r\"]\nrows = [16]\n"
        "wire_scale = [0.0]\npatterns = 20\nholdout_patterns = 5\n");
  RunOptions o;
  o.output = dir / "b";
  o.progress = xbarkit::ProgressMode::off;
  run_characterization(dir / "r.toml", o);
  const auto lutp = lut::ArrayPsLut::load(dir / "b");
  for (const std::string cell : {"sram8t", "rram1t1r"}) {
    const auto& cfg = lutp.find(cell, 16, 0.0);
    REQUIRE(cfg.ideal_cell_current_A > 1e-6);
    const auto& t = lutp.bundle().table(cfg.table);
    const double off = t.attributes.at("ideal_off_cell_current_A").get<double>();
    // sram8t: a stored 0 switches the read stack off (pA leakage); rram1t1r: it is HRS, ~1/8 of LRS.
    if (cell == "sram8t") CHECK(off < 1e-6 * cfg.ideal_cell_current_A);
    else CHECK(off == Approx(cfg.ideal_cell_current_A / 7.8).epsilon(0.2));
    for (size_t n = 0; n < t.node_count(); ++n) {
      const auto x = t.coordinates(n);
      const double k = x[0];
      const double hrs_cells = cell == "rram1t1r" ? x.at(2) * (16 - k) : 0.0;
      INFO(cell << " node k=" << k << " x1=" << x[1] << (x.size() > 2 ? " x2=" + std::to_string(x[2]) : std::string()) << " n_eff=" << t.value(n, 7));
      const double expect = k * cfg.ideal_cell_current_A + hrs_cells * off;
      INFO("table " << t.value(n, 0) << " expected " << expect << " rel " << (t.value(n, 0) - expect) / std::max(expect, 1e-12));
      CHECK(t.value(n, 0) == Approx(expect).epsilon(1e-6).margin(1e-9));
    }
  }
  fs::remove_all(dir);
}
