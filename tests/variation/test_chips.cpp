// Inference on sampled chips (imc/simulator.hpp SimConfig::variation): one mismatch draw per tile,
// fixed for the run and named by the chip seed, and a Monte-Carlo over chips (imc::evaluate_chips).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/netlist/variation.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "../imc/imc_test_util.hpp"

using namespace xbarkit;

namespace {

imc::SimConfig exact_config(double sigma_scale, uint64_t chip) {
  imc::SimConfig cfg;
  cfg.rows = 64;
  cfg.sensing = imc::Sensing::exact;
  cfg.cell = "sram8t";
  if (sigma_scale >= 0) cfg.variation = netlist::default_variation(netlist::load_technology("7nm"), sigma_scale, chip);
  return cfg;
}

}  // namespace

TEST_CASE("chips: a sampled chip is fixed by its seed on any thread count - mismatch adds partial-sum error",
          "[variation][imc]") {
  // A small random binary MLP (tests/imc): 192 XNOR rows per output = 3 tiles of 64 rows.
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 5);
  const auto data = imc_test::random_images(net, 40, 9);
  const auto nominal = imc::evaluate(net, data, exact_config(-1, 0), 0, 2);
  // 3x the default sigmas (125 mV per 1-fin read transistor): column currents move by several cell
  // currents' worth of spread, so the digitized partial sums (ideal converter) err more often.
  const auto a = imc::evaluate(net, data, exact_config(3.0, 7), 0, 1);
  const auto b = imc::evaluate(net, data, exact_config(3.0, 7), 0, 2);
  const auto c = imc::evaluate(net, data, exact_config(3.0, 8), 0, 2);
  CHECK(a.predictions == b.predictions);
  CHECK(a.total.ps_error_sq == b.total.ps_error_sq);  // the same chip, bit for bit
  CHECK(a.total.ps_error_sq != c.total.ps_error_sq);  // another chip
  INFO("partial-sum RMS error: nominal " << nominal.total.ps_rmse() << ", chip 7 " << a.total.ps_rmse() << ", chip 8 "
                                         << c.total.ps_rmse());
  CHECK(a.total.ps_rmse() > nominal.total.ps_rmse());
  CHECK(c.total.ps_rmse() > nominal.total.ps_rmse());
  CHECK(a.to_json().at("config").at("chip").at("seed") == 7);

  // Monte-Carlo over chips: per-chip accuracies, their mean and sample std (n - 1).
  const auto study = imc::evaluate_chips(net, data, exact_config(3.0, 7), 0, 2, 3);
  REQUIRE(study.accuracy.size() == 3);
  double m = 0, v = 0;
  for (double x : study.accuracy) m += x / 3;
  for (double x : study.accuracy) v += (x - m) * (x - m) / 2;
  CHECK(study.accuracy_mean == Approx(m));
  CHECK(study.accuracy_std == Approx(std::sqrt(v)).margin(1e-15));
  CHECK(study.seeds[0] != study.seeds[1]);
  CHECK(study.ps_rmse[0] != study.ps_rmse[1]);
  const auto j = study.to_json();
  CHECK(j.contains("accuracy_mean"));
  CHECK(j.contains("accuracy_std"));
}

TEST_CASE("chips: a chip needs exact sensing - bad sigma scales are refused naming the option", "[variation][imc][errors]") {
  const auto tech = netlist::load_technology("7nm");
  CHECK_THROWS_WITH(netlist::default_variation(tech, -1, 1, "--variation"), Catch::Contains("--variation"));
  CHECK_THROWS_WITH(netlist::default_variation(tech, 100, 1, "--variation"), Catch::Contains("--variation"));
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 5);
  auto cfg = exact_config(1.0, 1);
  cfg.sensing = imc::Sensing::ideal;
  CHECK_THROWS_WITH(imc::Simulator(net, cfg), Catch::Contains("exact sensing"));
  const auto data = imc_test::random_images(net, 2, 9);
  CHECK_THROWS_WITH(imc::evaluate_chips(net, data, exact_config(-1, 0), 0, 1, 3), Catch::Contains("variation"));
}
