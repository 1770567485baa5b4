#include <cmath>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <unistd.h>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/lut/bundle.hpp"

using namespace xbarkit;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  const auto p = fs::temp_directory_path() / ("xbarkit_cbram_kind_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}
void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }
}  // namespace

TEST_CASE("cbram_psw: the shipped recipe's LUT agrees with the closed form (chi2/dof) and the fit recovers tau0 and V0 "
          "within 5% independent of the thread count") {
  const auto dir = temp_dir("ship");
  // The shipped recipe as it is, on 1 and 2 threads.
  std::ifstream in(source_dir() / "characterization" / "cbram_psw.toml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto thr = text.find("seed = 1\n");
  REQUIRE(thr != std::string::npos);
  write(dir / "a.toml", std::string(text).insert(thr + 9, "threads = 1\n"));
  write(dir / "b.toml", std::string(text).insert(thr + 9, "threads = 2\n"));
  characterize::RunOptions o;
  o.progress = xbarkit::ProgressMode::off;
  o.output = dir / "a";
  characterize::run_characterization(dir / "a.toml", o);
  o.output = dir / "b";
  characterize::run_characterization(dir / "b.toml", o);
  const auto a = lut::load_bundle(dir / "a");
  const auto b = lut::load_bundle(dir / "b");
  CHECK(a.kind == "cbram_psw");
  CHECK(a.table("ag_asi_gaba2013_psw").data() == b.table("ag_asi_gaba2013_psw").data());
  const auto& t = a.table("ag_asi_gaba2013_psw");
  REQUIRE(t.node_count() == 9 * 11);
  const auto& v = a.validation.at("devices").at(0);
  const auto& chi = v.at("chi2_vs_model");
  const double k = chi.at("points").get<double>(), per_dof = chi.at("chi2_per_dof").get<double>();
  INFO("chi2/dof vs closed form " << per_dof << " over " << k << " points");
  CHECK(k > 30);
  CHECK(std::abs(per_dof - 1) < 5 * std::sqrt(2 / k));  // chi2/k: mean 1, sd sqrt(2/k)
  const auto& fit = v.at("fit");
  INFO("tau0 " << fit.at("tau0_s") << " V0 " << fit.at("v0_V"));
  CHECK(std::abs(fit.at("tau0_rel_deviation").get<double>()) < 0.05);
  CHECK(std::abs(fit.at("v0_rel_deviation").get<double>()) < 0.05);
  const auto& f = a.fit("ag_asi_gaba2013_tau");
  CHECK(std::exp(f.param("c0")) == Approx(fit.at("tau0_s").get<double>()));
  CHECK(-1 / f.param("c1") == Approx(fit.at("v0_V").get<double>()));
  CHECK(a.find_fit("ag_asi_gaba2013_tau")->attributes.at("tau0_s") == fit.at("tau0_s"));
  // Per-voltage tau table against the law, within 5 of its standard errors.
  const auto& tt = a.table("ag_asi_gaba2013_tau");
  for (size_t i = 0; i < tt.node_count(); ++i) CHECK(std::abs(tt.value(i, 0) - tt.value(i, 2)) < 5 * tt.value(i, 1));
  CHECK(a.provenance.at("model_files").size() == 1);
  fs::remove_all(dir);
}

TEST_CASE("cbram_psw: device population: the LUT follows the lognormal-mixture closed form") {
  const auto dir = temp_dir("pop");
  write(dir / "r.toml",
        "[characterize]\nkind = \"cbram_psw\"\nseed = 2\nthreads = 1\n[cbram_psw]\ndevices = [\"ag_asi_gaba2013\"]\n"
        "voltages_V = [2.8, 3.0, 3.2]\npulses_s = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]\ntrials = 4000\npopulation = true\n");
  characterize::RunOptions o;
  o.progress = xbarkit::ProgressMode::off;
  o.output = dir / "out";
  characterize::run_characterization(dir / "r.toml", o);
  const auto a = lut::load_bundle(dir / "out");
  const auto& chi = a.validation.at("devices").at(0).at("chi2_vs_model");
  const double k = chi.at("points").get<double>();
  CHECK(k >= 10);
  CHECK(std::abs(chi.at("chi2_per_dof").get<double>() - 1) < 5 * std::sqrt(2 / k));
  fs::remove_all(dir);
}

TEST_CASE("cbram_psw: bad recipes are refused with the recipe key") {
  auto parse = [](const std::string& body) {
    return characterize::parse_recipe("[characterize]\nkind = \"cbram_psw\"\n[cbram_psw]\n" + body, "c.toml", ".");
  };
  const std::string dev = "devices = [\"ag_asi_gaba2013\"]\n";
  CHECK_NOTHROW(parse(dev + "voltages_V = [2.8, 3.0]\npulses_s = [1e-3]\n"));
  CHECK_THROWS_WITH(parse(dev + "voltages_V = [2.8, 3.0]\npulses_s = [0, 1e-3]\n"),
                    Catch::Contains("c.toml") && Catch::Contains("cbram_psw.pulses_s") && Catch::Contains("> 0"));
  CHECK_THROWS_WITH(parse(dev + "voltages_V = [2.8, 3.0]\npulses_s = [-1e-3, 1e-3]\n"), Catch::Contains("cbram_psw.pulses_s"));
  CHECK_THROWS_WITH(parse(dev + "voltages_V = [3.0]\npulses_s = [1e-3]\n"), Catch::Contains("cbram_psw.voltages_V"));
  CHECK_THROWS_WITH(parse(dev + "voltages_V = [3.0, 2.8]\npulses_s = [1e-3]\n"),
                    Catch::Contains("cbram_psw.voltages_V") && Catch::Contains("strictly increasing"));
  CHECK_THROWS_WITH(parse(dev + "voltages_V = [2.8, 9.0]\npulses_s = [1e-3]\n"),
                    Catch::Contains("cbram_psw.voltages_V") && Catch::Contains("attempt time"));
  CHECK_THROWS_WITH(parse(dev + "voltages_V = [2.8, 3.0]\npulses_s = [1e-3]\ntrials = 0\n"), Catch::Contains("cbram_psw.trials"));
  CHECK_THROWS_WITH(parse("devices = [\"no_such_cell\"]\nvoltages_V = [2.8, 3.0]\npulses_s = [1e-3]\n"),
                    Catch::Contains("no_such_cell"));
  CHECK_THROWS_WITH(parse(dev + "voltages_V = [2.8, 3.0]\npulses_s = [1e-3]\ntrails = 10\n"), Catch::Contains("trails"));
}
