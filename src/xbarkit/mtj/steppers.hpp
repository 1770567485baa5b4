#pragma once
// Stochastic steppers for the thermal LLGS, written to Boost.Odeint's Stepper concept (the same shape
// as the stochastic_euler example in Odeint's documentation): state_type/deriv_type/value_type/
// time_type/order_type, stepper_category = stepper_tag, and do_step(system, x, t, dt), so they run
// under odeint::integrate_const / integrate_n_steps like any Odeint stepper.
//
// The system is a pair (drift, noise):
//   drift.drift(x, h, dxdt, t)  deterministic right-hand side with an extra field h added to H
//   noise(h, dt)                fills h with this step's Brown thermal field (variance ~ 1/dt)
// Either member may be a std::reference_wrapper (make_pair(std::ref(sys), std::ref(noise))).
//
// StochasticHeun: the thermal field is drawn ONCE per step and used in both the Euler predictor and
// the trapezoidal corrector, which makes the scheme consistent with the Stratonovich interpretation
// of the stochastic LLG (the physical one; docs/REFERENCES.md §4); m is renormalized after each step.
// EulerMaruyama is here only to demonstrate (tests/mtj) why it must not be used: it integrates the
// Ito interpretation and, without the projection back onto the sphere, lets |m| grow.
#include <cmath>
#include <functional>
#include <type_traits>

#include <boost/numeric/odeint/stepper/stepper_categories.hpp>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/mtj/normal.hpp"
#include "xbarkit/mtj/vec3.hpp"

namespace xbarkit::mtj {

namespace detail {
template <class T>
T& unref(T& x) { return x; }
template <class T>
T& unref(std::reference_wrapper<T> x) { return x.get(); }
}  // namespace detail

// Brown thermal field: each component N(0, 1) * strength / sqrt(dt), strength^2 = 2 alpha kB T /
// (mu0 gamma0 Ms V) (docs/REFERENCES.md §4). Owns the trajectory's random stream; normals by ziggurat.
class ThermalField {
public:
  // substeps k > 1: each step's Wiener increment is the sum of k finer ones (k normal triples), so a
  // run at dt with k substeps and one at dt/k with the same stream follow the same Brownian path
  // (used to measure time-step convergence without Monte-Carlo noise in the difference).
  ThermalField(double strength, Rng rng, int substeps = 1)
      : strength_(strength), rng_(rng), zig_(Ziggurat::instance()), substeps_(substeps < 1 ? 1 : substeps) {}
  void operator()(Vec3& h, double dt) {
    if (dt != dt_) {
      dt_ = dt;
      sigma_ = strength_ / std::sqrt(dt);
    }
    if (substeps_ == 1) {
      h[0] = sigma_ * zig_(rng_);
      h[1] = sigma_ * zig_(rng_);
      h[2] = sigma_ * zig_(rng_);
      return;
    }
    double s0 = 0, s1 = 0, s2 = 0;
    for (int k = 0; k < substeps_; ++k) {
      s0 += zig_(rng_);
      s1 += zig_(rng_);
      s2 += zig_(rng_);
    }
    const double c = sigma_ / std::sqrt(static_cast<double>(substeps_));
    h[0] = c * s0;
    h[1] = c * s1;
    h[2] = c * s2;
  }
  double sigma(double dt) const { return strength_ / std::sqrt(dt); }
  Rng& rng() { return rng_; }

private:
  double strength_;
  Rng rng_;
  const Ziggurat& zig_;
  int substeps_;
  double dt_ = -1, sigma_ = 0;
};

class StochasticHeun {
public:
  using state_type = Vec3;
  using deriv_type = Vec3;
  using value_type = double;
  using time_type = double;
  using order_type = unsigned short;
  using stepper_category = boost::numeric::odeint::stepper_tag;
  static constexpr order_type order() { return 1; }  // weak order for multiplicative noise

  template <class System>
  void do_step(System system, state_type& x, time_type t, time_type dt) const {
    auto& drift = detail::unref(system.first);
    auto& noise = detail::unref(system.second);
    Vec3 h, f1, f2;
    noise(h, dt);
    drift.drift(x, h, f1, t);
    const Vec3 xp{x[0] + dt * f1[0], x[1] + dt * f1[1], x[2] + dt * f1[2]};
    drift.drift(xp, h, f2, t + dt);
    const double half = 0.5 * dt;
    x[0] += half * (f1[0] + f2[0]);
    x[1] += half * (f1[1] + f2[1]);
    x[2] += half * (f1[2] + f2[2]);
    normalize(x);
  }
};

class EulerMaruyama {
public:
  using state_type = Vec3;
  using deriv_type = Vec3;
  using value_type = double;
  using time_type = double;
  using order_type = unsigned short;
  using stepper_category = boost::numeric::odeint::stepper_tag;
  static constexpr order_type order() { return 1; }

  explicit EulerMaruyama(bool renormalize = false) : renormalize_(renormalize) {}

  template <class System>
  void do_step(System system, state_type& x, time_type t, time_type dt) const {
    auto& drift = detail::unref(system.first);
    auto& noise = detail::unref(system.second);
    Vec3 h, f;
    noise(h, dt);
    drift.drift(x, h, f, t);
    x[0] += dt * f[0];
    x[1] += dt * f[1];
    x[2] += dt * f[2];
    if (renormalize_) normalize(x);
  }

private:
  bool renormalize_;
};

}  // namespace xbarkit::mtj
