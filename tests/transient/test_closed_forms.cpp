// The native transient integrator and the MVS gate charge against closed forms.
#include <catch2/catch.hpp>

#include <cmath>

#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/transient/mvs_charge.hpp"
#include "xbarkit/transient/network.hpp"

using namespace xbarkit;
using namespace xbarkit::transient;

namespace {

// Linear interpolation of the first time a sampled rising waveform reaches `level`.
double first_crossing(const std::vector<double>& t, const std::vector<double>& y, double level) {
  for (size_t k = 1; k < t.size(); ++k)
    if (y[k] >= level) return t[k - 1] + (level - y[k - 1]) / (y[k] - y[k - 1]) * (t[k] - t[k - 1]);
  return NAN;
}

double trapezoid(const std::vector<double>& t, const std::vector<double>& y) {
  double s = 0;
  for (size_t k = 1; k < t.size(); ++k) s += 0.5 * (y[k] + y[k - 1]) * (t[k] - t[k - 1]);
  return s;
}

// Far end of a uniform open-ended distributed RC line (total R, C) driven by a unit step at its
// near end: v/V = 1 - (4/pi) sum_n (-1)^n/(2n+1) exp(-(2n+1)^2 pi^2 t / (4 R C)) (separation of
// variables of the diffusion equation; e.g. Sakurai, IEEE TED 40(1), 118, 1993).
double distributed_far_end(double t_over_rc) {
  double s = 0;
  for (int n = 0; n < 200; ++n) {
    const double m = 2 * n + 1;
    s += (n % 2 ? -1.0 : 1.0) / m * std::exp(-m * m * M_PI * M_PI * t_over_rc / 4);
  }
  return 1 - 4 / M_PI * s;
}

}  // namespace

TEST_CASE("RC step response: single RC and the distributed-RC limit within 1%", "[transient]") {
  const double r = 1e3, c = 1e-15, tau = r * c, v = 0.7;
  SECTION("single RC: v = V (1 - exp(-t/RC)), 50% at RC ln 2, 1% at RC ln 100") {
    Network net;
    // A step, as a ramp a millionth of RC long (its delay, half the ramp, is 5e-7 RC).
    const int src = net.add_fixed(Signal::ramp(1e-6 * tau, v));
    const int n = net.add_node();
    net.resistor(src, n, 1 / r);
    net.capacitor(n, Network::kGround, c);
    IntegrateOptions io;
    io.t_stop_s = 10 * tau;
    io.h_max_s = tau / 100;
    io.breakpoints = {1e-6 * tau};
    io.record_trajectory = true;
    const auto res = integrate(net, {src}, io);
    std::vector<double> vn;
    for (const auto& s : res.trajectory.v) vn.push_back(s[0]);
    // The integrator's own tolerance (1e-6 V local error per step) bounds the waveform error well
    // below the 1%: checked at 1e-4 of V pointwise, then the two delays at 1%.
    for (size_t k = 0; k < res.t.size(); ++k) REQUIRE(vn[k] == Approx(v * (1 - std::exp(-std::max(res.t[k] - 0.5e-6 * tau, 0.0) / tau))).margin(1e-4 * v));
    CHECK(first_crossing(res.t, vn, v / 2) == Approx(tau * std::log(2.0)).epsilon(0.01));
    CHECK(first_crossing(res.t, vn, 0.99 * v) == Approx(tau * std::log(100.0)).epsilon(0.01));
  }
  SECTION("200-segment RC ladder: Elmore delay and the distributed line's far-end response") {
    const int segs = 200;
    Network net;
    const int src = net.add_fixed(Signal::ramp(1e-7 * tau, 1.0));
    int prev = src;
    for (int k = 0; k < segs; ++k) {
      const int n = net.add_node();
      net.resistor(prev, n, segs / r);  // R/segs per segment
      net.capacitor(n, Network::kGround, c / segs);
      prev = n;
    }
    IntegrateOptions io;
    io.t_stop_s = 6 * tau;
    io.h_max_s = tau / 400;
    io.breakpoints = {1e-7 * tau};
    io.record_trajectory = true;
    const auto res = integrate(net, {src}, io);
    std::vector<double> far;
    for (const auto& s : res.trajectory.v) far.push_back(s[static_cast<size_t>(segs - 1)]);
    // Elmore delay = first moment of the impulse response = integral of (1 - v_far) dt, exactly, for
    // any RC tree; for the ladder, sum_k (R/N) (N - k + 1)(C/N) = RC (N + 1) / (2N).
    std::vector<double> gap;
    for (double y : far) gap.push_back(1 - y);
    const double elmore = tau * (segs + 1) / (2.0 * segs);
    CHECK(trapezoid(res.t, gap) == Approx(elmore).epsilon(0.01));
    // The exact distributed limit: 50% delay 0.3787 RC, 90% 1.031 RC, 99% 1.964 RC (the series above);
    // the 200-segment ladder differs by O(1/N) = 0.5%, inside the 1% the issue asks.
    auto exact_crossing = [](double level) {
      double lo = 0, hi = 10;
      for (int k = 0; k < 200; ++k) {
        const double mid = (lo + hi) / 2;
        (distributed_far_end(mid) < level ? lo : hi) = mid;
      }
      return lo;
    };
    for (double level : {0.5, 0.9, 0.99}) {
      INFO("level " << level);
      CHECK(first_crossing(res.t, far, level) == Approx(exact_crossing(level) * tau).epsilon(0.01));
    }
    CHECK(exact_crossing(0.5) == Approx(0.3787).epsilon(1e-3));
  }
}

TEST_CASE("charging C through R from a step: C V^2 from the source - half stored - half dissipated (1e-6)", "[transient]") {
  const double r = 2e3, c = 3e-15, tau = r * c, v = 0.7;
  Network net;
  // A step: a ramp 1e-9 RC long changes the source energy by ~ramp / (2 RC) = 5e-10 relative.
  const int src = net.add_fixed(Signal::ramp(1e-9 * tau, v));
  const int n = net.add_node();
  net.resistor(src, n, 1 / r);
  net.capacitor(n, Network::kGround, c);
  IntegrateOptions io;
  io.t_stop_s = 40 * tau;      // exp(-40): the charging is complete to 4e-18
  io.h_max_s = tau / 1000;     // trapezoidal quadrature of the power: error ~ (h/tau)^2 / 12 = 8e-8
  io.lte_abs_V = 1e-9;
  io.lte_rel = 1e-9;
  io.breakpoints = {1e-9 * tau};
  io.record_trajectory = true;
  const auto res = integrate(net, {src}, io);
  std::vector<double> p_src, p_r;
  for (size_t k = 0; k < res.t.size(); ++k) {
    const double i = res.fixed_current_A[0][k];
    p_src.push_back(net.fixed_signal(src).at(res.t[k]) * i);
    p_r.push_back(i * i * r);
  }
  const double cv2 = c * v * v;
  CHECK(trapezoid(res.t, p_src) == Approx(cv2).epsilon(1e-6));
  CHECK(trapezoid(res.t, p_r) == Approx(cv2 / 2).epsilon(1e-6));
  const double v_end = res.trajectory.v.back()[0];
  CHECK(0.5 * c * v_end * v_end == Approx(cv2 / 2).epsilon(1e-6));
}

TEST_CASE("MVS gate charge: capacitance - strong-inversion and subthreshold limits - nonlinear charging energy", "[transient]") {
  const auto tech = netlist::load_technology("7nm");
  const auto& p = tech.finfet("sramvt");
  const MvsGateCharge q(p, 2);
  const double cox = 2 * p.w_m * p.leff_m * p.cg_F_per_m2;
  REQUIRE(q.oxide_capacitance_F() == Approx(cox).epsilon(1e-15));
  // dQ/dV is the analytic derivative: central differences agree to 1e-6 (step 1e-5 V, error ~h^2).
  for (double v : {-0.3, 0.0, 0.3, 0.5, 0.528, 0.6, 0.7, 1.0}) {
    double qv, cv;
    q.eval(v, qv, cv);
    const double h = 1e-5;
    INFO("V = " << v);
    CHECK(cv == Approx((q.charge(v + h) - q.charge(v - h)) / (2 * h)).epsilon(1e-6));
  }
  // Strong inversion: the inversion layer screens the gate, C -> the oxide capacitance nfin W L Cg.
  double qv, cv;
  q.eval(3.0, qv, cv);
  CHECK(cv == Approx(cox).epsilon(1e-9));
  // Deep subthreshold (FF -> 1): Q -> nfin W L Cg n0 phit exp((V - Vt0 + alpha phit) / (n0 phit)); at
  // -0.6 V the transition function is 1 - 5e-6, a 2e-5 relative effect on the charge.
  const double phit = 1.380649e-23 * p.temperature_K / 1.602176634e-19;
  const double v = -0.6;
  const double closed = cox * p.n0 * phit * std::exp((v - p.vt0_V + p.alpha * phit) / (p.n0 * phit));
  CHECK(q.charge(v) == Approx(closed).epsilon(1e-4));
  // Charging the nonlinear gate from a step through R: the source delivers V (Q(V) - Q(0)) whatever
  // the shape of Q(V) (it is a charge conservation statement), checked to 1e-6.
  Network net;
  const double r = 5e3, vg = 0.7;
  const double tau = r * cox;
  const int src = net.add_fixed(Signal::ramp(1e-9 * tau, vg));
  const int g = net.add_node();
  net.resistor(src, g, 1 / r);
  net.gate_charge(g, &q);
  IntegrateOptions io;
  io.t_stop_s = 60 * tau;
  io.h_max_s = tau / 1000;
  io.lte_abs_V = 1e-9;
  io.lte_rel = 1e-9;
  io.breakpoints = {1e-9 * tau};
  const auto res = integrate(net, {src}, io);
  std::vector<double> p_src;
  for (size_t k = 0; k < res.t.size(); ++k) p_src.push_back(net.fixed_signal(src).at(res.t[k]) * res.fixed_current_A[0][k]);
  CHECK(trapezoid(res.t, p_src) == Approx(vg * (q.charge(vg) - q.charge(0))).epsilon(1e-6));
}
