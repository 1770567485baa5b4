// array_ps characterization with process variation and corners (characterize/kind_array_ps.cpp):
// the LUT's spread includes device mismatch as the device model propagates it, corners are separate
// tables picked by name, and the draws are the same whichever corners a recipe lists.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <fmt/format.h>

#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/netlist/variation.hpp"

using namespace xbarkit;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const auto p = fs::temp_directory_path() / fmt::format("xbarkit_variation_{}_{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

lut::ArrayPsLut run_recipe(const fs::path& dir, const std::string& body) {
  {
    std::ofstream out(dir / "r.toml");
    out << "[characterize]\nkind = \"array_ps\"\nseed = 3\n[array_ps]\ncells = [\"sram8t\"]\nrows = [16]\n" << body;
  }
  characterize::RunOptions o;
  o.output = dir / "b";
  o.progress = xbarkit::ProgressMode::off;
  o.force = true;
  characterize::run_characterization(dir / "r.toml", o);
  return lut::ArrayPsLut::load(dir / "b");
}

// sigma of one sram8t cell's read current from its two read transistors' Vt mismatch, to first order
// (central differences of the native solver's own cell; the engines agree to 1e-5, test_variation).
double one_cell_sigma_A(const netlist::Technology& tech) {
  auto one = netlist::make_crossbar(tech, "sram8t", 1, 1);
  one.parasitics = {};
  one.inputs = {1};
  one.weights = {1};
  auto current = [&](double a, double b) {
    one.variation.dvt_V = {a, b};
    one.variation.dln_r = {0.0, 0.0};
    return circuit::solve_crossbar(one).column_current_A[0];
  };
  netlist::VariationSpec spec;
  spec.avt_V_m = tech.variation.avt_V_m;
  const double s = netlist::transistor_vt_sigma_V(one, spec), h = 1e-4;
  const double d0 = (current(h, 0) - current(-h, 0)) / (2 * h), d1 = (current(0, h) - current(0, -h)) / (2 * h);
  return s * std::hypot(d0, d1);
}

}  // namespace

TEST_CASE("array_ps with variation: the table's spread at k conducting cells is sqrt(k) x the one-cell sigma",
          "[variation][characterize]") {
  // Ideal wires and the k axis alone: a column's current is the sum of its k cells' currents, each
  // with its own fresh mismatch, so the spread at node k is sqrt(k) sigma_cell (plus the pA leakage of
  // the off cells). The tent kernel's bandwidth on k is one grid step, so node k sees only columns
  // with exactly k conducting cells.
  const auto dir = temp_dir("spread");
  const auto tech = netlist::load_technology("7nm");
  const double sigma_cell = one_cell_sigma_A(tech);
  const auto with = run_recipe(dir, "wire_scale = [0.0]\naxes = [\"k\"]\npatterns = 400\nholdout_patterns = 100\n"
                                      "[array_ps.variation]\nseed = 5\n");
  const auto& cfg = with.find("sram8t", 16, 0.0);
  REQUIRE(cfg.variation.is_object());
  netlist::VariationSpec nominal;
  nominal.avt_V_m = tech.variation.avt_V_m;
  CHECK(cfg.variation.at("sigma_vt_V").get<double>() ==
        Approx(netlist::transistor_vt_sigma_V(netlist::make_crossbar(tech, "sram8t", 1, 1), nominal)));
  const auto& t = with.bundle().table(cfg.table);
  const size_t n_col = t.column_index("n_eff");
  for (int k : {1, 2, 4, 8}) {
    const double s = t.value(static_cast<size_t>(k), t.column_index("std_A"));
    const double n = t.value(static_cast<size_t>(k), n_col);
    INFO("k " << k << " table std " << s << " A, sqrt(k) sigma_cell " << std::sqrt(k) * sigma_cell << " A, n_eff " << n);
    REQUIRE(n > 100);
    // Sample std of n draws: relative standard error 1/sqrt(2(n-1)); 4 standard errors plus 3% for
    // the curvature of I(Vt) over one sigma (test_variation: first order is within 2% of sampling).
    CHECK(std::abs(s / (std::sqrt(k) * sigma_cell) - 1) < 4 / std::sqrt(2 * (n - 1)) + 0.03);
  }
  // The held-out check uses fresh patterns with fresh draws; the table's band covers them.
  const auto& v = with.bundle().validation;
  INFO(v.dump());
  CHECK(v.at("coverage_2sigma").get<double>() > 0.9);
  // Without variation the same recipe's spread is only the off cells' pA leakage, i.e. the table's
  // std floor (1e-5 of full scale, ~2 nA here): far below the mismatch's 1.9 uA per cell.
  const auto without = run_recipe(dir, "wire_scale = [0.0]\naxes = [\"k\"]\npatterns = 50\nholdout_patterns = 10\n");
  const auto& t0 = without.bundle().table(without.find("sram8t", 16, 0.0).table);
  CHECK(t0.value(4, t0.column_index("std_A")) < 1e-2 * sigma_cell);
  fs::remove_all(dir);
}

TEST_CASE("array_ps corners: one table per corner picked by name - same draws for any corner list",
          "[variation][characterize]") {
  const auto dir = temp_dir("corners");
  const std::string common = "patterns = 40\nholdout_patterns = 20\n[array_ps.variation]\nseed = 5\n";
  const auto all = run_recipe(dir, "corners = [\"ss\", \"tt\", \"ff\"]\n" + common);
  CHECK(all.configs().size() == 3);
  CHECK(all.corners("sram8t", 16) == std::vector<std::string>{"ff", "ss", "tt"});
  // Without a corner the choice is ambiguous: refused, naming the corners.
  CHECK_THROWS_WITH(all.find("sram8t", 16), Catch::Contains("several corners") && Catch::Contains("ss"));
  CHECK_THROWS_WITH(all.find("sram8t", 16, 1.0, "sf"), Catch::Contains("corner 'sf'"));
  const auto& ss = all.find("sram8t", 16, 1.0, "ss");
  const auto& tt = all.find("sram8t", 16, 1.0, "tt");
  const auto& ff = all.find("sram8t", 16, 1.0, "ff");
  CHECK(ss.table == "sram8t_r16_w1_ss");
  CHECK(ss.vdd_V == Approx(0.63));
  CHECK(ff.temperature_K == Approx(233.15));
  // Slow < typical < fast in full-scale current (every cell conducting).
  CHECK(ss.full_scale_A < tt.full_scale_A);
  CHECK(tt.full_scale_A < ff.full_scale_A);
  for (const auto& c : all.bundle().validation.at("configs")) {
    INFO(c.dump());
    CHECK(c.at("held_out").at("coverage_2sigma").get<double>() > 0.85);
  }
  // The tt table does not depend on which other corners were characterized with it: the pattern and
  // mismatch streams are named without the corner.
  const auto only_tt = run_recipe(dir, "corners = [\"tt\"]\n" + common);
  const auto& a = all.bundle().table(tt.table);
  const auto& b = only_tt.bundle().table(only_tt.find("sram8t", 16, 1.0, "tt").table);
  REQUIRE(a.node_count() == b.node_count());
  for (size_t n = 0; n < a.node_count(); ++n) CHECK(a.value(n, 0) == b.value(n, 0));
  fs::remove_all(dir);
}

TEST_CASE("array_ps variation: bad corners and sigmas are refused naming the key", "[variation][characterize][errors]") {
  const auto dir = temp_dir("bad");
  CHECK_THROWS_WITH(run_recipe(dir, "corners = [\"xx\"]\n"), Catch::Contains("corners") && Catch::Contains("'xx'"));
  CHECK_THROWS_WITH(run_recipe(dir, "corners = [\"tt\", \"tt\"]\n"), Catch::Contains("twice"));
  CHECK_THROWS_WITH(run_recipe(dir, "[array_ps.variation]\nscale = -1\n"), Catch::Contains("scale"));
  CHECK_THROWS_WITH(run_recipe(dir, "corners = [\"tt\"]\n[array_ps.variation]\ncorner = \"ss\"\n"),
                    Catch::Contains("not both"));
  CHECK_THROWS_WITH(run_recipe(dir, "[array_ps.variation]\navt_mV_um = 1000\n"), Catch::Contains("avt_mV_um"));
  fs::remove_all(dir);
}
