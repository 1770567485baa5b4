// Recipe reading: defaults, stimulus, and every kind of bad input named by file and key.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "xbarkit/core/error.hpp"
#include "xbarkit/netlist/recipe.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;

namespace {

const char* kBase = R"(
[array]
rows = 4
cols = 3
cell = "sram8t"
[stimulus]
inputs = "1011"
weights = "random"
seed = 7
)";

CrossbarRecipe parse(const std::string& text) {
  return parse_crossbar_recipe(text, "test.toml", std::filesystem::temp_directory_path());
}

// The message must name the recipe and the key, so the user knows what to fix.
void require_error(const std::string& text, const std::string& key, const std::string& words) {
  try {
    parse(text);
    FAIL("expected an InputError naming " << key);
  } catch (const InputError& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("test.toml") != std::string::npos);
    CHECK(e.key() == key);
    CHECK(std::string(e.what()).find(words) != std::string::npos);
  }
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto p = s.find(from);
  REQUIRE(p != std::string::npos);
  return s.replace(p, from.size(), to);
}

}  // namespace

TEST_CASE("recipe defaults come from the technology file", "[recipe]") {
  const auto r = parse(kBase);
  const auto& x = r.crossbar;
  CHECK(x.rows == 4);
  CHECK(x.cols == 3);
  CHECK(x.cell_name() == "sram8t");
  CHECK(x.parasitics.r_bitline_ohm == 8.3);   // models/tech/7nm.toml [sram8t]
  CHECK(x.parasitics.r_sourceline_ohm == 8.3);
  CHECK(x.parasitics.r_wordline_ohm == 23.0);
  CHECK(x.v_read_V == 0.3);
  CHECK(x.vdd_V == 0.7);
  CHECK(x.transistor.flavour == "sramvt");
  CHECK(x.transistor.vt0_V == 0.5280);
  CHECK(x.nfin == 1);
  CHECK(x.inputs == std::vector<uint8_t>{1, 0, 1, 1});
}

TEST_CASE("recipe overrides parasitics and bias; zero resistance is an ideal wire", "[recipe]") {
  const auto r = parse(std::string(kBase) + "[parasitics]\nr_bitline = 0\nr_wordline = 50\n[bias]\nv_read = 0.1\n");
  CHECK(r.crossbar.parasitics.r_bitline_ohm == 0.0);
  CHECK(r.crossbar.parasitics.r_wordline_ohm == 50.0);
  CHECK(r.crossbar.parasitics.r_sourceline_ohm == 8.3);
  CHECK(r.crossbar.v_read_V == 0.1);
}

TEST_CASE("random stimulus is reproducible for a seed and follows the density", "[recipe]") {
  auto big = replace(replace(kBase, "rows = 4", "rows = 200"), "cols = 3", "cols = 100");
  big = replace(big, "inputs = \"1011\"", "inputs = \"random\"\ndensity = 0.3");
  const auto a = parse(big), b = parse(big);
  CHECK(a.crossbar.weights == b.crossbar.weights);
  CHECK(a.crossbar.inputs == b.crossbar.inputs);
  const auto c = parse(replace(big, "seed = 7", "seed = 8"));
  CHECK(a.crossbar.weights != c.crossbar.weights);
  double ones = 0;
  for (auto w : a.crossbar.weights) ones += w;
  // 20000 Bernoulli(0.3) draws: sd of the mean = sqrt(0.21/20000) = 0.0032; 5 sd bound.
  CHECK(ones / a.crossbar.weights.size() == Approx(0.3).margin(0.016));
}

TEST_CASE("weights from a file, relative to the recipe", "[recipe]") {
  const auto dir = std::filesystem::temp_directory_path() / "xbarkit_test_weights";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "w.txt") << "101\n010\n111\n000\n";
  const auto text = replace(kBase, "weights = \"random\"", "weights = \"w.txt\"");
  const auto r = parse_crossbar_recipe(text, "test.toml", dir);
  CHECK(r.crossbar.weights == std::vector<uint8_t>{1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0});
  CHECK(r.crossbar.conducting_count(0) == 2);  // rows 0, 2 active and store 1; row 1 off
  std::ofstream(dir / "bad.txt") << "101\n01\n111\n000\n";
  try {
    parse_crossbar_recipe(replace(kBase, "weights = \"random\"", "weights = \"bad.txt\""), "test.toml", dir);
    FAIL("short line accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("bad.txt") != std::string::npos);
    CHECK(std::string(e.what()).find("line 2") != std::string::npos);
  }
}

TEST_CASE("bad recipes are rejected with the file, key and problem", "[recipe][errors]") {
  require_error(std::string(kBase) + "[parasitics]\nr_bitlin = 3\n", "parasitics.r_bitlin", "unknown key");
  require_error("typo = 1\n" + std::string(kBase), "typo", "unknown key");
  require_error(std::string(kBase) + "typo = 1\n", "stimulus.typo", "unknown key");
  require_error(replace(kBase, "rows = 4", "rows = \"4\""), "array.rows", "expected an integer");
  require_error(replace(kBase, "rows = 4", "rows = 0"), "array.rows", "must be >= 1");
  require_error(replace(kBase, "cols = 3", "cols = -2"), "array.cols", "must be >= 1");
  require_error(std::string(kBase) + "[parasitics]\nr_bitline = -1\n", "parasitics.r_bitline", "must be >= 0");
  require_error(replace(kBase, "\"1011\"", "\"101\""), "stimulus.inputs", "has 3 characters, expected 4");
  require_error(replace(kBase, "\"1011\"", "\"10x1\""), "stimulus.inputs", "character 2 is 'x'");
  require_error(replace(kBase, "\"sram8t\"", "\"dram\""), "array.cell", "unknown cell kind");
  require_error(replace(kBase, "weights = \"random\"", "weights = \"nope.txt\""), "stimulus.weights", "not found");
  require_error(std::string(kBase) + "[models]\nlibrary = \"missing.lib\"\n", "models.library", "not found");
  require_error(replace(kBase, "seed = 7", "seed = 7\ndensity = 1.5"), "stimulus.density", "must be in [0, 1]");
  require_error(std::string(kBase) + "[bias]\nv_read = -0.2\n", "bias.v_read", "must be in [0, 5]");
}

TEST_CASE("TOML syntax errors name the line", "[recipe][errors]") {
  try {
    parse("[array\nrows = 1\n");
    FAIL("accepted broken TOML");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("test.toml") != std::string::npos);
    CHECK(std::string(e.what()).find("line 1") != std::string::npos);
  }
}

TEST_CASE("a technology file with a missing model file is rejected", "[recipe][errors]") {
  const auto dir = std::filesystem::temp_directory_path() / "xbarkit_test_tech";
  std::filesystem::create_directories(dir);
  std::ifstream in(std::filesystem::path(XBARKIT_SOURCE_DIR) / "models/tech/7nm.toml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::ofstream(dir / "broken.toml") << replace(ss.str(), "models/spice/mvs_nfet.lib", "models/spice/nope.lib");
  try {
    load_technology("broken.toml", dir);
    FAIL("accepted a missing model file");
  } catch (const InputError& e) {
    CHECK(e.key() == "finfet.spice_model");
    CHECK(std::string(e.what()).find("nope.lib") != std::string::npos);
  }
}
