#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "xbarkit/core/error.hpp"
#include "xbarkit/lut/table.hpp"

using namespace xbarkit::lut;

namespace {
Table grid2(std::vector<double> xs, std::vector<double> ys, double (*f)(double, double)) {
  Table t("t", {{"x", "V", xs}, {"y", "1", ys}}, {{"v", "A"}, {"w", "A"}});
  for (size_t n = 0; n < t.node_count(); ++n) {
    const auto c = t.coordinates(n);
    t.value(n, 0) = f(c[0], c[1]);
    t.value(n, 1) = -f(c[0], c[1]);
  }
  return t;
}
double bilinear(double x, double y) { return 1 + 2 * x - 3 * y + 0.5 * x * y; }
double plane(double x, double y) { return 0.25 - 1.5 * x + 4 * y; }
}  // namespace

TEST_CASE("axes must be named, non-empty and strictly increasing") {
  CHECK_THROWS_WITH(Table("t", {{"k", "1", {0, 1, 1}}}, {{"v", "A"}}),
                    Catch::Contains("strictly increasing") && Catch::Contains("'k'"));
  CHECK_THROWS_WITH(Table("t", {{"k", "1", {2, 1}}}, {{"v", "A"}}), Catch::Contains("strictly increasing"));
  CHECK_THROWS_WITH(Table("t", {{"k", "1", {}}}, {{"v", "A"}}), Catch::Contains("no points"));
  CHECK_THROWS_WITH(Table("t", {{"k", "1", {0, NAN}}}, {{"v", "A"}}), Catch::Contains("not finite"));
  CHECK_THROWS_WITH(Table("t", {{"k", "1", {0}}}, {{"k", "A"}}), Catch::Contains("used twice"));
  CHECK_NOTHROW(Table("t", {{"k", "1", {0}}}, {{"v", "A"}}));
}

TEST_CASE("node order is row-major with the last axis fastest") {
  Table t("t", {{"a", "1", {0, 1, 2}}, {"b", "1", {10, 20}}}, {{"v", "1"}});
  REQUIRE(t.node_count() == 6);
  const std::vector<size_t> idx{2, 1};
  CHECK(t.node(idx) == 5);
  CHECK(t.index_of(3) == std::vector<size_t>{1, 1});
  CHECK(t.coordinates(3) == std::vector<double>{1, 20});
}

TEST_CASE("multilinear interpolation reproduces a bilinear function exactly on a non-uniform grid") {
  const auto t = grid2({0, 0.3, 1, 2.5}, {-1, 0, 0.2, 3}, bilinear);
  for (double x : {0.0, 0.1, 0.77, 1.9, 2.5})
    for (double y : {-1.0, -0.4, 0.1, 2.2, 3.0}) {
      const std::vector<double> q{x, y};
      CHECK(t.interpolate(q, 0) == Approx(bilinear(x, y)).epsilon(1e-13));
      CHECK(t.interpolate(q, "w") == Approx(-bilinear(x, y)).epsilon(1e-13));
    }
}

TEST_CASE("monotone cubic reproduces linear data and the PCHIP reference values") {
  const auto t = grid2({0, 0.3, 1, 2.5}, {-1, 0, 0.2, 3}, plane);
  for (double x : {0.05, 0.6, 2.0})
    for (double y : {-0.9, 0.1, 1.7}) {
      const std::vector<double> q{x, y};
      CHECK(t.interpolate(q, 0, Interp::monotone_cubic) == Approx(plane(x, y)).margin(1e-12));
    }
  // PCHIP of (0,0) (1,1) (2,1) (3,2): slopes 1.5, 0, 0, 1.5 (Fritsch-Butland interior, three-point ends);
  // at x = 0.5 the Hermite cubic gives 0.5 + 0.125 * 1.5 = 0.6875.
  const std::vector<double> xs{0, 1, 2, 3}, ys{0, 1, 1, 2};
  const auto m = pchip_slopes(xs, ys);
  CHECK(m == std::vector<double>{1.5, 0, 0, 1.5});
  Table one("p", {{"x", "1", xs}}, {{"y", "1"}});
  for (size_t i = 0; i < 4; ++i) one.value(i, 0) = ys[i];
  const std::vector<double> q{0.5};
  CHECK(one.interpolate(q, 0, Interp::monotone_cubic) == Approx(0.6875).epsilon(1e-14));
  const std::vector<double> q2{1.5};
  CHECK(one.interpolate(q2, 0, Interp::monotone_cubic) == Approx(1.0).epsilon(1e-14));  // flat stays flat
}

TEST_CASE("monotone cubic does not overshoot a step, where an unconstrained cubic would") {
  Table t("s", {{"x", "1", {0, 1, 2, 3, 4, 5}}}, {{"y", "1"}});
  const double ys[] = {0, 0, 0, 1, 1, 1};
  for (size_t i = 0; i < 6; ++i) t.value(i, 0) = ys[i];
  double prev = -1;
  for (double x = 0; x <= 5; x += 0.01) {
    const std::vector<double> q{x};
    const double v = t.interpolate(q, 0, Interp::monotone_cubic);
    CHECK(v >= -1e-15);
    CHECK(v <= 1 + 1e-15);
    CHECK(v >= prev - 1e-15);
    prev = v;
  }
  // And it is not just linear: at 2.25 the cubic (slopes 0 at both ends) is below the chord.
  const std::vector<double> q{2.25};
  CHECK(t.interpolate(q, 0, Interp::monotone_cubic) < 0.25 - 0.05);
}

TEST_CASE("outside the grid: clamp to the edge, or an error naming table, axis and range") {
  const auto t = grid2({0, 1}, {0, 1}, bilinear);
  const std::vector<double> out{1.5, 0.5};
  CHECK(t.interpolate(out, 0, Interp::linear, OutOfRange::clamp) == Approx(bilinear(1.0, 0.5)));
  CHECK(t.interpolate(out, 0, Interp::monotone_cubic, OutOfRange::clamp) == Approx(bilinear(1.0, 0.5)));
  CHECK_THROWS_WITH(t.interpolate(out, 0, Interp::linear, OutOfRange::error),
                    Catch::Contains("'t'") && Catch::Contains("axis 'x' = 1.5") && Catch::Contains("[0, 1]"));
  const std::vector<double> nan{NAN, 0.5};
  CHECK_THROWS_AS(t.interpolate(nan, 0), xbarkit::Error);
}

TEST_CASE("single-point axes act as constants") {
  Table t("c", {{"a", "1", {3}}, {"b", "1", {0, 1}}}, {{"v", "1"}});
  t.value(0, 0) = 2;
  t.value(1, 0) = 4;
  const std::vector<double> q{3, 0.25};
  CHECK(t.interpolate(q, 0) == Approx(2.5));
  CHECK(t.interpolate(q, 0, Interp::monotone_cubic) == Approx(2.5));
}

TEST_CASE("CSV round trip is exact and the reader checks header and grid") {
  auto t = grid2({0, 0.1, 1.0 / 3}, {1e-9, 2}, bilinear);
  t.value(0, 1) = 1.0 / 7;
  const auto csv = t.to_csv();
  CHECK(csv.rfind("x,y,v,w\n", 0) == 0);
  Table u("t", t.axes(), t.columns());
  u.read_csv(csv, "t.csv");
  CHECK(u.data() == t.data());
  Table wrong("t", {{"x", "V", {0, 0.1, 1.0 / 3}}, {"y", "1", {1e-9, 2}}}, {{"v", "A"}, {"q", "A"}});
  CHECK_THROWS_WITH(wrong.read_csv(csv, "t.csv"), Catch::Contains("t.csv") && Catch::Contains("header"));
  Table shifted("t", {{"x", "V", {0, 0.2, 1.0 / 3}}, {"y", "1", {1e-9, 2}}}, t.columns());
  CHECK_THROWS_WITH(shifted.read_csv(csv, "t.csv"), Catch::Contains("axis 'x'"));
  auto truncated = csv.substr(0, csv.rfind('\n', csv.size() - 2) + 1);
  CHECK_THROWS_WITH(u.read_csv(truncated, "t.csv"), Catch::Contains("data rows"));
  auto garbage = csv;
  garbage.replace(garbage.find("\n") + 1, 1, "x");
  CHECK_THROWS_WITH(u.read_csv(garbage, "t.csv"), Catch::Contains("not a number"));
}
