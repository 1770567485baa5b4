// Switching thresholds, P_sw Monte Carlo, determinism and time-step convergence.
#include <catch2/catch.hpp>

#include <cmath>

#include "mtj_test_util.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/mtj/switching.hpp"
#include "xbarkit/mtj/device.hpp"

using namespace xbarkit::mtj;

namespace {

// Lowest current that switches at T = 0 (bisection to 1e-5 relative), quasi-static 2 ns ramp.
double threshold_current(const Device& d, double lo, double hi, int& initial) {
  auto switches = [&](double i) {
    PswRequest req;
    req.currents_A = {i};
    req.pulse_s = 21e-9;
    req.rise_s = 2e-9;
    req.fall_s = 0;
    req.relax_s = 5e-9;
    req.trials = 1;
    req.dt_s = 1e-12;
    const auto r = switching_probability(d, req);
    initial = r.initial;
    return r.points[0].switched == 1;
  };
  REQUIRE_FALSE(switches(lo));
  REQUIRE(switches(hi));
  while ((hi - lo) / hi > 1e-5) {
    const double mid = 0.5 * (lo + hi);
    (switches(mid) ? hi : lo) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

TEST_CASE("perpendicular SOT threshold with in-plane field (Lee et al. 2013): 92.9 and 85.9 mT, one polarity",
          "[mtj][physics]") {
  // alpha = 1, mu0 Hk_eff = 0.2 T, T = 0: mu0 H_DL,c = mu0 Hk_eff/2 - mu0 Hx/sqrt(2).
  for (auto [hx_mT, expect_mT] : {std::pair{10.0, 92.9}, std::pair{20.0, 85.9}}) {
    Device d = mtjtest::uniaxial(0.2, 0, 1.0);
    d.h_ext_A_per_m = {hx_mT * 1e-3 / phys::mu0, 0, 0};
    const double per_A = derive(d).h_dl_per_A;
    const double i_guess = expect_mT * 1e-3 / phys::mu0 / per_A;
    int initial = 0;
    const double ic = threshold_current(d, 0.8 * i_guess, 1.2 * i_guess, initial);
    const double hdl_mT = ic * per_A * phys::mu0 * 1e3;
    INFO("Hx = " << hx_mT << " mT: simulated mu0 H_DL,c = " << hdl_mT << " mT (from " << initial << " z)");
    CHECK(hdl_mT == Approx(expect_mT).epsilon(0.01));
    WARN("Lee: Hx " << hx_mT << " mT -> simulated mu0 H_DL,c " << hdl_mT << " mT (closed form " << expect_mT << ")");
    CHECK(derive(d).ic0_A == Approx(ic).epsilon(0.01));  // the closed form `mtj info` prints
    CHECK(initial == auto_initial(d));
    // The other polarity does not switch that well, even at twice the threshold.
    PswRequest req;
    req.currents_A = {-2 * ic};
    req.pulse_s = 21e-9;
    req.rise_s = 2e-9;
    req.fall_s = 0;
    req.relax_s = 5e-9;
    req.trials = 1;
    req.initial = initial;
    CHECK(switching_probability(d, req).points[0].switched == 0);
    // And the well it starts in matters: from the other well positive current does not switch.
    req.currents_A = {2 * ic};
    req.initial = -initial;
    CHECK(switching_probability(d, req).points[0].switched == 0);
  }
}

TEST_CASE("P_sw is bit-identical for any thread count and follows the seed", "[mtj][psw]") {
  const Device d = load_device("sot_imtj_typey");
  PswRequest req;
  req.currents_A = {150e-6, 165e-6, 180e-6};
  req.pulse_s = 2e-9;
  req.trials = 48;
  req.seed = 5;
  req.threads = 1;
  const auto a = switching_probability(d, req);
  req.threads = 2;
  const auto b = switching_probability(d, req);
  req.threads = 7;
  const auto c = switching_probability(d, req);
  for (size_t k = 0; k < 3; ++k) {
    CHECK(a.points[k].switched == b.points[k].switched);
    CHECK(a.points[k].switched == c.points[k].switched);
  }
  CHECK(a.fit.i50_A == b.fit.i50_A);
  req.seed = 6;
  const auto e = switching_probability(d, req);
  int diff = 0;
  for (size_t k = 0; k < 3; ++k) diff += e.points[k].switched != a.points[k].switched;
  CHECK(diff > 0);
}

TEST_CASE("logistic fit recovers known parameters from exact expectations and flags degenerate data", "[mtj][psw]") {
  std::vector<PswPoint> pts;
  for (int k = 0; k < 11; ++k) {
    PswPoint p;
    p.current_A = 100e-6 + 4e-6 * k;
    p.trials = 100000;
    p.switched = static_cast<int>(std::lround(p.trials / (1 + std::exp(-(p.current_A - 121e-6) / 3e-6))));
    pts.push_back(p);
  }
  const auto fit = fit_logistic(pts);
  REQUIRE(fit.ok);
  CHECK(fit.i50_A == Approx(121e-6).epsilon(1e-4));
  CHECK(fit.scale_A == Approx(3e-6).epsilon(1e-3));
  CHECK(fit.chi2_per_dof < 0.1);
  CHECK(fit.i50_err_A > 0);
  for (auto& p : pts) p.switched = p.current_A > 120e-6 ? p.trials : 0;
  CHECK_FALSE(fit_logistic(pts).ok);
  for (auto& p : pts) p.switched = 0;
  CHECK_FALSE(fit_logistic(pts).ok);
}

// Halving dt must change I50 by < 0.5 %. Type-y device, 2 ns pulses (I50 ~ 219 uA, scale ~ 15 uA),
// 14 currents across I50 +- 2.5 scales x 600 trials. The two runs share their Brownian paths (the
// 1 ps run sums two 0.5 ps increments per step), so the I50 difference measures the discretization
// alone: independent streams would add ~0.25 % of pure Monte-Carlo noise to it (each fit's I50 s.e.).
TEST_CASE("time-step convergence: halving dt changes I50 by less than 0.5 %", "[mtj][psw][physics]") {
  const Device d = load_device("sot_imtj_typey");
  PswRequest req;
  for (int k = 0; k < 14; ++k) req.currents_A.push_back(180e-6 + 5.8e-6 * k);
  req.pulse_s = 2e-9;
  req.trials = 600;
  req.seed = 3;
  req.dt_s = 1e-12;
  req.noise_substeps = 2;
  const auto coarse = switching_probability(d, req);
  req.dt_s = 0.5e-12;
  req.noise_substeps = 1;
  const auto fine = switching_probability(d, req);
  REQUIRE(coarse.fit.ok);
  REQUIRE(fine.fit.ok);
  size_t changed = 0;
  for (size_t k = 0; k < fine.outcomes.size(); ++k) changed += fine.outcomes[k] != coarse.outcomes[k];
  const double rel = std::abs(coarse.fit.i50_A - fine.fit.i50_A) / fine.fit.i50_A;
  INFO("I50(1 ps) = " << coarse.fit.i50_A << " +- " << coarse.fit.i50_err_A << ", I50(0.5 ps) = " << fine.fit.i50_A
                      << " +- " << fine.fit.i50_err_A << ", relative change " << rel << "; outcomes changed: " << changed
                      << " of " << fine.outcomes.size());
  CHECK(rel < 0.005);
  // Coupling works: far fewer outcomes differ than for independent runs (2 sum n p(1-p) ~ 1500).
  CHECK(changed < fine.outcomes.size() / 20);
  CHECK(fine.fit.i50_err_A / fine.fit.i50_A < 0.005);
  WARN("dt convergence: " << coarse.fit.i50_A << " vs " << fine.fit.i50_A << " rel " << rel << " changed " << changed
                          << " scale " << fine.fit.scale_A << " chi2 " << coarse.fit.chi2_per_dof << " "
                          << fine.fit.chi2_per_dof);
}

TEST_CASE("unphysical inputs are rejected naming the file and key", "[mtj][input]") {
  const Device good = load_device("sot_pma_7nm");
  auto expect = [&](Device d, const std::string& key) {
    try {
      validate(d);
      FAIL("no error for " << key);
    } catch (const xbarkit::InputError& e) {
      CHECK(e.key() == key);
      CHECK(e.file() == good.source_file);
    }
  };
  Device d = good;
  d.ms_A_per_m = -1e6;
  expect(d, "free_layer.ms_A_per_m");
  d = good;
  d.alpha = 0;
  expect(d, "free_layer.alpha");
  d = good;
  d.thickness_m = 0;
  expect(d, "free_layer.thickness_nm");
  d = good;
  d.size_x_m = 0;
  expect(d, "free_layer.diameter_nm");
  d = good;
  d.temperature_K = -1;
  expect(d, "free_layer.temperature_K");
  d = good;
  d.default_dt_s = 50e-12;  // PMA: net field ~0.2 T -> period ~0.18 ns
  expect(d, "simulation.dt_s");
  // A request's dt is checked against the largest field of the run (here the SOT field at 5 mA).
  PswRequest req;
  req.currents_A = {5e-3};
  req.dt_s = 5e-12;
  req.dt_key = "--dt";
  try {
    switching_probability(good, req);
    FAIL("no error for a coarse dt");
  } catch (const xbarkit::InputError& e) {
    CHECK(e.key() == "--dt");
    CHECK(std::string(e.what()).find("precession period") != std::string::npos);
  }
}
