#pragma once
// Macrospin Landau-Lifshitz-Gilbert-Slonczewski system in the Landau-Lifshitz form of docs/REFERENCES.md §4:
//
//   dm/dt = -g' [ m x H + alpha m x (m x H) ]
//           - g' [ (H_DL + alpha H_FL) m x (m x sigma) + (H_FL - alpha H_DL) m x sigma ],   g' = gamma0/(1+alpha^2)
//
//   H = H_K (m.u) u - Ms N m + H_ext + H_Oe + H_th,   H_DL = hbar theta_SH J / (2 e mu0 Ms t_F), H_FL = beta H_DL.
//
// Optional STT adds the same two torques with sigma -> reference-layer direction p and
// H_DL -> a_J = hbar P J_MTJ / (2 e mu0 Ms t_F) (no field-like part); optional VCMA lowers H_K during
// the pulse by 2 xi V / (t_ox mu0 Ms t_F). Using m x (m x Y) = m (m.Y) - Y the right-hand side is
//   dm/dt = -g' [ m x (H + s_FL) + m (m.Y) - Y ],   Y = alpha H + s_DL,
// with s_DL, s_FL the spin-torque vectors at the present current: two cross/dot products per call.
//
// LlgSystem is a Boost.Odeint system (operator()(m, dmdt, t)) for the deterministic steppers and has
// drift(m, h_extra, dmdt, t) for the stochastic steppers, which pass the thermal field as h_extra.
#include <algorithm>

#include "xbarkit/mtj/constants.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/mtj/vec3.hpp"

namespace xbarkit::mtj {

// Trapezoidal write pulse: linear rise, flat top, linear fall, then no current. `width_s` is the full
// width at half maximum, so the flat top lasts width - (rise + fall)/2.
struct Pulse {
  double amplitude_A = 0;
  double width_s = 0;
  double rise_s = 0;
  double fall_s = 0;

  double flat_s() const { return width_s - 0.5 * (rise_s + fall_s); }
  double end_s() const { return rise_s + flat_s() + fall_s; }
  // Fraction of the amplitude at time t (t = 0 is the start of the rise).
  double shape(double t) const {
    if (t <= 0) return 0.0;
    if (t < rise_s) return t / rise_s;
    const double t_fall = rise_s + flat_s();
    if (t <= t_fall) return 1.0;
    const double t_end = t_fall + fall_s;
    if (t < t_end) return (t_end - t) / fall_s;
    return 0.0;
  }
};

class LlgSystem {
public:
  LlgSystem(const Device& d, const Pulse& pulse) : pulse_(pulse) {
    alpha_ = d.alpha;
    gp_ = phys::gamma0 / (1 + d.alpha * d.alpha);
    axis_ = d.easy_axis;
    hk_ = d.hk_A_per_m;
    msn_ = {d.ms_A_per_m * d.demag[0], d.ms_A_per_m * d.demag[1], d.ms_A_per_m * d.demag[2]};
    h_ext_ = d.h_ext_A_per_m;
    const Derived der = derive(d);
    const double I = pulse.amplitude_A;
    // SOT, sigma = +y for current along +x (device.hpp convention).
    const Vec3 sigma{0, 1, 0};
    const double h_dl = der.h_dl_per_A * I;
    const double h_fl = d.hm.field_like_ratio * h_dl;
    s_dl_ = (h_dl + alpha_ * h_fl) * sigma;
    s_fl_ = (h_fl - alpha_ * h_dl) * sigma;
    // STT through the stack (Slonczewski damping-like term only).
    if (d.stt.polarization > 0 && d.stt.current_ratio != 0) {
      const double j = d.stt.current_ratio * I / der.area_m2;
      const double a_j = phys::hbar * d.stt.polarization * j / (2 * phys::e * phys::mu0 * d.ms_A_per_m * d.thickness_m);
      s_dl_ = s_dl_ + a_j * d.stt.reference;
      s_fl_ = s_fl_ + (-alpha_ * a_j) * d.stt.reference;
    }
    // Oersted field of the strip just above its surface: -I/(2w) y for current along +x.
    if (d.hm.oersted) h_oe_ = Vec3{0, -I / (2 * d.hm.width_m), 0};
    // VCMA: dKi = -xi V / t_ox  ->  dH_K = 2 dKi / (mu0 Ms t_F).
    if (d.vcma.coefficient_J_per_V_m != 0 && d.vcma.voltage_V != 0)
      dhk_ = -2 * d.vcma.coefficient_J_per_V_m * d.vcma.voltage_V / d.vcma.barrier_thickness_m /
             (phys::mu0 * d.ms_A_per_m * d.thickness_m);
  }

  const Pulse& pulse() const { return pulse_; }
  double alpha() const { return alpha_; }
  double gamma_prime() const { return gp_; }

  // Effective field without the thermal part.
  Vec3 field(const Vec3& m, double w) const {
    Vec3 h{h_ext_[0] - msn_[0] * m[0] + w * h_oe_[0], h_ext_[1] - msn_[1] * m[1] + w * h_oe_[1],
           h_ext_[2] - msn_[2] * m[2] + w * h_oe_[2]};
    h[axis_] += (hk_ + w * dhk_) * m[axis_];
    return h;
  }

  // dm/dt with an extra field (the thermal field of the stochastic steppers).
  void drift(const Vec3& m, const Vec3& h_extra, Vec3& dmdt, double t) const {
    const double w = pulse_.shape(t);
    Vec3 h = field(m, w);
    h[0] += h_extra[0];
    h[1] += h_extra[1];
    h[2] += h_extra[2];
    const Vec3 p{h[0] + w * s_fl_[0], h[1] + w * s_fl_[1], h[2] + w * s_fl_[2]};
    const Vec3 y{alpha_ * h[0] + w * s_dl_[0], alpha_ * h[1] + w * s_dl_[1], alpha_ * h[2] + w * s_dl_[2]};
    const double my = dot(m, y);
    dmdt[0] = -gp_ * (m[1] * p[2] - m[2] * p[1] + m[0] * my - y[0]);
    dmdt[1] = -gp_ * (m[2] * p[0] - m[0] * p[2] + m[1] * my - y[1]);
    dmdt[2] = -gp_ * (m[0] * p[1] - m[1] * p[0] + m[2] * my - y[2]);
  }

  // Boost.Odeint system signature (T = 0).
  void operator()(const Vec3& m, Vec3& dmdt, double t) const { drift(m, Vec3{0, 0, 0}, dmdt, t); }

private:
  Pulse pulse_;
  double alpha_ = 0, gp_ = 0, hk_ = 0, dhk_ = 0;
  int axis_ = 2;
  Vec3 msn_{}, h_ext_{}, h_oe_{}, s_dl_{}, s_fl_{};
};

}  // namespace xbarkit::mtj
