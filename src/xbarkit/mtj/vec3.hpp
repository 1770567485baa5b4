#pragma once
// The macrospin state: a fixed-size 3-vector. std::array satisfies Boost.Odeint's state concept
// (range algebra), so the same type runs through Odeint's RK4/Dormand-Prince steppers and through
// the stochastic steppers in steppers.hpp; the hand-written helpers keep the hot loop allocation-free.
#include <array>
#include <cmath>

namespace xbarkit::mtj {

using Vec3 = std::array<double, 3>;

inline constexpr Vec3 operator+(const Vec3& a, const Vec3& b) { return {a[0] + b[0], a[1] + b[1], a[2] + b[2]}; }
inline constexpr Vec3 operator-(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
inline constexpr Vec3 operator*(double s, const Vec3& a) { return {s * a[0], s * a[1], s * a[2]}; }
inline constexpr double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
inline constexpr Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
inline double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }
inline Vec3 normalized(const Vec3& a) { return (1.0 / norm(a)) * a; }
inline void normalize(Vec3& a) {
  const double inv = 1.0 / std::sqrt(dot(a, a));
  a[0] *= inv;
  a[1] *= inv;
  a[2] *= inv;
}

}  // namespace xbarkit::mtj
