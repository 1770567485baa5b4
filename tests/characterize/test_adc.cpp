#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/lut/bundle.hpp"

using namespace xbarkit;
using namespace test_helpers;
namespace fs = std::filesystem;

namespace {
lut::Bundle run(const fs::path& dir, const std::string& recipe_text, const std::string& name = "adc.toml") {
  write(dir / name, recipe_text);
  characterize::RunOptions o;
  o.output = dir / (name + ".bundle");
  o.force = true;
  o.progress = xbarkit::ProgressMode::off;
  characterize::run_characterization(dir / name, o);
  return lut::load_bundle(o.output);
}
}  // namespace

TEST_CASE("adc: ideal thresholds sit half an LSB below each code centre; no variation, no INL/DNL") {
  const auto dir = temp_dir("adc_ideal");
  const auto b = run(dir, "[characterize]\nkind = \"adc\"\n[adc]\nbits = 3\nfull_scale_A = 7e-6\ncolumns = 4\n");
  const auto& thr = b.table("thresholds");
  REQUIRE(thr.node_count() == 7);
  for (size_t t = 0; t < 7; ++t) CHECK(thr.value(t, 0) == Approx((t + 0.5) * 1e-6));
  const auto& cols = b.table("column_thresholds");
  for (size_t n = 0; n < cols.node_count(); ++n) CHECK(cols.value(n, 0) == Approx(thr.value(n % 7, 0)).epsilon(1e-15));
  const auto& p = b.table("column_params");
  for (size_t c = 0; c < 4; ++c) {
    CHECK(p.value(c, p.column_index("gain")) == 1.0);
    CHECK(p.value(c, p.column_index("inl_max_lsb")) == Approx(0).margin(1e-9));
    CHECK(p.value(c, p.column_index("dnl_max_lsb")) == Approx(0).margin(1e-9));
  }
  CHECK(b.provenance.at("kind") == "adc");
  CHECK(b.failures.empty());
  fs::remove_all(dir);
}

TEST_CASE("adc: per-column offsets and gains follow the given sigmas; INL/DNL reported in LSB") {
  const auto dir = temp_dir("adc_var");
  const auto b = run(dir, "[characterize]\nkind = \"adc\"\nseed = 9\n[adc]\nbits = 6\nfull_scale_A = 63e-6\n"
                          "columns = 2000\ncolumns_per_point = 250\nsigma_offset_lsb = 0.5\nsigma_gain = 0.02\n"
                          "sigma_dnl_lsb = 0.1\n");
  const auto& p = b.table("column_params");
  double so = 0, sg = 0, mg = 0;
  for (size_t c = 0; c < 2000; ++c) {
    so += std::pow(p.value(c, 0) / 1e-6, 2);
    mg += p.value(c, 1);
    sg += std::pow(p.value(c, 1) - 1, 2);
  }
  // 2000 draws: the sample sigma is within ~3% (1 s.e. ~1.6%) of the true one.
  CHECK(std::sqrt(so / 2000) == Approx(0.5).epsilon(0.05));
  CHECK(std::sqrt(sg / 2000) == Approx(0.02).epsilon(0.05));
  CHECK(mg / 2000 == Approx(1).epsilon(0.003));
  // DNL of sigma 0.1 LSB per threshold: the differences of two draws have sigma 0.14; the max over 62
  // codes is a few sigma.
  const double dnl = b.validation.at("worst_dnl_lsb").get<double>();
  CHECK(dnl > 0.2);
  CHECK(dnl < 1.0);
  fs::remove_all(dir);
}

TEST_CASE("adc: thresholds calibrated to an array's mean transfer land on its partial-sum midpoints") {
  const auto dir = temp_dir("adc_cal");
  // A synthetic array_ps bundle: 8 rows, mean current I(k) = 10 uA * k * (1 - 0.04 k).
  lut::Bundle a;
  a.kind = "array_ps";
  std::vector<double> ks{0, 1, 2, 3, 4, 5, 6, 7, 8}, qs{0, 1};
  lut::Table t("sram8t_r8_w1", {{"k", "1", ks}, {"q", "1", qs}}, {{"mean_A", "A"}, {"std_A", "A"}});
  lut::Table tr("sram8t_r8_w1_transfer", {{"k", "1", ks}}, {{"mean_A", "A"}, {"std_A", "A"}});
  auto I = [](double k) { return 10e-6 * k * (1 - 0.04 * k); };
  for (size_t n = 0; n < t.node_count(); ++n) t.value(n, 0) = I(t.coordinates(n)[0]);
  for (size_t n = 0; n < tr.node_count(); ++n) tr.value(n, 0) = I(ks[n]);
  t.attributes = {{"role", "array_ps"}, {"cell", "sram8t"}, {"rows", 8}, {"cols", 8}, {"wire_scale", 1.0},
                  {"full_scale_A", I(8)}, {"ideal_cell_current_A", 10e-6}, {"transfer_table", tr.name()}};
  a.tables = {t, tr};
  lut::write_bundle(dir / "array", a);
  const auto b = run(dir, "[characterize]\nkind = \"adc\"\n[adc]\nbits = 3\narray_lut = \"array\"\ncolumns = 2\n");
  const auto& thr = b.table("thresholds");
  const size_t cal = thr.column_index("calibrated_A"), ps = thr.column_index("partial_sum");
  // 3 bits over 8 rows: threshold t at k = (t - 1/2) * 8 / 7; the transfer is quadratic, so the
  // monotone cubic through its integer samples is close but not exact (PCHIP is only shape-preserving).
  for (size_t n = 0; n < 7; ++n) {
    const double k = (n + 0.5) * 8 / 7;
    CHECK(thr.value(n, ps) == Approx(k));
    CHECK(thr.value(n, cal) == Approx(I(k)).epsilon(3e-3));
  }
  // Full scale defaults to rows x ideal cell current: ideal thresholds are (t - 1/2) * 80 uA / 7.
  CHECK(thr.value(0, 0) == Approx(0.5 * 80e-6 / 7));
  CHECK(b.provenance.at("model_files").size() == 1);

  // max_count: an XNOR column of these 8 rows conducts at most 4 cells, so its ADC spans 4 counts:
  // threshold t at k = (t - 1/2) * 4 / 7, code c stands for c * 4 / 7 cells, full scale 4 cells.
  const auto h = run(dir, "[characterize]\nkind = \"adc\"\n[adc]\nbits = 3\narray_lut = \"array\"\nmax_count = 4\ncolumns = 2\n",
                     "adc_half.toml");
  const auto& hthr = h.table("thresholds");
  const auto& hcodes = h.table("codes");
  for (size_t n = 0; n < 7; ++n) {
    const double k = (n + 0.5) * 4 / 7;
    CHECK(hthr.value(n, hthr.column_index("partial_sum")) == Approx(k));
    CHECK(hthr.value(n, hthr.column_index("calibrated_A")) == Approx(I(k)).epsilon(3e-3));
  }
  CHECK(hcodes.value(7, hcodes.column_index("partial_sum")) == Approx(4.0));
  CHECK(h.info.at("full_scale_A").get<double>() == Approx(40e-6));
  CHECK(h.info.at("max_count").get<int>() == 4);
  CHECK(h.info.at("rows").get<int>() == 8);
  for (const char* bad : {"max_count = 9", "max_count = 0"})
    CHECK_THROWS_WITH(run(dir, std::string("[characterize]\nkind = \"adc\"\n[adc]\nbits = 3\narray_lut = \"array\"\n") + bad + "\n",
                          "adc_bad.toml"),
                      Catch::Contains("max_count"));
  CHECK_THROWS_WITH(run(dir, "[characterize]\nkind = \"adc\"\n[adc]\nbits = 3\nfull_scale_A = 1e-4\nmax_count = 4\n", "adc_bad2.toml"),
                    Catch::Contains("max_count"));
  fs::remove_all(dir);
}
