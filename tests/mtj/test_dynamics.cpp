// Deterministic (T = 0) dynamics on Boost.Odeint's own steppers, against closed forms.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <boost/numeric/odeint.hpp>

#include "mtj_test_util.hpp"
#include "xbarkit/mtj/llg.hpp"
#include "xbarkit/mtj/switching.hpp"

using namespace xbarkit::mtj;
namespace odeint = boost::numeric::odeint;

namespace {

// Least-squares slope of y(x).
double slope(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= x.size();
  my /= y.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
  return sxy / sxx;
}

// Free precession in mu0 Hz = 0.1 T, alpha = 0.01, no anisotropy/demag: fits of the unwrapped
// azimuth (frequency) and of ln tan(theta/2) (decay, exact solution tan(theta/2) ~ exp(-t/tau)).
struct PrecessionFit {
  double f_Hz, tau_s;
};
template <class Integrate>
PrecessionFit precession(Integrate integrate) {
  Device d = mtjtest::uniaxial(0.0, 0, 0.01);
  d.hk_A_per_m = 0;
  d.h_ext_A_per_m = {0, 0, 0.1 / phys::mu0};
  const LlgSystem sys(d, Pulse{0, 1e-9, 0, 0});
  const double theta0 = 1.0;  // rad: large angle, the solution is exact at any angle
  Vec3 m{std::sin(theta0), 0, std::cos(theta0)};
  std::vector<double> ts, phis, lts;
  double phi_prev = 0, turns = 0;
  auto observe = [&](const Vec3& x, double t) {
    const double phi = std::atan2(x[1], x[0]);
    if (!ts.empty() && phi - phi_prev > phys::pi) turns -= 1;
    if (!ts.empty() && phi - phi_prev < -phys::pi) turns += 1;
    phi_prev = phi;
    const double theta = std::acos(std::clamp(x[2] / norm(x), -1.0, 1.0));
    ts.push_back(t);
    phis.push_back(phi + 2 * phys::pi * turns);
    lts.push_back(std::log(std::tan(theta / 2)));
  };
  integrate(sys, m, observe);
  return {std::abs(slope(ts, phis)) / (2 * phys::pi), -1.0 / slope(ts, lts)};
}

}  // namespace

TEST_CASE("damped precession at 0.1 T, alpha 0.01: 2.8022 GHz and 5.680 ns (RK4 and Dormand-Prince)",
          "[mtj][physics]") {
  // f = gamma0 H / (2 pi (1 + alpha^2)), tau = (1 + alpha^2) / (alpha gamma0 H) (docs/REFERENCES.md §4).
  const double h = 0.1 / phys::mu0;
  const double f_exact = phys::gamma0 * h / (2 * phys::pi * (1 + 1e-4));
  const double tau_exact = (1 + 1e-4) / (0.01 * phys::gamma0 * h);
  // 2.80226 GHz with gamma0 = 2.2128e5 exactly; the published 2.8022 uses gamma0 to 4-5 digits.
  CHECK(f_exact == Approx(2.8022e9).epsilon(5e-5));
  CHECK(tau_exact == Approx(5.680e-9).epsilon(1e-4));

  SECTION("runge_kutta4, dt = 0.1 ps over 10 ns") {
    const auto fit = precession([](const LlgSystem& sys, Vec3& m, auto observe) {
      odeint::integrate_const(odeint::runge_kutta4<Vec3>(), std::cref(sys), m, 0.0, 10e-9, 1e-13, observe);
    });
    // Issue tolerances: 0.1 % and 0.5 %; RK4 at 0.1 ps is far better (global error ~ (w dt)^4).
    CHECK(fit.f_Hz == Approx(2.8022e9).epsilon(1e-3));
    CHECK(fit.tau_s == Approx(5.680e-9).epsilon(5e-3));
    CHECK(fit.f_Hz == Approx(f_exact).epsilon(1e-6));
    CHECK(fit.tau_s == Approx(tau_exact).epsilon(1e-6));
  }
  SECTION("runge_kutta_dopri5 with error control (dense output every 1 ps) over 10 ns") {
    const auto fit = precession([](const LlgSystem& sys, Vec3& m, auto observe) {
      auto stepper = odeint::make_dense_output(1e-10, 1e-10, odeint::runge_kutta_dopri5<Vec3>());
      odeint::integrate_const(stepper, std::cref(sys), m, 0.0, 10e-9, 1e-12, observe);
    });
    CHECK(fit.f_Hz == Approx(2.8022e9).epsilon(1e-3));
    CHECK(fit.tau_s == Approx(5.680e-9).epsilon(5e-3));
    CHECK(fit.f_Hz == Approx(f_exact).epsilon(1e-6));
    CHECK(fit.tau_s == Approx(tau_exact).epsilon(1e-6));
  }
}

// Ballistic (T = 0, above-threshold) anti-damping switching of a uniaxial macrospin with the spin
// polarization along the easy axis: the polar angle obeys exactly
//   d theta/dt = g' sin(theta) (H_DL - alpha H_K cos(theta)),
// so the time from theta0 to pi/2 is t = (1/g') int dtheta / (sin theta (H_DL - alpha H_K cos theta)).
// Sun (PRB 62, 570, 2000) approximates it by ln(pi/(2 theta0)) / (g' (H_DL - alpha H_K)).
TEST_CASE("ballistic switching time matches the exact macrospin integral", "[mtj][physics]") {
  Device d = mtjtest::uniaxial(0.1, 0, 0.02);
  d.easy_axis = 1;  // along sigma = +y
  const Derived der = derive(d);
  const double gp = phys::gamma0 / (1 + d.alpha * d.alpha);
  const double theta0 = 0.01;
  for (double i : {1.5, 3.0, 6.0}) {
    const double hdl = i * d.alpha * d.hk_A_per_m;  // i = I / Ic0, Ic0 from H_DL,c = alpha H_K
    const LlgSystem sys(d, Pulse{hdl / der.h_dl_per_A, 1.0, 0, 0});
    // Start theta0 away from -y (positive current pushes towards +y).
    Vec3 m{std::sin(theta0), -std::cos(theta0), 0};
    const double t_exact = mtjtest::simpson(
        [&](double th) { return 1.0 / (gp * std::sin(th) * (hdl - d.alpha * d.hk_A_per_m * std::cos(th))); }, theta0,
        phys::pi / 2, 200000);
    // Dormand-Prince with dense output, sampled every 0.1 ps; linear interpolation of the crossing.
    auto stepper = odeint::make_dense_output(1e-11, 1e-11, odeint::runge_kutta_dopri5<Vec3>());
    double t_cross = -1, t_prev = 0, y_prev = m[1];
    odeint::integrate_const(stepper, std::cref(sys), m, 0.5, 0.5 + 3 * t_exact, 1e-13, [&](const Vec3& x, double t) {
      if (t_cross < 0 && y_prev < 0 && x[1] >= 0) t_cross = t_prev + (t - t_prev) * (-y_prev) / (x[1] - y_prev) - 0.5;
      t_prev = t;
      y_prev = x[1];
    });
    const double t_sun = std::log(phys::pi / (2 * theta0)) / (gp * (hdl - d.alpha * d.hk_A_per_m));
    INFO("i = " << i << ": simulated " << t_cross << " s, exact " << t_exact << " s, Sun's estimate " << t_sun << " s");
    CHECK(t_cross == Approx(t_exact).epsilon(1e-3));
    WARN("ballistic i=" << i << " sim " << t_cross << " exact " << t_exact << " sun " << t_sun);
  }
}
