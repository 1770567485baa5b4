#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/lut/bundle.hpp"
#include "xbarkit/core/error.hpp"

using namespace xbarkit::characterize;

namespace {
LoadedRecipe parse(const std::string& text) { return parse_recipe(text, "r.toml", "."); }
}  // namespace

TEST_CASE("malformed recipes get errors naming the file, the key and the problem") {
  CHECK_THROWS_WITH(parse("[characterize\nkind = 1"), Catch::Contains("r.toml") && Catch::Contains("line 1"));
  CHECK_THROWS_WITH(parse("[adc]\nbits = 4\n"), Catch::Contains("characterize") && Catch::Contains("missing"));
  CHECK_THROWS_WITH(parse("[characterize]\nkind = \"bogus\"\n"),
                    Catch::Contains("characterize.kind") && Catch::Contains("unknown characterization kind 'bogus'") &&
                        Catch::Contains("array_ps") && Catch::Contains("adc"));
  CHECK_THROWS_WITH(parse("[characterize]\nkind = \"adc\"\n"), Catch::Contains("adc") && Catch::Contains("missing"));
  CHECK_THROWS_WITH(parse("[characterize]\nkind = \"adc\"\nsede = 3\n[adc]\nbits = 4\nfull_scale_A = 1e-3\n"),
                    Catch::Contains("characterize.sede") && Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(parse("[characterize]\nkind = \"adc\"\n[adc]\nbits = 4\nfull_scale_A = 1e-3\nsigma_gian = 0.1\n"),
                    Catch::Contains("adc.sigma_gian") && Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(parse("[characterize]\nkind = \"adc\"\n[adc]\nbits = 40\nfull_scale_A = 1e-3\n"),
                    Catch::Contains("adc.bits"));
  CHECK_THROWS_WITH(parse("[characterize]\nkind = \"adc\"\n[adc]\nbits = 4\nfull_scale_A = 1e-3\n[array_ps]\nrows = 8\n"),
                    Catch::Contains("array_ps") && Catch::Contains("this recipe's kind is 'adc'"));
  CHECK_THROWS_WITH(parse("[characterize]\nkind = \"adc\"\nseed = -1\n[adc]\nbits = 4\nfull_scale_A = 1e-3\n"),
                    Catch::Contains("characterize.seed"));
}

TEST_CASE("array_ps recipes: axes with non-increasing points and unknown axes are refused") {
  const std::string head = "[characterize]\nkind = \"array_ps\"\n[array_ps]\nrows = [16]\n";
  CHECK_THROWS_WITH(parse(head + "wire_scale = [1.0, 0.5]\n"),
                    Catch::Contains("array_ps.wire_scale") && Catch::Contains("strictly increasing"));
  CHECK_THROWS_WITH(parse(head + "wire_scale = [1.0, 1.0]\n"), Catch::Contains("strictly increasing"));
  CHECK_THROWS_WITH(parse(head + "axes = [\"k\", \"colour\"]\n"), Catch::Contains("array_ps.axes") && Catch::Contains("colour"));
  CHECK_THROWS_WITH(parse(head + "axes = [\"q\"]\n"), Catch::Contains("must include k"));
  CHECK_THROWS_WITH(parse(head + "cells = [\"dram\"]\n"), Catch::Contains("array_ps.cells") && Catch::Contains("dram"));
  CHECK_THROWS_WITH(parse(head + "input_density = [0.8, 0.2]\n"), Catch::Contains("array_ps.input_density"));
  CHECK_THROWS_WITH(parse(head + "[array_ps.spice_check]\nrows = 32\n"),
                    Catch::Contains("spice_check.rows") && Catch::Contains("not one of the recipe's rows"));
  CHECK_THROWS_WITH(parse("[characterize]\nkind = \"array_ps\"\n[array_ps]\nrows = [1]\n"), Catch::Contains("array_ps.rows"));
  const auto ok = parse(head + "cells = [\"sram8t\", \"rram1t1r\"]\nwire_scale = [0.5, 1]\npatterns = 20\n"
                               "holdout_patterns = 5\npatterns_per_point = 10\n");
  // Per configuration: 3 anchor arrays (16 rows x 16 cols: 34 anchor columns) in one point, 2 training
  // points, 1 held-out point.
  CHECK(ok.kind->points().size() == 4 * (1 + 2 + 1));
  CHECK(ok.kind->points()[0].id == "sram8t_r16_w0p5/anchors/0");
}

TEST_CASE("cell_iv: the transistor tables come from ngspice and match the MVS check values") {
  const auto dir = test_helpers::temp_dir("cell_iv");
  test_helpers::write(dir / "r.toml", "[characterize]\nkind = \"cell_iv\"\n[cell_iv]\ncells = [\"rram1t1r\"]\n"
                                      "v_min = 0.0\nv_max = 0.7\nstep = 0.05\n");
  RunOptions o;
  o.output = dir / "b";
  o.progress = xbarkit::ProgressMode::off;
  run_characterization(dir / "r.toml", o);
  const auto b = xbarkit::lut::load_bundle(dir / "b");
  const auto& on = b.table("rram1t1r_rvt_vg0.7");
  const auto& off = b.table("rram1t1r_rvt_vg0");
  // docs/REFERENCES.md §1: RVT, one fin, Vgs = Vds = 0.7 V: 37.85 uA; the access transistor has 2 fins.
  const std::vector<double> sat{0.7, 0.0};
  CHECK(on.interpolate(sat, "id_A") == Approx(2 * 37.85e-6).epsilon(0.01));
  CHECK(std::abs(off.interpolate(sat, "id_A")) < 1e-9);
  CHECK(b.find_file("rram1t1r_rvt.iv.json") != nullptr);
  std::filesystem::remove_all(dir);
}
