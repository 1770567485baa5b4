#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/lut/bundle.hpp"

using namespace xbarkit::lut;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / fmt::format("xbarkit_lut_{}_{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

Bundle sample_bundle() {
  Bundle b;
  b.kind = "test";
  b.provenance = {{"recipe_sha256", "abc"}, {"seed", 5}};
  Table t("curve", {{"k", "1", {0, 1, 2}}, {"z", "1", {0, 0.5, 1}}}, {{"mean_A", "A"}, {"std_A", "A"}});
  for (size_t n = 0; n < t.node_count(); ++n) {
    t.value(n, 0) = 1e-6 * n + 1.0 / 3;
    t.value(n, 1) = 1e-8 * n;
  }
  t.attributes = {{"cell", "sram8t"}};
  t.preferred_interp = Interp::monotone_cubic;
  b.tables.push_back(t);
  const std::vector<double> x{0, 1, 2, 3}, y{0, 0.2, 0.8, 1};
  b.fits.push_back({"psw", fit_logistic(x, y), {{"pulse_s", 1e-9}}});
  b.failures.push_back({"point 3", "Newton did not converge"});
  b.files.push_back({"recipe.toml", "kind = \"test\"\n"});
  b.validation = {{"nrmse_mean", 0.004}};
  return b;
}

void overwrite(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

}  // namespace

TEST_CASE("bundle round trip keeps tables, fits, failures, files and provenance") {
  const auto root = temp_dir("roundtrip");
  const auto dir = root / "b";
  const auto b = sample_bundle();
  write_bundle(dir, b);
  CHECK(fs::exists(dir / "lut.json"));
  CHECK(fs::exists(dir / "tables" / "curve.csv"));
  const auto r = load_bundle(dir);
  CHECK(r.kind == "test");
  CHECK(r.provenance == b.provenance);
  REQUIRE(r.tables.size() == 1);
  CHECK(r.table("curve").data() == b.tables[0].data());
  CHECK(r.table("curve").axes()[1].points == b.tables[0].axes()[1].points);
  CHECK(r.table("curve").attributes == b.tables[0].attributes);
  CHECK(r.table("curve").preferred_interp == Interp::monotone_cubic);
  CHECK(r.fit("psw").param("x50") == b.fits[0].fit.param("x50"));
  CHECK(r.fit("psw").rms_residual == b.fits[0].fit.rms_residual);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].error == "Newton did not converge");
  CHECK(r.find_file("recipe.toml")->content == "kind = \"test\"\n");
  CHECK(r.validation == b.validation);
  CHECK_THROWS_WITH(r.table("nope"), Catch::Contains("no table 'nope'") && Catch::Contains("curve"));
  fs::remove_all(root);
}

TEST_CASE("rewriting a bundle replaces it atomically and leaves no temporary directories") {
  const auto root = temp_dir("replace");
  const auto dir = root / "b";
  auto b = sample_bundle();
  write_bundle(dir, b);
  overwrite(dir / "stale.txt", "from an older run");
  b.tables[0].value(0, 0) = 42;
  write_bundle(dir, b);
  CHECK(load_bundle(dir).table("curve").value(0, 0) == 42);
  CHECK_FALSE(fs::exists(dir / "stale.txt"));
  int entries = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
  fs::remove_all(root);
}

TEST_CASE("a bundle whose files do not match their hashes is rejected, naming the file") {
  const auto root = temp_dir("tamper");
  const auto dir = root / "b";
  write_bundle(dir, sample_bundle());
  auto csv = xbarkit::read_text_file(dir / "tables" / "curve.csv");
  csv[csv.size() - 2] = csv[csv.size() - 2] == '1' ? '2' : '1';
  overwrite(dir / "tables" / "curve.csv", csv);
  CHECK_THROWS_WITH(load_bundle(dir), Catch::Contains("curve.csv") && Catch::Contains("SHA-256 mismatch"));
  write_bundle(dir, sample_bundle());
  overwrite(dir / "recipe.toml", "kind = \"edited\"\n");
  CHECK_THROWS_WITH(load_bundle(dir), Catch::Contains("recipe.toml") && Catch::Contains("SHA-256 mismatch"));
  write_bundle(dir, sample_bundle());
  fs::remove(dir / "tables" / "curve.csv");
  CHECK_THROWS_WITH(load_bundle(dir), Catch::Contains("curve.csv") && Catch::Contains("missing"));
  fs::remove_all(root);
}

TEST_CASE("schema versions from the future and non-bundles are refused") {
  const auto root = temp_dir("schema");
  const auto dir = root / "b";
  write_bundle(dir, sample_bundle());
  auto j = nlohmann::json::parse(xbarkit::read_text_file(dir / "lut.json"));
  j["schema_version"] = kSchemaVersion + 1;
  overwrite(dir / "lut.json", j.dump());
  CHECK_THROWS_WITH(load_bundle(dir), Catch::Contains("schema_version") && Catch::Contains("newer xbarkit"));
  j["schema_version"] = "1";
  overwrite(dir / "lut.json", j.dump());
  CHECK_THROWS_WITH(load_bundle(dir), Catch::Contains("not an integer"));
  j["schema_version"] = 1;
  j["schema"] = "something-else";
  overwrite(dir / "lut.json", j.dump());
  CHECK_THROWS_WITH(load_bundle(dir), Catch::Contains("not an xbarkit LUT bundle"));
  overwrite(dir / "lut.json", "{ not json");
  CHECK_THROWS_WITH(load_bundle(dir), Catch::Contains("not valid JSON"));
  fs::remove(dir / "lut.json");
  CHECK_THROWS_WITH(load_bundle(dir), Catch::Contains("no lut.json"));
  CHECK_THROWS_WITH(load_bundle(root / "absent"), Catch::Contains("not a directory"));
  fs::remove_all(root);
}

TEST_CASE("unsafe table and file names are refused before anything is written") {
  auto b = sample_bundle();
  b.files.push_back({"../escape.txt", "x"});
  const auto root = temp_dir("unsafe");
  CHECK_THROWS_WITH(write_bundle(root / "b", b), Catch::Contains("plain relative path"));
  CHECK_FALSE(fs::exists(root / "b"));
  auto c = sample_bundle();
  c.tables.push_back(c.tables[0]);
  CHECK_THROWS_WITH(write_bundle(root / "b", c), Catch::Contains("two tables"));
  fs::remove_all(root);
}

TEST_CASE("column features: centroid 0 nearest the sense end, 1 farthest; axis values for the reader") {
  const int rows = 8, cols = 2;
  std::vector<uint8_t> in(rows, 1), w(rows * cols, 0);
  // Column 0: the bottom 3 rows (nearest the sense node); column 1: the top 3.
  for (int i = 5; i < 8; ++i) w[i * cols + 0] = 1;
  for (int i = 0; i < 3; ++i) w[i * cols + 1] = 1;
  const auto f0 = column_features(rows, cols, 0, in, w);
  const auto f1 = column_features(rows, cols, 1, in, w);
  const LoadNormalizer norm(rows, RailWeights{0, 1});  // both rails referenced at the bottom (sram8t)
  CHECK(f0.k == 3);
  CHECK(axis_value("z", f0, norm) == 0.0);
  CHECK(axis_value("z", f1, norm) == 1.0);
  CHECK(axis_value("q", f0, norm) == 0.0);
  CHECK(axis_value("q", f1, norm) == 1.0);
  CHECK(axis_value("column", f1, norm) == 1.0);
  CHECK(axis_value("activity", f0, norm) == 1.0);
  CHECK(axis_value("hrs", f0, norm) == 1.0);  // all 5 non-conducting cells sit on active rows
  CHECK_THROWS_WITH(axis_value("colour", f0, norm), Catch::Contains("unknown array_ps axis"));
  in[0] = 0;  // row 0 inactive: column 1 keeps rows 1, 2
  const auto g1 = column_features(rows, cols, 1, in, w);
  CHECK(g1.k == 2);
  CHECK(axis_value("activity", g1, norm) == Approx(7.0 / 8));
  CHECK(axis_value("hrs", g1, norm) == Approx(5.0 / 6));
  // Distances 6 and 7 of rows 1,2; nearest-2 sum 3, farthest-2 sum 15 -> (13 - 3) / 12.
  CHECK(axis_value("z", g1, norm) == Approx(10.0 / 12));
  CHECK(centroid_z(rows, 0, 0) == 0.5);
  CHECK(centroid_z(rows, rows, 36) == 0.5);
  for (const char* name : {"k", "q", "hrs", "z", "column", "activity"}) CHECK(axis_name(*parse_axis(name)) == name);
  CHECK(!parse_axis("colour"));
}

TEST_CASE("ArrayPsLut finds configurations and predicts by interpolation") {
  Bundle b;
  b.kind = "array_ps";
  Table t("sram8t_r8_w1", {{"k", "1", {0, 1, 2, 3, 4, 5, 6, 7, 8}}, {"q", "1", {0, 1}}}, {{"mean_A", "A"}, {"std_A", "A"}});
  for (size_t n = 0; n < t.node_count(); ++n) {
    const auto x = t.coordinates(n);
    t.value(n, 0) = 1e-5 * x[0] * (1 - 0.1 * x[1]);
    t.value(n, 1) = 1e-7;
  }
  t.attributes = {{"role", "array_ps"}, {"cell", "sram8t"}, {"rows", 8}, {"cols", 8}, {"wire_scale", 1.0},
                  {"full_scale_A", 8e-5}, {"rail_weight_top", 0.0}, {"rail_weight_bottom", 1.0}};
  b.tables.push_back(t);
  const ArrayPsLut lut(b);
  const auto& cfg = lut.find("sram8t", 8);
  CHECK_THROWS_WITH(lut.find("sram8t", 64), Catch::Contains("no table for sram8t with 64 rows") && Catch::Contains("8 rows"));
  const std::vector<int> far{0, 1, 2};  // top block: the most IR loss, q = 1
  const auto f = column_features_from_rows(8, 8, 0, 8, far);
  const auto p = lut.predict(cfg, f);
  CHECK(p.mean_A == Approx(3e-5 * 0.9));
  CHECK(p.std_A == Approx(1e-7));
  xbarkit::Rng rng(1);
  double s = 0;
  for (int i = 0; i < 2000; ++i) s += lut.sample(cfg, f, rng);
  CHECK(s / 2000 == Approx(2.7e-5).epsilon(1e-3));
  Bundle wrong = b;
  wrong.kind = "adc";
  CHECK_THROWS_WITH(ArrayPsLut(wrong), Catch::Contains("expected 'array_ps'"));
}
