// Defect 10: the zero-temperature path (Dormand-Prince) did not keep |m| = 1; in the anti-damping
// regime |m| collapsed, giving spurious reversals at half the critical current and a wrong start
// for biased in-plane devices (type-y with 0.5 mT along x: mx = 0.072 instead of 0.0126).
#include <catch2/catch.hpp>

#include <cmath>

#include "xbarkit/mtj/constants.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/mtj/llg.hpp"
#include "xbarkit/mtj/switching.hpp"

using namespace xbarkit::mtj;

namespace {

Device biased_typey() {
  Device d = load_device("sot_imtj_typey");
  d.temperature_K = 0;
  d.h_ext_A_per_m = {0.5e-3 / phys::mu0, 0, 0};  // 0.5 mT in-plane, across the easy axis
  return d;
}

// sin(theta) = Hx / (H_K + Ms (Nx - Ny)): the in-plane equilibrium tilt of a y-easy-axis macrospin
// in a field Hx along x, from d(energy)/d(theta) = 0 with m = (sin theta, cos theta, 0).
double exact_tilt_x(const Device& d) {
  return d.h_ext_A_per_m[0] / (d.hk_A_per_m + d.ms_A_per_m * (d.demag[0] - d.demag[1]));
}

// Independent reference: classical RK4 at a fixed 20 fs step (about 1/4000 of the precession period
// here), m renormalized after each step. Returns the first time m.u crosses from the start's sign.
double rk4_first_passage(const LlgSystem& sys, Vec3 m, int axis, double t_end) {
  const double h = 20e-15;
  const double sign = m[axis] > 0 ? 1 : -1;
  double t = 0;
  Vec3 k1, k2, k3, k4;
  while (t < t_end) {
    sys(m, k1, t);
    sys(m + (0.5 * h) * k1, k2, t + 0.5 * h);
    sys(m + (0.5 * h) * k2, k3, t + 0.5 * h);
    sys(m + h * k3, k4, t + h);
    const Vec3 next = normalized(m + (h / 6) * (k1 + 2.0 * k2 + 2.0 * k3 + k4));
    if (next[axis] * sign < 0) return t + h * (m[axis] / (m[axis] - next[axis]));
    m = next;
    t += h;
  }
  return NAN;
}

}  // namespace

TEST_CASE("T = 0: the biased type-y device starts at the exact equilibrium tilt", "[reliability][mtj]") {
  const Device d = biased_typey();
  const double sx = exact_tilt_x(d);
  INFO("exact mx " << sx);
  REQUIRE(sx == Approx(0.0126).epsilon(0.02));  // the value the campaign expected
  for (int sign : {1, -1}) {
    const Vec3 m = equilibrium(d, sign);
    CHECK(norm(m) == Approx(1).margin(1e-12));
    // 40 relaxation times of an error-controlled (1e-10) integration: 1e-7 absolute is generous.
    CHECK(m[0] == Approx(sx).margin(1e-7));
    CHECK(m[1] * sign > 0.99);
  }
}

TEST_CASE("T = 0: type-y reversal time agrees with an independent RK4 integration, |m| stays 1",
          "[reliability][mtj]") {
  const Device d = biased_typey();
  const Derived der = derive(d);
  const int initial = auto_initial(d);
  const double sx = exact_tilt_x(d);
  const Vec3 m0{sx, initial * std::sqrt(1 - sx * sx), 0};
  for (double ratio : {2.0, 3.0, 5.0}) {
    TraceRequest req;
    req.current_A = ratio * der.ic0_A;
    req.pulse_s = 10e-9;
    req.dt_s = 1e-13;
    req.relax_s = 1e-9;
    req.thermal_initial = false;
    req.initial = initial;
    const auto tr = trace(d, req);
    for (const auto& s : tr.samples) REQUIRE(norm(s.m) == Approx(1).margin(1e-12));
    const LlgSystem sys(d, Pulse{req.current_A, req.pulse_s, req.rise_s, req.fall_s});
    const double t_ref = rk4_first_passage(sys, m0, d.easy_axis, 11e-9);
    INFO("I/Ic0 = " << ratio << ": Dormand-Prince " << tr.first_passage_s << " s, RK4 " << t_ref << " s");
    REQUIRE(std::isfinite(t_ref));
    CHECK(tr.switched);
    // Both integrators are accurate to far better than 1e-6 relative here; the tolerance covers
    // the linear interpolation of the crossing between accepted Dormand-Prince steps.
    CHECK(tr.first_passage_s == Approx(t_ref).epsilon(2e-4));
  }
}

TEST_CASE("T = 0: no reversal at half the critical current, reversal at twice it", "[reliability][mtj]") {
  const Device d = biased_typey();
  const double ic0 = derive(d).ic0_A;
  PswRequest req;
  req.currents_A = {0.5 * ic0, 0.9 * ic0, 2 * ic0};
  req.pulse_s = 10e-9;
  req.trials = 4;
  req.thermal_initial = false;
  const auto r = switching_probability(d, req);
  REQUIRE(r.points.size() == 3);
  CHECK(r.points[0].p_switch == 0);  // was 1 when |m| collapsed
  CHECK(r.points[1].p_switch == 0);
  CHECK(r.points[2].p_switch == 1);
  CHECK(std::isnan(r.points[0].mean_first_passage_s));
  CHECK(r.points[2].mean_first_passage_s > 0);
  CHECK(r.points[2].mean_first_passage_s < 10e-9);
}

TEST_CASE("mtj info: a device switched by collinear STT alone has a finite critical current", "[reliability][mtj]") {
  Device d = load_device("sot_imtj_typey");
  d.hm.spin_hall_angle = 0;  // no SOT: only spin-transfer through the stack
  d.stt.polarization = 0.5;
  d.stt.reference = {0, 1, 0};
  d.stt.current_ratio = 1;
  const Derived r = derive(d);
  REQUIRE(std::isfinite(r.ic0_A));
  // Slonczewski: a_J per ampere = hbar P / (2 e mu0 Ms t A); I_c0 = alpha (H1 + H2) / 2 / a_J.
  const double area = phys::pi / 4 * d.size_x_m * d.size_y_m;
  const double aj = phys::hbar * 0.5 / (2 * phys::e * phys::mu0 * d.ms_A_per_m * d.thickness_m * area);
  const double hc = d.alpha * (r.stiffness1_A_per_m + r.stiffness2_A_per_m) / 2;
  CHECK(r.ic0_A == Approx(hc / aj).epsilon(1e-12));
  CHECK_THAT(r.ic0_model, Catch::Contains("STT"));
  // The SOT-only device keeps its value.
  const Device sot = load_device("sot_imtj_typey");
  const Derived rs = derive(sot);
  CHECK(rs.ic0_A == Approx(rs.h_dl_c_A_per_m / rs.h_dl_per_A).epsilon(1e-12));
}
