// The CLI shows the cbram_psw fit: tau0_s and v0_V in `lut show --json` and `lut check --json`.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {
struct Result {
  int code = -1;
  std::string out;
};
Result run(const std::string& args) {
  Result r;
  FILE* p = ::popen((std::string(XBARKIT_CLI) + " " + args + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}
}  // namespace

TEST_CASE("cbram_psw CLI: lut show and lut check report tau0_s and v0_V and bad recipes exit non-zero") {
  const auto dir = fs::temp_directory_path() / ("xbarkit_cbram_cli_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "r.toml") << "[characterize]\nkind = \"cbram_psw\"\nseed = 4\n[cbram_psw]\ndevices = "
                                   "[\"ag_asi_gaba2013\"]\nvoltages_V = [2.8, 3.0, 3.2]\npulses_s = [1e-4, 1e-3, 1e-2]\n"
                                   "trials = 200000\n";
  auto r = run("characterize " + (dir / "r.toml").string() + " -o " + (dir / "b").string());
  REQUIRE(r.code == 0);
  r = run("lut show --json " + (dir / "b").string());
  REQUIRE(r.code == 0);
  const auto show = nlohmann::json::parse(r.out);
  const auto& attrs = show.at("fits").at(0).at("attributes");
  // 2e5 trials on this 3x3 grid: tau0 to 2.7%, V0 to 0.14% (1 sigma; 8.5% / 0.44% at 2e4 trials),
  // so 25% / 3% are > 9 sigma: the check fails only if the fit or its reporting is wrong.
  CHECK(attrs.at("tau0_s").get<double>() == Approx(2.85e5).epsilon(0.25));
  CHECK(attrs.at("v0_V").get<double>() == Approx(0.156).epsilon(0.03));
  r = run("lut check --json " + (dir / "b").string());
  REQUIRE(r.code == 0);
  const auto check = nlohmann::json::parse(r.out);
  CHECK(check.at("validation").at("devices").at(0).at("fit").at("tau0_s") == attrs.at("tau0_s"));
  CHECK(check.at("validation").at("devices").at(0).at("chi2_vs_model").contains("chi2_per_dof"));
  r = run("lut show " + (dir / "b").string());
  CHECK(r.out.find("tau0_s") != std::string::npos);
  // A negative pulse width: exit 1, the file and key named, no bundle written.
  std::ofstream(dir / "bad.toml") << "[characterize]\nkind = \"cbram_psw\"\n[cbram_psw]\ndevices = [\"ag_asi_gaba2013\"]\n"
                                     "voltages_V = [2.8, 3.0]\npulses_s = [-1e-3, 1e-3]\n";
  r = run("characterize " + (dir / "bad.toml").string() + " -o " + (dir / "bad_out").string());
  CHECK(r.code == 1);
  CHECK(r.out.find("bad.toml") != std::string::npos);
  CHECK(r.out.find("cbram_psw.pulses_s") != std::string::npos);
  CHECK(!fs::exists(dir / "bad_out"));
  fs::remove_all(dir);
}
