// Inference on every registered cell kind with a characterized array_ps bundle, through every
// registered converter (the LUT's axes, e.g. rram1t1r's hrs, are read by the one axis definition of
// lut/array_ps.hpp).
#include <catch2/catch.hpp>

#include <fstream>

#include <fmt/format.h>

#include "imc_test_util.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/imc/simulator.hpp"
#include "xbarkit/netlist/cell.hpp"

using namespace xbarkit;
using namespace xbarkit::imc;

namespace {

// A small native-solver array_ps bundle of `cell` at 16 rows, default 7nm wires.
std::filesystem::path characterize_cell(const imc_test::TempDir& dir, const std::string& cell) {
  const auto recipe = dir.path / (cell + ".toml");
  std::ofstream(recipe) << fmt::format(
      "[characterize]\nkind = \"array_ps\"\nseed = 3\n[array_ps]\ncells = [\"{}\"]\nrows = [16]\npatterns = 60\n"
      "holdout_patterns = 20\n",
      cell);
  characterize::RunOptions ro;
  ro.output = dir.path / cell;
  ro.progress = ProgressMode::off;
  ro.threads = 2;
  characterize::run_characterization(recipe, ro);
  return ro.output;
}

std::string adc_bundle(const imc_test::TempDir& dir, const std::string& name, double full_scale_A) {
  const auto recipe = dir.path / (name + ".toml");
  std::ofstream(recipe) << fmt::format("[characterize]\nkind = \"adc\"\nseed = 1\n[adc]\nbits = 5\n"
                                       "full_scale_A = {:.17g}\ncolumns = 4\n", full_scale_A);
  characterize::RunOptions ro;
  ro.output = dir.path / name;
  ro.progress = ProgressMode::off;
  ro.threads = 1;
  characterize::run_characterization(recipe, ro);
  return ro.output.string();
}

}  // namespace

TEST_CASE("every cell kind's characterized LUT drives inference with every converter", "[imc][cells][slow]") {
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 21);
  const auto data = imc_test::random_images(net, 40, 4);
  const auto soft = net.predict_all(data, 0, 2);
  imc_test::TempDir dir;
  for (const char* cell : {"sram8t", "rram1t1r", "passive"}) {
    INFO(cell);
    const auto lut = std::make_shared<const lut::ArrayPsLut>(lut::ArrayPsLut::load(characterize_cell(dir, cell)));
    const auto& config = lut->find(cell, 16);
    CHECK(config.axes == [&] {  // the axes the cell kind asks for, parsed from the bundle
      std::vector<lut::ArrayPsAxis> want;
      for (const auto& a : netlist::cell(cell).default_array_ps_axes()) want.push_back(*lut::parse_axis(a));
      return want;
    }());
    SimConfig cfg;
    cfg.rows = 16;
    cfg.cell = cell;
    cfg.sensing = Sensing::lut;
    cfg.array_lut = lut;
    const double full_scale = 16 * config.ideal_cell_current_A;
    // One spec per registered converter: a converter added later must be listed here too.
    std::map<std::string, std::string> specs{{"ideal", "ideal"},
                                             {"calibrated", "calibrated"},
                                             {"adc", "adc:" + adc_bundle(dir, std::string("adc_") + cell, full_scale)},
                                             {"mtj", "mtj:stox:4096"}};
    for (const auto& type : converter_types()) {
      INFO(type.name);
      REQUIRE(specs.count(type.name));
      cfg.converter = specs[type.name];
      cfg.lut_noise = false;
      const Simulator sim(net, cfg);
      const auto pred = sim.predict_all(data, 0, 2);
      const auto s = sim.total_stats();
      CHECK(s.reads > 0);
      // At 16 rows the 7nm wires cost little current: the calibrated converter on the LUT's mean
      // reads nearly every partial sum right (it inverts the same table), so the predictions stay
      // close to software. The other converters' errors are the physics under test elsewhere.
      if (type.name == "calibrated") {
        size_t same = 0;
        for (size_t i = 0; i < pred.size(); ++i) same += pred[i] == soft[i];
        INFO("calibrated agreement " << same << "/" << pred.size() << ", ps rmse " << s.ps_rmse());
        CHECK(s.ps_rmse() < 1.0);
        CHECK(same >= pred.size() * 8 / 10);
      }
    }
  }
}

TEST_CASE("the LUT path and the exact circuit path agree for rram1t1r (hrs axis)", "[imc][cells][slow]") {
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 22);
  const auto data = imc_test::random_images(net, 30, 5);
  imc_test::TempDir dir;
  const auto lut = std::make_shared<const lut::ArrayPsLut>(lut::ArrayPsLut::load(characterize_cell(dir, "rram1t1r")));
  SimConfig cfg;
  cfg.rows = 16;
  cfg.cell = "rram1t1r";
  cfg.array_lut = lut;
  cfg.converter = "calibrated";
  cfg.wire_scale = 1.0;
  cfg.sensing = Sensing::exact;
  const Simulator exact(net, cfg);
  const auto p_exact = exact.predict_all(data, 0, 2);
  cfg.sensing = Sensing::lut;
  cfg.lut_noise = false;
  const Simulator mean(net, cfg);
  const auto p_lut = mean.predict_all(data, 0, 2);
  // The same converter on the LUT's mean vs on the circuit's exact currents: the LUT's held-out error
  // at 16 rows is a fraction of one cell current, so the partial sums it reads differ from the
  // exact ones on few reads; the predictions agree on most images.
  size_t same = 0;
  for (size_t i = 0; i < p_lut.size(); ++i) same += p_lut[i] == p_exact[i];
  INFO("agreement " << same << "/" << p_lut.size() << "; exact ps rmse " << exact.total_stats().ps_rmse()
                    << ", lut " << mean.total_stats().ps_rmse());
  CHECK(same >= p_lut.size() * 8 / 10);
  CHECK(std::abs(mean.total_stats().ps_rmse() - exact.total_stats().ps_rmse()) < 0.5);
}
