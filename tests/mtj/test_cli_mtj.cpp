// `xbarkit mtj info|trace|psw` through the built executable.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

struct Run {
  int status;
  std::string out;  // stdout only
  std::string all;  // stdout + stderr
};

Run run(const std::string& args) {
  auto exec = [](const std::string& cmd) {
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string out;
    std::array<char, 4096> buf;
    while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
    const int st = ::pclose(p);
    return std::pair{WIFEXITED(st) ? WEXITSTATUS(st) : 128, out};
  };
  const auto [st, out] = exec(std::string(XBARKIT_CLI) + " " + args + " 2>/dev/null");
  const auto [st2, all] = exec(std::string(XBARKIT_CLI) + " " + args + " 2>&1");
  (void)st2;
  return {st, out, all};
}

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("xbarkit_mtj_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("mtj info --json has delta, hk_eff_A_per_m and ic0_A for the shipped devices", "[mtj][cli]") {
  for (const char* dev : {"sot_pma_7nm", "sot_imtj_typey"}) {
    const auto r = run(std::string("mtj info ") + dev + " --json");
    REQUIRE(r.status == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j.at("delta").get<double>() > 30);
    CHECK(j.at("delta").get<double>() < 80);
    CHECK(j.at("hk_eff_A_per_m").get<double>() > 0);
    CHECK(j.at("ic0_A").get<double>() > 1e-5);
    CHECK(j.at("ic0_A").get<double>() < 1e-3);
  }
  const auto text = run("mtj info sot_pma_7nm");
  CHECK(text.status == 0);
  CHECK(text.out.find("delta") != std::string::npos);
}

TEST_CASE("mtj psw --json: points with stderr, fit, identical for 1 and 2 threads", "[mtj][cli]") {
  const std::string args = "mtj psw sot_imtj_typey --currents 140u:200u:4 --pulse 2n --trials 24 --seed 9 --json";
  const auto a = run(args + " --threads 1");
  const auto b = run(args + " --threads 2");
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  REQUIRE(ja.at("points").size() == 4);
  for (const auto& p : ja.at("points")) {
    CHECK(p.contains("current_A"));
    CHECK(p.contains("p_switch"));
    CHECK(p.contains("stderr"));
  }
  CHECK(ja.at("fit").contains("i50_A"));
  CHECK(ja.at("fit").contains("scale_A"));
  CHECK(ja.at("points") == jb.at("points"));
  CHECK(ja.at("fit") == jb.at("fit"));
  CHECK(ja.at("points")[0].at("current_A").get<double>() == Approx(140e-6));
  CHECK(ja.at("points")[3].at("current_A").get<double>() == Approx(200e-6));
}

TEST_CASE("mtj trace writes m(t) as CSV; a failed run leaves no file", "[mtj][cli]") {
  const auto dir = scratch("trace");
  const auto csv = dir / "trace.csv";
  const auto r = run("mtj trace sot_imtj_typey --current 300u --pulse 2n -o " + csv.string());
  REQUIRE(r.status == 0);
  std::ifstream in(csv);
  std::string header, first, line, last;
  std::getline(in, header);
  std::getline(in, header);
  CHECK(header == "t_s,current_A,mx,my,mz");
  std::getline(in, first);
  int rows = 1;
  while (std::getline(in, line)) last = line, ++rows;
  CHECK(rows > 100);
  // 300 uA is ~2 x Ic0: the type-y free layer switches from -y to +y.
  double t, i, mx, my, mz;
  char c;
  std::istringstream(first) >> t >> c >> i >> c >> mx >> c >> my >> c >> mz;
  CHECK(my < -0.9);
  std::istringstream(last) >> t >> c >> i >> c >> mx >> c >> my >> c >> mz;
  CHECK(my > 0.9);
  CHECK(std::abs(mx * mx + my * my + mz * mz - 1) < 1e-6);

  const auto bad = dir / "bad.csv";
  const auto e = run("mtj trace sot_imtj_typey --current 300u --pulse 2n --dt 50p -o " + bad.string());
  CHECK(e.status == 1);
  CHECK(e.all.find("--dt") != std::string::npos);
  CHECK(e.all.find("precession period") != std::string::npos);
  CHECK_FALSE(fs::exists(bad));
}

TEST_CASE("mtj rejects unphysical device files naming the file and key", "[mtj][cli][input]") {
  const auto dir = scratch("bad");
  std::ifstream src(fs::path(XBARKIT_SOURCE_DIR) / "models/mtj/sot_pma_7nm.toml");
  std::stringstream ss;
  ss << src.rdbuf();
  const std::string good = ss.str();
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto pos = s.find(from);
    REQUIRE(pos != std::string::npos);
    s.replace(pos, from.size(), to);
    const auto path = dir / "dev.toml";
    std::ofstream(path) << s;
    return run("mtj info " + path.string());
  };
  struct Case {
    std::string from, to, key;
  };
  for (const auto& c : {Case{"ms_A_per_m = 1.1e6", "ms_A_per_m = -1.1e6", "free_layer.ms_A_per_m"},
                        Case{"alpha = 0.02", "alpha = 0.0", "free_layer.alpha"},
                        Case{"thickness_nm = 1.0", "thickness_nm = 0.0", "free_layer.thickness_nm"},
                        Case{"temperature_K = 300.0", "temperature_K = -4.0", "free_layer.temperature_K"},
                        Case{"dt_s = 1e-12", "dt_s = 5e-11", "simulation.dt_s"},
                        Case{"alpha = 0.02", "alpha = 0.02\nalhpa = 0.03", "free_layer.alhpa"}}) {
    const auto r = with(c.from, c.to);
    INFO(r.all);
    CHECK(r.status == 1);
    CHECK(r.all.find("dev.toml") != std::string::npos);
    CHECK(r.all.find(c.key) != std::string::npos);
  }
  const auto r = run("mtj psw sot_pma_7nm --currents 1u:2u:x --pulse 1n");
  CHECK(r.status == 1);
  CHECK(r.all.find("--currents") != std::string::npos);
}
