#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/lut/bundle.hpp"

using namespace xbarkit;
using namespace test_helpers;
namespace fs = std::filesystem;

TEST_CASE("mtj_psw: P_sw rises from 0 to 1 across the critical current - fit inside the sweep - thread-count independent") {
  const auto dir = temp_dir("mtj");
  const std::string body =
      "[mtj_psw]\ndevices = [\"sot_imtj_typey\"]\ncurrent_range_ic0 = [0.4, 2.0]\ncurrent_points = 9\n"
      "pulses_s = [5e-9]\ntrials = 40\n";
  write(dir / "a.toml", "[characterize]\nkind = \"mtj_psw\"\nseed = 3\nthreads = 1\n" + body);
  write(dir / "b.toml", "[characterize]\nkind = \"mtj_psw\"\nseed = 3\nthreads = 2\n" + body);
  characterize::RunOptions o;
  o.progress = xbarkit::ProgressMode::off;
  o.output = dir / "a";
  characterize::run_characterization(dir / "a.toml", o);
  o.output = dir / "b";
  characterize::run_characterization(dir / "b.toml", o);
  const auto a = lut::load_bundle(dir / "a");
  const auto b = lut::load_bundle(dir / "b");
  CHECK(a.table("sot_imtj_typey_psw").data() == b.table("sot_imtj_typey_psw").data());
  const auto& t = a.table("sot_imtj_typey_psw");
  REQUIRE(t.node_count() == 9);
  CHECK(t.value(0, 0) < 0.1);   // 0.4 ic0 for 5 ns: no switching (thermally stable device)
  CHECK(t.value(8, 0) > 0.9);   // 2 ic0: switches
  const auto& f = a.fit("sot_imtj_typey_5ns");
  const auto& currents = t.axes()[1].points;
  CHECK(f.param("x50") > currents.front());
  CHECK(f.param("x50") < currents.back());
  CHECK(f.param("scale") > 0);
  CHECK(f.residuals.size() == 9);
  CHECK(f.rms_residual < 0.15);
  CHECK(a.provenance.at("model_files").size() == 1);
  fs::remove_all(dir);
}

TEST_CASE("mtj_psw: bad device references and time steps are reported with the recipe key") {
  CHECK_THROWS_WITH(characterize::parse_recipe("[characterize]\nkind = \"mtj_psw\"\n[mtj_psw]\ndevices = [\"no_such_device\"]\n",
                                               "m.toml", "."),
                    Catch::Contains("no_such_device"));
  CHECK_THROWS_WITH(characterize::parse_recipe("[characterize]\nkind = \"mtj_psw\"\n[mtj_psw]\ndevices = [\"sot_pma_7nm\"]\n"
                                               "pulses_s = [5e-9, 2e-9]\n",
                                               "m.toml", "."),
                    Catch::Contains("mtj_psw.pulses_s") && Catch::Contains("strictly increasing"));
  CHECK_THROWS_WITH(characterize::parse_recipe("[characterize]\nkind = \"mtj_psw\"\n[mtj_psw]\ndevices = [\"sot_pma_7nm\"]\n"
                                               "dt_s = 1e-10\n",
                                               "m.toml", "."),
                    Catch::Contains("dt_s"));
}
