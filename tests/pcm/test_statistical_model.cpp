// The PCM statistical model (xbarkit/pcm/statistical_model.hpp), each equation against the
// statistics of its own draws: drift exponents (folded normal of mu_nu(g), sigma_nu(g)), programming
// noise sigma_prog(g), the power-law drift recovered over decades, and the growth of the 1/f read
// noise with time.
//
// Tolerances: a sample mean is compared with its expectation within 4 standard errors (SE = s/sqrt(N));
// a sample standard deviation s with sigma within 4 SE of s, SE(s) = sqrt((m4 - s^4) / N) / (2 s)
// (delta method on the sample variance, m4 the sample fourth central moment: no normality assumed).
// A 4-SE two-sided band is exceeded with probability 6e-5 per check for a correct model; the seeds
// are fixed, so a pass is reproducible, and a model error of a few SE fails.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <unistd.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/pcm/statistical_model.hpp"

using namespace xbarkit;
using namespace xbarkit::pcm;

namespace {
struct Moments {
  double mean = 0, sd = 0, se_mean = 0, se_sd = 0;
};
Moments moments(const std::vector<double>& v) {
  const double n = static_cast<double>(v.size());
  double m = 0;
  for (double x : v) m += x;
  m /= n;
  double m2 = 0, m4 = 0;
  for (double x : v) {
    const double d = (x - m) * (x - m);
    m2 += d, m4 += d * d;
  }
  m2 /= n, m4 /= n;
  Moments r;
  r.mean = m;
  r.sd = std::sqrt(m2 * n / (n - 1));
  r.se_mean = r.sd / std::sqrt(n);
  r.se_sd = std::sqrt(std::max(m4 - m2 * m2, 0.0) / n) / (2 * r.sd);
  return r;
}
double phi_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
constexpr double kPi = 3.14159265358979323846;
constexpr int kN = 20000;
}  // namespace

TEST_CASE("PCM model: mu_nu(g), sigma_nu(g), sigma_prog(g), Q_s(g) are the published fits with their clips", "[pcm]") {
  const PcmModel m;
  const double gmax = m.g_max_S;
  // Inside the clips: the linear-in-ln(g) fits.
  CHECK(m.nu_mean(0.1 * gmax) == Approx(-0.0155 * std::log(0.1) + 0.0244).epsilon(1e-14));
  CHECK(m.nu_sigma(0.1 * gmax) == Approx(-0.0125 * std::log(0.1) - 0.0059).epsilon(1e-14));
  // Clipped: mu_nu in [0.049, 0.1], sigma_nu in [0.008, 0.045].
  CHECK(m.nu_mean(gmax) == 0.049);
  CHECK(m.nu_sigma(gmax) == 0.008);
  CHECK(m.nu_mean(1e-4 * gmax) == 0.1);
  CHECK(m.nu_sigma(1e-4 * gmax) == 0.045);
  CHECK(m.nu_mean(0.0) == 0.1);  // g = 0 is clipped to 1e-7 inside the log
  // sigma_prog: the quadratic in g, in uS at G_max = 25 uS.
  for (double g : {0.0, 0.25, 0.5, 1.0})
    CHECK(m.sigma_prog_S(g * gmax) == Approx((0.26348 + 1.9650 * g - 1.1731 * g * g) * 1e-6).epsilon(1e-14));
  PcmModel m50 = m;
  m50.g_max_S = 50e-6;  // polynomial fitted at 25 uS: sigma scales with G_max
  CHECK(m50.sigma_prog_S(0.5 * 50e-6) == Approx(2 * m.sigma_prog_S(0.5 * gmax)).epsilon(1e-14));
  CHECK(m.q_s(0.5 * gmax) == Approx(0.0088 / std::pow(0.5, 0.65)).epsilon(1e-14));
  CHECK(m.q_s(1e-3 * gmax) == 0.2);  // capped
  CHECK(m.read_noise_growth(3600) == Approx(std::sqrt(std::log((3600 + 250e-9) / (2 * 250e-9)))).epsilon(1e-14));
  CHECK(m.read_noise_growth(100e-9) == 0);  // t < t_r: nothing accumulated yet
}

TEST_CASE("PCM model: sample mean and sigma of the drift exponent vs g match the folded normal of mu_nu, sigma_nu", "[pcm]") {
  const PcmModel m;
  for (double g : {0.002, 0.02, 0.1, 0.3, 0.6, 1.0}) {
    const std::vector<double> targets(kN, g * m.g_max_S);
    const auto dev = program(m, targets, 11);
    std::vector<double> nu;
    for (const auto& d : dev) nu.push_back(d.nu);
    const auto s = moments(nu);
    // nu = |mu + sigma Z|: folded normal mean and variance (Leone, Nelson & Nottingham,
    // Technometrics 3, 543, 1961).
    const double mu = m.nu_mean(g * m.g_max_S), sg = m.nu_sigma(g * m.g_max_S);
    const double mean = sg * std::sqrt(2 / kPi) * std::exp(-mu * mu / (2 * sg * sg)) + mu * (1 - 2 * phi_cdf(-mu / sg));
    const double sd = std::sqrt(mu * mu + sg * sg - mean * mean);
    INFO("g = " << g << ": nu mean " << s.mean << " (expected " << mean << ", SE " << s.se_mean << "), sd " << s.sd
                << " (expected " << sd << ", SE " << s.se_sd << ")");
    CHECK(std::abs(s.mean - mean) <= 4 * s.se_mean);
    CHECK(std::abs(s.sd - sd) <= 4 * s.se_sd);
    for (double v : nu) REQUIRE(v >= 0);
  }
  PcmModel off = m;
  off.drift_scale = 0;
  CHECK(program(off, std::vector<double>(10, 5e-6), 3)[7].nu == 0);
}

TEST_CASE("PCM model: sample sigma of the programming error vs g matches sigma_prog(g)", "[pcm]") {
  const PcmModel m;
  // g >= 0.1: G_T is >= 5.6 sigma_prog above 0, so the clip at 0 touches < 1e-8 of the draws.
  for (double g : {0.1, 0.25, 0.5, 0.75, 1.0}) {
    const double gt = g * m.g_max_S;
    const auto dev = program(m, std::vector<double>(kN, gt), 12);
    std::vector<double> err;
    for (const auto& d : dev) err.push_back(d.g_prog_S - gt);
    const auto s = moments(err);
    INFO("g = " << g << ": error mean " << s.mean << " S (SE " << s.se_mean << "), sd " << s.sd << " S vs sigma_prog "
                << m.sigma_prog_S(gt) << " (SE " << s.se_sd << ")");
    CHECK(std::abs(s.mean) <= 4 * s.se_mean);
    CHECK(std::abs(s.sd - m.sigma_prog_S(gt)) <= 4 * s.se_sd);
  }
  // At g = 0 the clip at 0 S keeps half of the draws at exactly 0 (binomial, 4 SE of 0.5).
  const auto dev = program(m, std::vector<double>(kN, 0.0), 13);
  int zeros = 0;
  for (const auto& d : dev) {
    REQUIRE(d.g_prog_S >= 0);
    zeros += d.g_prog_S == 0;
  }
  CHECK(std::abs(zeros / double(kN) - 0.5) <= 4 * std::sqrt(0.25 / kN));
}

TEST_CASE("PCM model: the drift exponent is recovered from G(t) over six decades", "[pcm]") {
  const PcmModel m;
  const auto dev = program(m, {1e-6, 5e-6, 12.5e-6, 25e-6}, 21);
  for (const auto& d : dev) {
    // Least-squares slope of ln G against ln t at t = t0 10^k, k = 0..6.
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    const int n = 7;
    for (int k = 0; k < n; ++k) {
      const double t = m.t0_s * std::pow(10.0, k);
      const double x = std::log(t), y = std::log(drifted_S(m, d, t));
      sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    INFO("nu " << d.nu << ", fitted slope " << slope);
    CHECK(-slope == Approx(d.nu).epsilon(1e-10));  // exact power law: rounding only
    CHECK(drifted_S(m, d, m.t0_s) == d.g_prog_S);
    CHECK(drifted_S(m, d, 1.0) == d.g_prog_S);  // before the first read at t0 the fit does not apply
  }
}

TEST_CASE("PCM model: the read noise grows with t as sqrt(ln((t + t_r) / (2 t_r)))", "[pcm]") {
  const PcmModel m;
  // A device at g = 0.5 (Q_s = 0.0218): even after a year the relative sigma is 0.12, so the clip at
  // 0 S is > 8 sigma away.
  const ProgrammedDevice d{0.5 * m.g_max_S, 0.06};
  const std::vector<ProgrammedDevice> devs(kN, d);
  for (double t : {1e-6, 1.0, 25.0, 3600.0, 86400.0, 3.15e7}) {
    const auto g = read(m, devs, t, 31);
    const double gt = drifted_S(m, d, t);
    std::vector<double> rel;
    for (double v : g) rel.push_back(v / gt - 1);
    const auto s = moments(rel);
    const double expected = m.q_s(d.g_prog_S) * std::sqrt(std::log((t + 250e-9) / (2 * 250e-9)));
    INFO("t = " << t << " s: relative read-noise sd " << s.sd << " vs " << expected << " (SE " << s.se_sd << ")");
    CHECK(std::abs(s.mean) <= 4 * s.se_mean);
    CHECK(std::abs(s.sd - expected) <= 4 * s.se_sd);
  }
}

TEST_CASE("PCM model: explicit seeds give the same devices on any thread count - bad input is refused", "[pcm]") {
  const PcmModel m;
  std::vector<double> targets(1000);
  for (size_t k = 0; k < targets.size(); ++k) targets[k] = m.g_max_S * static_cast<double>(k) / 999.0;
  const auto serial = program(m, targets, 77);
  const auto reads = read(m, serial, 3600, 78);
  // Two threads, each programming and reading half the devices by index.
  std::vector<ProgrammedDevice> par(targets.size());
  std::vector<double> par_reads(targets.size());
  auto work = [&](size_t lo, size_t hi) {
    for (size_t k = lo; k < hi; ++k) {
      par[k] = program_device(m, targets[k], 77, k);
      par_reads[k] = read_device(m, par[k], 3600, 78, k);
    }
  };
  std::thread a(work, 0, 500), b(work, 500, 1000);
  a.join(), b.join();
  for (size_t k = 0; k < targets.size(); ++k) {
    REQUIRE(par[k].g_prog_S == serial[k].g_prog_S);
    REQUIRE(par[k].nu == serial[k].nu);
    REQUIRE(par_reads[k] == reads[k]);
  }
  CHECK(program(m, targets, 79)[500].g_prog_S != serial[500].g_prog_S);  // another seed, other draws

  CHECK_THROWS_WITH(program(m, {26e-6}, 1), Catch::Contains("outside [0, G_max"));
  CHECK_THROWS_WITH(program(m, {-1e-9}, 1), Catch::Contains("outside [0, G_max"));
  CHECK_THROWS_WITH(drifted_S(m, serial[3], 0.0), Catch::Contains("> 0"));
  CHECK_THROWS_WITH(read(m, serial, -5.0, 1), Catch::Contains("> 0"));
  PcmModel bad = m;
  bad.read_noise_scale = -1;
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("read_noise_scale") && Catch::Contains(">= 0"));
  bad = m;
  bad.prog_c0_uS = -2;
  CHECK_THROWS_WITH(program(bad, targets, 1), Catch::Contains("negative programming sigma"));
}

TEST_CASE("PCM model: the shipped device file is the published model - bad files name the file and key", "[pcm]") {
  const auto m = load_pcm_model("joshi2020");
  const PcmModel d;
  CHECK(m.g_max_S == d.g_max_S);
  CHECK(m.t0_s == d.t0_s);
  CHECK(m.t_read_s == d.t_read_s);
  CHECK(m.prog_c0_uS == d.prog_c0_uS);
  CHECK(m.prog_c1_uS == d.prog_c1_uS);
  CHECK(m.prog_c2_uS == d.prog_c2_uS);
  CHECK(m.prog_noise_scale == 1);
  CHECK(m.drift_scale == 1);
  CHECK(m.read_noise_scale == 1);
  const auto dir = std::filesystem::temp_directory_path() / ("xbarkit_pcm_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    const auto p = dir / name;
    std::ofstream(p) << text;
    return p.string();
  };
  CHECK_THROWS_WITH(load_pcm_model(write("a.toml", "[model]\ng_max_S = 25e-6\ndrift = 1.0\n")),
                    Catch::Contains("a.toml") && Catch::Contains("drift"));
  CHECK_THROWS_WITH(load_pcm_model(write("b.toml", "[model]\nread_noise_scale = -0.5\n")),
                    Catch::Contains("b.toml") && Catch::Contains("read_noise_scale") && Catch::Contains(">= 0"));
  CHECK_THROWS_WITH(load_pcm_model(write("c.toml", "[model]\nprog_coefficients_uS = [0.2, 1.0]\n")),
                    Catch::Contains("prog_coefficients_uS") && Catch::Contains("3 numbers"));
  CHECK_THROWS_WITH(load_pcm_model(write("d.toml", "[model]\nt0_s = 0\n")), Catch::Contains("t0_s") && Catch::Contains("> 0"));
  CHECK_THROWS_WITH(load_pcm_model("no_such_device"), Catch::Contains("not found"));
  std::filesystem::remove_all(dir);
}
