#pragma once
// Shared helpers for the mtj physics tests: test devices built in code, the Boltzmann reference
// integrals, and a simple parallel trajectory sampler.
#include <cmath>
#include <functional>

#include "xbarkit/mtj/constants.hpp"
#include "xbarkit/mtj/device.hpp"

namespace mtjtest {

using namespace xbarkit::mtj;

// Uniaxial macrospin with no demagnetization: easy axis z, mu0 H_K = mu0hk_T, thermal stability
// delta at 300 K (the volume is chosen to give it), damping alpha.
inline Device uniaxial(double mu0hk_T, double delta, double alpha) {
  Device d;
  d.name = "uniaxial-test";
  d.alpha = alpha;
  d.temperature_K = delta > 0 ? 300 : 0;
  d.ms_A_per_m = 1e6;
  d.easy_axis = 2;
  d.hk_A_per_m = mu0hk_T / phys::mu0;
  d.demag = {0, 0, 0};
  d.shape = Shape::circle;
  d.thickness_m = 1e-9;
  // delta = mu0 Ms H_K V / (2 kB T)  ->  V; circle: V = pi/4 D^2 t.
  const double v = delta > 0 ? 2 * delta * phys::kB * 300 / (phys::mu0 * d.ms_A_per_m * d.hk_A_per_m) : 1.9635e-24;
  d.size_x_m = d.size_y_m = std::sqrt(4 * v / (phys::pi * d.thickness_m));
  d.hm.width_m = 60e-9;
  d.hm.thickness_m = 4e-9;
  d.hm.length_m = 60e-9;
  d.hm.spin_hall_angle = 0.3;
  d.hm.oersted = false;
  return d;
}

// Simpson's rule on [a, b] with n (even) intervals.
inline double simpson(const std::function<double(double)>& f, double a, double b, int n = 20000) {
  const double h = (b - a) / n;
  double s = f(a) + f(b);
  for (int i = 1; i < n; ++i) s += f(a + i * h) * (i % 2 ? 4 : 2);
  return s * h / 3;
}

// Boltzmann averages for E/kT = -delta mz^2 (uniform measure in mz on the sphere).
inline double boltzmann_mz2(double delta) {
  const double z = simpson([&](double x) { return std::exp(delta * x * x); }, -1, 1);
  return simpson([&](double x) { return x * x * std::exp(delta * x * x); }, -1, 1) / z;
}
inline double boltzmann_p_equator(double delta, double half_width) {
  const double z = simpson([&](double x) { return std::exp(delta * x * x); }, -1, 1);
  return simpson([&](double x) { return std::exp(delta * x * x); }, -half_width, half_width) / z;
}

}  // namespace mtjtest
