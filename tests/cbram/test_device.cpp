#include <cmath>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <unistd.h>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/cbram/switching.hpp"
#include "xbarkit/core/error.hpp"

using namespace xbarkit;
using namespace xbarkit::cbram;
namespace fs = std::filesystem;

namespace {

Device nominal() {
  Device d;
  d.tau0_s = 2.85e5;
  d.v0_V = 0.156;
  return d;
}

fs::path write_device(const std::string& name, const std::string& text) {
  const auto dir = fs::temp_directory_path() / ("xbarkit_cbram_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto p = dir / (name + ".toml");
  std::ofstream(p) << text;
  return p;
}

const std::string kGood =
    "[switching]\ntau0_s = 2.85e5\nv0_V = 0.156\n[operation]\nprogram_voltage_V = 3.0\nmax_pulse_s = 0.02\n";

}  // namespace

TEST_CASE("cbram: the shipped Ag/a-Si device loads with the published tau0 and V0") {
  const auto d = load_device("ag_asi_gaba2013");
  CHECK(d.tau0_s == 2.85e5);
  CHECK(d.v0_V == 0.156);
  // tau(3 V) = 2.85e5 exp(-3 / 0.156) = 1.27 ms (hand evaluation of the law).
  CHECK(d.tau_s(3.0) == Approx(2.85e5 * std::exp(-3.0 / 0.156)).epsilon(1e-12));
  CHECK(d.tau_s(3.0) == Approx(1.27e-3).epsilon(0.01));
}

TEST_CASE("cbram: closed forms: P_sw(tau) = 1 - 1/e and pulse_for_probability inverts P_sw and the lognormal mean") {
  auto d = nominal();
  const double V = 3.0, tau = d.tau_s(V);
  CHECK(p_switch(d, V, tau) == Approx(1 - std::exp(-1.0)).epsilon(1e-14));
  for (double p : {1e-6, 0.1, 0.5, 0.9, 0.999999}) CHECK(p_switch(d, V, pulse_for_probability(d, p, V)) == Approx(p).epsilon(1e-12));
  // Gauss-Hermite quadrature against E[exp(sigma z)] = exp(sigma^2 / 2); 64 nodes integrate this
  // smooth integrand to round-off for sigma <= 1.
  for (double s : {0.1, 0.5, 1.0}) {
    auto f = [](double factor, const void*) { return factor; };
    CHECK(lognormal_expectation(s, f, nullptr) == Approx(std::exp(s * s / 2)).epsilon(1e-10));
  }
  // With cycle-to-cycle spread the inverse is numerical (bisection) and still exact.
  d.tau0_c2c_sigma_ln = 0.7;
  for (double p : {0.01, 0.5, 0.95}) CHECK(p_switch(d, V, pulse_for_probability(d, p, V)) == Approx(p).epsilon(1e-9));
  CHECK_THROWS_WITH(pulse_for_probability(d, 1.0, V), Catch::Contains("[0, 1)"));
  CHECK_THROWS_WITH(pulse_for_probability(d, -0.1, V), Catch::Contains("[0, 1)"));
}

TEST_CASE("cbram: Monte Carlo P_sw agrees with the closed form within binomial error (chi2/dof)") {
  // Nominal device, device population and a cycle-to-cycle spread: Pearson chi^2 over a (V, t) grid
  // against p_switch / p_switch_population. For k points chi^2/k has mean 1 and sd sqrt(2/k); the
  // bound 1 +- 5 sd fails for a wrong law (e.g. a 3% error in tau at 20000 trials gives chi2/dof ~ 10).
  auto d = nominal();
  d.tau0_d2d_sigma_ln = 0.5;
  for (int mode = 0; mode < 3; ++mode) {
    Device dm = d;
    if (mode == 2) dm.tau0_c2c_sigma_ln = 0.4;
    const bool population = mode == 1;
    std::vector<SwitchCount> counts;
    std::vector<double> model;
    uint64_t seed = 100 * mode;
    for (double V : {2.8, 3.0, 3.2})
      for (double t_rel : {0.05, 0.2, 0.5, 1.0, 2.0, 4.0}) {
        const double t = t_rel * dm.tau_s(V);
        counts.push_back(count_switching(dm, V, t, 20000, population, ++seed));
        model.push_back(population ? p_switch_population(dm, V, t) : p_switch(dm, V, t));
      }
    const auto chi = pearson_chi2(counts, model);
    const double k = static_cast<double>(chi.points), per_dof = chi.chi2 / k;
    INFO("mode " << mode << ": chi2/dof = " << per_dof << " over " << chi.points << " points");
    CHECK(chi.points == 18);
    CHECK(std::abs(per_dof - 1) < 5 * std::sqrt(2 / k));
  }
}

TEST_CASE("cbram: binomial MLE of tau(V) recovers tau0 and V0 within 5% and within 4 standard errors") {
  // tau0 is the law extrapolated to V = 0: d ln tau0 = (V/V0) d(V0)/V0 ~ 19x the V0 error at 3 V, so
  // 5% on tau0 needs ~1e5 trials per point (2000 trials give ~7% standard error on tau0).
  const auto d = load_device("ag_asi_gaba2013");
  std::vector<SwitchCount> counts;
  uint64_t seed = 7;
  for (double V = 2.6; V <= 3.41; V += 0.1)
    for (double t : {1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1})
      counts.push_back(count_switching(d, V, t, 100000, false, ++seed));
  const auto f = fit_tau_law(counts);
  REQUIRE(f.ok);
  INFO("tau0 = " << f.tau0_s << " (+- " << f.tau0_rel_err * 100 << "%), V0 = " << f.v0_V << " (+- " << f.v0_rel_err * 100
                 << "%), chi2/dof = " << f.chi2_per_dof);
  CHECK(std::abs(f.tau0_s / d.tau0_s - 1) < 0.05);
  CHECK(std::abs(f.v0_V / d.v0_V - 1) < 0.05);
  CHECK(std::abs(std::log(f.tau0_s / d.tau0_s)) < 4 * f.tau0_rel_err);
  CHECK(std::abs(f.v0_V / d.v0_V - 1) < 4 * f.v0_rel_err);
  const double k = static_cast<double>(f.points_used - 2);
  CHECK(std::abs(f.chi2_per_dof - 1) < 5 * std::sqrt(2 / k));
  // Per-voltage tau: the 1-parameter MLE at 3.0 V within 4 of its standard errors of the law.
  std::vector<SwitchCount> at3;
  for (const auto& c : counts)
    if (std::abs(c.voltage_V - 3.0) < 1e-9) at3.push_back(c);
  const auto t3 = fit_tau_at_voltage(at3);
  CHECK(std::abs(t3.tau_s - d.tau_s(at3.front().voltage_V)) < 4 * t3.tau_err_s);
}

TEST_CASE("cbram: a failed RESET keeps the cell in LRS: stationary P(1) = p / (1 - q (1 - p))") {
  auto d = nominal();
  d.reset_failure_probability = 0.3;
  const double V = 3.0, p = 0.4, t = pulse_for_probability(d, p, V);
  Rng rng(5);
  Cell c;
  int64_t ones = 0, pairs11 = 0, prev1 = 0;
  bool prev = false;
  const int64_t n = 400000;
  for (int64_t k = 0; k < n; ++k) {
    const bool b = c.bit(d, V, t, rng);
    ones += b;
    if (prev) ++prev1, pairs11 += b;
    prev = b;
  }
  const double q = d.reset_failure_probability;
  const double pi = p / (1 - q * (1 - p));
  // Markov chain with positive lag-1 correlation: the standard error is larger than the binomial one
  // by sqrt((1 + rho) / (1 - rho)), rho = q (1 - p); 5 of those.
  const double rho = q * (1 - p);
  CHECK(std::abs(static_cast<double>(ones) / n - pi) < 5 * std::sqrt(pi * (1 - pi) / n * (1 + rho) / (1 - rho)));
  const double p11 = q + (1 - q) * p;  // P(1 | previous 1)
  CHECK(std::abs(static_cast<double>(pairs11) / prev1 - p11) < 5 * std::sqrt(p11 * (1 - p11) / prev1));
}

TEST_CASE("cbram: device files with unphysical or missing constants are refused with file and key") {
  CHECK_NOTHROW(load_device(write_device("good", kGood)));
  auto bad = [](const std::string& name, const std::string& text, const std::string& key, const std::string& what) {
    const auto p = write_device(name, text);
    CHECK_THROWS_WITH(load_device(p), Catch::Contains(p.string()) && Catch::Contains(key) && Catch::Contains(what));
  };
  bad("neg_tau0", "[switching]\ntau0_s = -1\nv0_V = 0.156\n[operation]\nprogram_voltage_V = 3\nmax_pulse_s = 0.02\n",
      "switching.tau0_s", "> 0");
  bad("zero_v0", "[switching]\ntau0_s = 2.85e5\nv0_V = 0\n[operation]\nprogram_voltage_V = 3\nmax_pulse_s = 0.02\n",
      "switching.v0_V", "> 0");
  bad("huge_v0", "[switching]\ntau0_s = 2.85e5\nv0_V = 50\n[operation]\nprogram_voltage_V = 3\nmax_pulse_s = 0.02\n",
      "switching.v0_V", "physical range");
  bad("fast", "[switching]\ntau0_s = 2.85e5\nv0_V = 0.156\n[operation]\nprogram_voltage_V = 7\nmax_pulse_s = 0.02\n",
      "operation.program_voltage_V", "attempt time");
  bad("pulse", "[switching]\ntau0_s = 2.85e5\nv0_V = 0.156\n[operation]\nprogram_voltage_V = 3\nmax_pulse_s = 0\n",
      "operation.max_pulse_s", "> 0");
  bad("sigma", kGood + "[variation]\ntau0_d2d_sigma_ln = 4\n", "variation.tau0_d2d_sigma_ln", "[0, 3]");
  bad("reset", kGood + "[variation]\nreset_failure_probability = 1.0\n", "variation.reset_failure_probability", "[0, 1)");
  bad("read", "[switching]\ntau0_s = 2.85e5\nv0_V = 0.156\n[operation]\nprogram_voltage_V = 3\nmax_pulse_s = 0.02\n"
              "read_voltage_V = 2.5\n",
      "operation.read_voltage_V", "SET the cell");
  bad("typo", kGood + "[variation]\ntau0_d2d_sigma = 0.1\n", "tau0_d2d_sigma", "");
  bad("missing", "[switching]\ntau0_s = 2.85e5\n[operation]\nprogram_voltage_V = 3\nmax_pulse_s = 0.02\n", "v0_V", "");
  bad("inf", "[switching]\ntau0_s = inf\nv0_V = 0.156\n[operation]\nprogram_voltage_V = 3\nmax_pulse_s = 0.02\n",
      "switching.tau0_s", "finite");
  CHECK_THROWS_WITH(load_device("no_such_cbram"), Catch::Contains("no_such_cbram") && Catch::Contains("not found"));
}
