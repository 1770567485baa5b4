// array_read bundles and the inference cost report built on them.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/cost/inference.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/lut/bundle.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/transient/mvs_charge.hpp"

using namespace xbarkit;

namespace {

// A small array_read bundle (8x8 sram8t tiles), characterized once for the tests of this file.
const std::filesystem::path& bundle_dir() {
  static const std::filesystem::path dir = [] {
    const auto base = std::filesystem::temp_directory_path() / ("xbarkit_cost_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(base);
    std::filesystem::create_directories(base);
    std::ofstream(base / "recipe.toml") << "[characterize]\nkind = \"array_read\"\nseed = 3\n\n[array_read]\n"
                                           "cells = [\"sram8t\"]\nrows = [8]\npatterns = 4\nholdout_patterns = 2\n"
                                           "k_points = 5\n";
    characterize::RunOptions o;
    o.output = base / "bundle";
    o.progress = xbarkit::ProgressMode::off;
    characterize::run_characterization(base / "recipe.toml", o);
    return base / "bundle";
  }();
  return dir;
}

}  // namespace

TEST_CASE("array_read bundle: wordline energy between the adiabatic and the step-charging bounds", "[cost]") {
  const auto b = lut::load_bundle(bundle_dir());
  REQUIRE(b.kind == "array_read");
  const auto& t = b.table("sram8t_r8_w1");
  const double e_row = t.attributes.at("wordline_energy_per_row_J").get<double>();
  // The row's charge at VDD: 8 taps of wire + overlap capacitance and the MVS gate charge. A driver
  // ramp through a resistor delivers between Q V / 2 (infinitely slow ramp) and Q V (a step); the
  // read window ends at the latency, when the wordline has (nearly) finished charging.
  const auto tech = netlist::load_technology("7nm");
  const auto x = netlist::make_crossbar(tech, "sram8t", 8, 8);
  const auto caps = x.kind().ladder_cell_caps(x);
  const transient::MvsGateCharge q(x.transistor, 1);
  const double v = x.vdd_V;
  const double charge = 8 * ((x.parasitics.c.c_wordline_F + caps.wordline_F) * v + q.charge(v) - q.charge(0));
  CHECK(e_row > 0.5 * charge * v * 0.98);
  CHECK(e_row < charge * v);
  // More conducting cells draw more bitline energy.
  for (size_t n = 1; n < t.node_count(); ++n) CHECK(t.value(n, 0) > t.value(n - 1, 0));
  CHECK(b.validation.at("held_out").contains("sram8t_r8_w1"));
}

TEST_CASE("inference cost: layers add up - the bundle must match the tile - ADC vs MTJ converters", "[cost]") {
  const auto net = nn::load_network(source_dir() / "models/networks/bnn_mlp");
  const auto test = nn::load_fashion_mnist(nn::Split::Test);
  imc::SimConfig cfg;
  cfg.rows = 8;
  cfg.cell = "sram8t";
  const auto e = imc::evaluate(net, test, cfg, 20, 1);
  const auto tech = netlist::load_technology("7nm");
  cost::InferenceCostConfig cc;
  cc.read_lut = bundle_dir().string();
  const auto c = cost::inference_cost(e, net, tech, cc);
  double energy = 0, latency = 0, area = 0;
  for (const auto& l : c.layers) {
    energy += l.energy_J();
    latency += l.latency_s;
    area += l.area_m2;
    CHECK(l.array_J > 0);
    CHECK(l.converters_J > 0);
  }
  CHECK(c.energy_per_image_J == Approx(energy).epsilon(1e-12));
  CHECK(c.latency_per_image_s == Approx(latency).epsilon(1e-12));
  CHECK(c.area_m2 == Approx(area).epsilon(1e-12));
  // Full precision for 8-row XNOR tiles (4 inputs per slice): ceil(log2(9)) = 4 bits.
  CHECK(c.converter.find("4-bit sar") != std::string::npos);
  const auto j = c.to_json();
  for (const char* key : {"energy_per_image_J", "latency_per_image_s", "area_m2", "breakdown"}) CHECK(j.contains(key));
  // An MTJ converter with L samples costs L times one sample's energy per read (same reads).
  cfg.converter = "mtj:stox:2";
  const auto em = imc::evaluate(net, test, cfg, 20, 1);
  const auto cm = cost::inference_cost(em, net, tech, cc);
  REQUIRE(cm.layers.size() == c.layers.size());
  CHECK(cm.layers[0].converters_J == Approx(cm.layers[0].reads_per_image * cm.conversion.energy_J).epsilon(1e-12));
  // A tile size the bundle was not characterized for is refused, naming the option.
  cfg.converter = "ideal";
  cfg.rows = 16;
  const auto e16 = imc::evaluate(net, test, cfg, 5, 1);
  CHECK_THROWS_WITH(cost::inference_cost(e16, net, tech, cc), Catch::Contains("--read-lut") && Catch::Contains("16x16"));
}
