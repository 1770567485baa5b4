// Device loading, validation and closed-form derived quantities.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "xbarkit/core/error.hpp"
#include "xbarkit/mtj/constants.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/mtj/normal.hpp"
#include "xbarkit/mtj/steppers.hpp"

using namespace xbarkit::mtj;

TEST_CASE("demagnetization factors: ellipsoid and prism closed forms", "[mtj][device]") {
  // Sphere and cube: 1/3 each by symmetry; every shape: Nx + Ny + Nz = 1.
  for (double n : demag_ellipsoid(1, 1, 1)) CHECK(n == Approx(1.0 / 3).epsilon(1e-12));
  for (double n : demag_prism(2, 2, 2)) CHECK(n == Approx(1.0 / 3).epsilon(1e-10));
  const Vec3 e = demag_ellipsoid(25, 12, 0.5);
  CHECK(e[0] + e[1] + e[2] == Approx(1).epsilon(1e-12));
  const Vec3 p = demag_prism(100, 40, 2);
  CHECK(p[0] + p[1] + p[2] == Approx(1).epsilon(1e-10));
  CHECK(p[0] < p[1]);
  CHECK(p[1] < p[2]);
  // Oblate spheroid closed form (Osborn 1945): Nz = (1 + e^2)/e^3 (e - atan e), e^2 = (a/c)^2 - 1.
  const double ecc = std::sqrt(10.0 * 10.0 - 1);
  const double nz = (1 + ecc * ecc) / (ecc * ecc * ecc) * (ecc - std::atan(ecc));
  CHECK(demag_ellipsoid(10, 10, 1)[2] == Approx(nz).epsilon(1e-10));
  // Long square rod 1 x 1 x 1000: transverse factors -> 1/2 (Aharoni's table).
  const Vec3 rod = demag_prism(1, 1, 1000);
  CHECK(rod[0] == Approx(0.5).margin(1e-3));
  CHECK(rod[2] == Approx(0).margin(1e-3));
}

TEST_CASE("thermal field standard deviation of the docs/REFERENCES.md §4 case is 1.742e4 A/m", "[mtj][physics]") {
  Device d;
  d.alpha = 0.02;
  d.temperature_K = 300;
  d.ms_A_per_m = 1e6;
  d.shape = Shape::circle;
  d.size_x_m = d.size_y_m = 50e-9;
  d.thickness_m = 1e-9;  // V = pi 25^2 nm^2 x 1 nm = 1.9635e-24 m^3
  CHECK(derive(d).volume_m3 == Approx(1.9635e-24).epsilon(1e-4));
  // Published value to 4 digits; our constants reproduce it to < 0.03 %.
  CHECK(thermal_sigma(d, 1e-12) == Approx(1.742e4).epsilon(3e-4));
  // And the sampled field has that spread: 3 x 100000 normals, relative s.e. of a std is 1/sqrt(2n) = 0.13 %.
  ThermalField noise(thermal_sigma(d, 1e-12) * std::sqrt(1e-12), xbarkit::Rng(7, 0));
  double s2 = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    Vec3 h;
    noise(h, 1e-12);
    s2 += h[0] * h[0] + h[1] * h[1] + h[2] * h[2];
  }
  CHECK(std::sqrt(s2 / (3 * n)) == Approx(1.742e4).epsilon(0.005));  // 4 s.e.
}

TEST_CASE("ziggurat normals: moments and tails of N(0,1)", "[mtj][rng]") {
  // 2e6 draws: s.e. of the mean 7e-4, of the variance 1e-3, of E[x^4] (=3) 7e-3, of P(|x|>3)
  // (0.0027) 3.7e-5, of P(x > 3.6541, the tail branch) (1.29e-4) 8e-6; tolerances are ~4 s.e.
  const auto& zig = Ziggurat::instance();
  xbarkit::Rng rng(42, 3);
  const int n = 2000000;
  double s1 = 0, s2 = 0, s4 = 0;
  int beyond3 = 0, tail = 0;
  for (int i = 0; i < n; ++i) {
    const double x = zig(rng);
    s1 += x;
    s2 += x * x;
    s4 += x * x * x * x;
    beyond3 += std::abs(x) > 3;
    tail += x > 3.6541528853610088;
  }
  CHECK(s1 / n == Approx(0).margin(3e-3));
  CHECK(s2 / n == Approx(1).margin(4e-3));
  CHECK(s4 / n == Approx(3).margin(3e-2));
  CHECK(double(beyond3) / n == Approx(2.6998e-3).margin(1.5e-4));
  CHECK(double(tail) / n == Approx(1.2900e-4).margin(3.2e-5));
  // Same stream, same numbers.
  xbarkit::Rng a(9, 1), b(9, 1);
  for (int i = 0; i < 1000; ++i) REQUIRE(zig(a) == zig(b));
}
