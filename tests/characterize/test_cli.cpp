// The CLI's contract: clear errors and non-zero exits on bad input, JSON evidence from lut check.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include "helpers.hpp"
#include "xbarkit/core/file_io.hpp"

using namespace test_helpers;
namespace fs = std::filesystem;

namespace {

fs::path cli() {
  // The test runs from <build>/tests/characterize/test_characterize; the CLI is <build>/xbarkit.
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path() / "xbarkit";
}

struct Result {
  int code = -1;
  std::string out;
};

Result run(const std::string& args) {
  const std::string cmd = cli().string() + " " + args + " 2>&1";
  Result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST_CASE("CLI: bad recipes and damaged bundles exit non-zero with the file and the problem") {
  REQUIRE(fs::exists(cli()));
  const auto dir = temp_dir("cli");
  write(dir / "kind.toml", "[characterize]\nkind = \"spectrum\"\n");
  auto r = run("characterize " + (dir / "kind.toml").string() + " -o " + (dir / "x").string());
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("kind.toml") && Catch::Contains("unknown characterization kind 'spectrum'"));
  write(dir / "axes.toml", "[characterize]\nkind = \"array_ps\"\n[array_ps]\nrows = [16]\nwire_scale = [2, 1]\n");
  r = run("characterize " + (dir / "axes.toml").string() + " -o " + (dir / "x").string());
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("array_ps.wire_scale") && Catch::Contains("strictly increasing"));
  write(dir / "syntax.toml", "[characterize\n");
  r = run("characterize " + (dir / "syntax.toml").string() + " -o " + (dir / "x").string());
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("TOML syntax error"));

  write(dir / "ok.toml", "[characterize]\nkind = \"array_ps\"\nseed = 2\n[array_ps]\ncells = [\"sram8t\"]\nrows = [16]\n"
                         "patterns = 30\nholdout_patterns = 10\n");
  r = run("characterize " + (dir / "ok.toml").string() + " -o " + (dir / "b").string() + " --no-progress");
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("held-out check"));
  r = run("lut check " + (dir / "b").string() + " --json");
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("ok") == true);
  CHECK(j.at("nrmse_mean").get<double>() >= 0);
  CHECK(j.at("nrmse_mean").get<double>() < 0.05);
  CHECK(j.at("coverage_2sigma").get<double>() > 0.5);
  CHECK(j.at("coverage_2sigma").get<double>() <= 1.0);
  r = run("lut show " + (dir / "b").string());
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("axis k") && Catch::Contains("axis q") && Catch::Contains("mean_A"));

  // Tampered table, then a schema version from the future.
  const auto csv = dir / "b" / "tables" / "sram8t_r16_w1.csv";
  write(csv, xbarkit::read_text_file(csv) + "\n");
  r = run("lut check " + (dir / "b").string());
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("sram8t_r16_w1.csv") && Catch::Contains("SHA-256 mismatch"));
  r = run("lut check " + (dir / "b").string() + " --json");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("\"ok\": false"));
  r = run("characterize " + (dir / "ok.toml").string() + " -o " + (dir / "b").string() + " --force --no-progress");
  REQUIRE(r.code == 0);
  auto m = nlohmann::json::parse(xbarkit::read_text_file(dir / "b" / "lut.json"));
  m["schema_version"] = 99;
  write(dir / "b" / "lut.json", m.dump());
  r = run("lut show " + (dir / "b").string());
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("schema_version") && Catch::Contains("newer xbarkit"));
  fs::remove_all(dir);
}
