#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/lut/fit.hpp"

using namespace xbarkit::lut;

TEST_CASE("logistic fit recovers x50 and scale from exact data") {
  std::vector<double> x, y;
  for (int i = 0; i <= 20; ++i) {
    x.push_back(100e-6 + i * 5e-6);
    y.push_back(1 / (1 + std::exp(-(x.back() - 152e-6) / 7e-6)));
  }
  const auto f = fit_logistic(x, y);
  CHECK(f.param("x50") == Approx(152e-6).epsilon(1e-8));
  CHECK(f.param("scale") == Approx(7e-6).epsilon(1e-7));
  CHECK(f.rms_residual < 1e-10);
  CHECK(f.r_squared == Approx(1.0));
  CHECK(f(152e-6) == Approx(0.5));
}

TEST_CASE("logistic fit of binomial samples: parameters within their standard errors") {
  xbarkit::Rng rng(7);
  std::vector<double> x, y, w;
  const int trials = 400;
  for (int i = 0; i <= 24; ++i) {
    const double xi = -3 + 0.25 * i;
    const double p = 1 / (1 + std::exp(-(xi - 0.4) / 0.6));
    int hits = 0;
    for (int t = 0; t < trials; ++t) hits += rng.bernoulli(p);
    const double ph = static_cast<double>(hits) / trials;
    x.push_back(xi);
    y.push_back(ph);
    const double var = std::max(ph * (1 - ph), 0.25 / trials) / trials;
    w.push_back(1 / var);
  }
  const auto f = fit_logistic(x, y, w);
  REQUIRE(f.param_stderr[0] > 0);
  REQUIRE(f.param_stderr[0] < 0.1);
  CHECK(std::abs(f.param("x50") - 0.4) < 4 * f.param_stderr[0]);
  CHECK(std::abs(f.param("scale") - 0.6) < 4 * f.param_stderr[1]);
  CHECK(f.residuals.size() == x.size());
  CHECK(f.max_abs_residual < 0.1);
}

TEST_CASE("logistic fit refuses data without a transition") {
  const std::vector<double> x{1, 2, 3, 4}, y{0, 0, 0.01, 0};
  CHECK_THROWS_WITH(fit_logistic(x, y), Catch::Contains("transition"));
  const std::vector<double> x2{1, 2}, y2{0, 1};
  CHECK_THROWS_WITH(fit_logistic(x2, y2), Catch::Contains("at least 3"));
}

TEST_CASE("polynomial fit is exact for a polynomial of its degree, with residuals reported") {
  std::vector<double> x, y;
  for (int i = 0; i < 15; ++i) {
    x.push_back(1000 + 10 * i);  // far from 0: conditioning through centring and scaling
    const double u = x.back();
    y.push_back(2 - 3e-3 * u + 4e-6 * u * u - 1e-9 * u * u * u);
  }
  const auto f = fit_polynomial(x, y, 3);
  for (double u : {1000.0, 1055.0, 1140.0}) CHECK(f(u) == Approx(2 - 3e-3 * u + 4e-6 * u * u - 1e-9 * u * u * u).epsilon(1e-10));
  CHECK(f.max_abs_residual < 1e-9);
  const auto line = fit_polynomial(x, y, 1);
  CHECK(line.rms_residual > 1e-4);  // a line cannot follow the cubic
  CHECK(line.r_squared < 1);
  const auto j = f.to_json();
  const auto g = Fit::from_json(j);
  CHECK(g(1033.0) == Approx(f(1033.0)).epsilon(1e-15));
  const std::vector<double> x1{1, 1, 1}, y1{1, 2, 3};
  CHECK_THROWS_WITH(fit_polynomial(x1, y1, 1), Catch::Contains("distinct"));
}

TEST_CASE("piecewise-linear fit through its own knots is exact; continuation outside") {
  const std::vector<double> knots{0, 1, 3};
  auto f0 = [](double x) { return x < 1 ? 2 * x : 2 - 0.5 * (x - 1); };
  std::vector<double> x, y;
  for (double u = 0; u <= 3.0001; u += 0.125) {
    x.push_back(u);
    y.push_back(f0(u));
  }
  const auto f = fit_piecewise_linear(x, y, knots);
  CHECK(f.param("y1") == Approx(2));
  CHECK(f(2.0) == Approx(1.5));
  CHECK(f(4.0) == Approx(0.5));  // continues the last segment
  CHECK(f.max_abs_residual < 1e-12);
  const std::vector<double> gap_knots{0, 1, 1.05, 1.1, 3};
  CHECK_THROWS_WITH(fit_piecewise_linear(x, y, gap_knots), Catch::Contains("fewer knots"));
}
