#include "xbarkit/lut/fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::lut {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_inputs(std::span<const double> x, std::span<const double> y, std::span<const double> w, const char* what) {
  if (x.size() != y.size()) throw Error(fmt::format("{} fit: {} x values but {} y values", what, x.size(), y.size()));
  if (!w.empty() && w.size() != x.size())
    throw Error(fmt::format("{} fit: {} weights for {} points", what, w.size(), x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) throw Error(fmt::format("{} fit: point {} is not finite", what, i));
    if (!w.empty() && !(w[i] >= 0 && std::isfinite(w[i])))
      throw Error(fmt::format("{} fit: weight {} must be finite and >= 0", what, i));
  }
}

double weight(std::span<const double> w, size_t i) { return w.empty() ? 1.0 : w[i]; }

void finish(Fit& f, std::span<const double> x, std::span<const double> y) {
  f.n = x.size();
  f.residuals.resize(x.size());
  double ss = 0, mean = 0, mx = 0;
  for (size_t i = 0; i < x.size(); ++i) mean += y[i];
  mean /= std::max<size_t>(1, x.size());
  double tot = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double r = y[i] - f(x[i]);
    f.residuals[i] = r;
    ss += r * r;
    tot += (y[i] - mean) * (y[i] - mean);
    mx = std::max(mx, std::abs(r));
  }
  f.rms_residual = x.empty() ? 0 : std::sqrt(ss / x.size());
  f.max_abs_residual = mx;
  f.r_squared = tot > 0 ? 1 - ss / tot : (ss == 0 ? 1.0 : 0.0);
}

// Parameter standard errors from J (n x p), weights and the weighted residual sum of squares.
std::vector<double> stderr_from_jacobian(const Eigen::MatrixXd& J, const Eigen::VectorXd& w, double wss) {
  const auto n = J.rows(), p = J.cols();
  std::vector<double> se(static_cast<size_t>(p), kNaN);
  if (n <= p) return se;
  const Eigen::MatrixXd JtWJ = J.transpose() * w.asDiagonal() * J;
  Eigen::FullPivLU<Eigen::MatrixXd> lu(JtWJ);
  if (!lu.isInvertible()) return se;
  const Eigen::MatrixXd cov = lu.inverse() * (wss / static_cast<double>(n - p));
  for (Eigen::Index i = 0; i < p; ++i) se[static_cast<size_t>(i)] = std::sqrt(std::max(0.0, cov(i, i)));
  return se;
}

}  // namespace

double Fit::operator()(double x) const {
  if (kind == "logistic") {
    return 1.0 / (1.0 + std::exp(-(x - params[0]) / params[1]));
  }
  if (kind == "polynomial") {
    const double t = (x - x_center) / x_scale;
    double v = 0;
    for (size_t i = params.size(); i-- > 0;) v = v * t + params[i];
    return v;
  }
  if (kind == "piecewise_linear") {
    const size_t n = knots.size();
    size_t hi = static_cast<size_t>(std::upper_bound(knots.begin(), knots.end(), x) - knots.begin());
    hi = std::clamp<size_t>(hi, 1, n - 1);
    const size_t lo = hi - 1;
    const double t = (x - knots[lo]) / (knots[hi] - knots[lo]);
    return params[lo] + t * (params[hi] - params[lo]);
  }
  throw Error(fmt::format("unknown fit kind '{}'", kind));
}

double Fit::param(const std::string& name) const {
  for (size_t i = 0; i < param_names.size(); ++i)
    if (param_names[i] == name) return params[i];
  throw Error(fmt::format("{} fit has no parameter '{}'", kind, name));
}

nlohmann::json Fit::to_json() const {
  nlohmann::json j;
  j["kind"] = kind;
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json p = nlohmann::json::object(), se = nlohmann::json::object();
  for (size_t i = 0; i < params.size(); ++i) {
    p[param_names[i]] = num(params[i]);
    se[param_names[i]] = num(param_stderr[i]);
  }
  j["param_order"] = param_names;
  j["params"] = p;
  j["stderr"] = se;
  if (kind == "polynomial") {
    j["x_center"] = x_center;
    j["x_scale"] = x_scale;
  }
  if (kind == "piecewise_linear") j["knots"] = knots;
  j["n"] = n;
  j["rms_residual"] = rms_residual;
  j["max_abs_residual"] = max_abs_residual;
  j["r_squared"] = r_squared;
  nlohmann::json res = nlohmann::json::array();
  for (double r : residuals) res.push_back(std::isfinite(r) ? nlohmann::json(r) : nlohmann::json(nullptr));
  j["residuals"] = res;
  return j;
}

Fit Fit::from_json(const nlohmann::json& j) {
  Fit f;
  f.kind = j.at("kind").get<std::string>();
  if (f.kind != "logistic" && f.kind != "polynomial" && f.kind != "piecewise_linear")
    throw Error(fmt::format("unknown fit kind '{}'", f.kind));
  f.param_names = j.at("param_order").get<std::vector<std::string>>();
  for (const auto& name : f.param_names) {
    const auto& v = j.at("params").at(name);
    f.params.push_back(v.is_null() ? kNaN : v.get<double>());
    const auto& s = j.at("stderr").at(name);
    f.param_stderr.push_back(s.is_null() ? kNaN : s.get<double>());
  }
  if (f.kind == "polynomial") {
    f.x_center = j.at("x_center").get<double>();
    f.x_scale = j.at("x_scale").get<double>();
  }
  if (f.kind == "piecewise_linear") {
    f.knots = j.at("knots").get<std::vector<double>>();
    if (f.knots.size() != f.params.size() || f.knots.size() < 2)
      throw Error("piecewise_linear fit: knots and values differ in number");
  }
  if (f.kind == "logistic" && f.params.size() != 2) throw Error("logistic fit needs x50 and scale");
  f.n = j.at("n").get<size_t>();
  f.rms_residual = j.at("rms_residual").get<double>();
  f.max_abs_residual = j.at("max_abs_residual").get<double>();
  f.r_squared = j.at("r_squared").get<double>();
  for (const auto& r : j.value("residuals", nlohmann::json::array())) f.residuals.push_back(r.is_null() ? kNaN : r.get<double>());
  return f;
}

Fit fit_logistic(std::span<const double> x, std::span<const double> y, std::span<const double> w) {
  check_inputs(x, y, w, "logistic");
  const size_t n = x.size();
  if (n < 3) throw Error(fmt::format("logistic fit needs at least 3 points, got {}", n));
  // Initial guess: x50 where y crosses 0.5 (sorted by x), scale from the 25%-75% span.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  const double ymin = *std::min_element(y.begin(), y.end()), ymax = *std::max_element(y.begin(), y.end());
  if (!(ymax - ymin > 0.05))
    throw Error(fmt::format("logistic fit: y spans only [{}, {}]; the sweep does not cover the transition", ymin, ymax));
  auto crossing = [&](double level) {
    for (size_t k = 1; k < n; ++k) {
      const double y0 = y[order[k - 1]], y1 = y[order[k]];
      if ((y0 - level) * (y1 - level) <= 0 && y0 != y1) {
        const double x0 = x[order[k - 1]], x1 = x[order[k]];
        return x0 + (level - y0) / (y1 - y0) * (x1 - x0);
      }
    }
    return std::abs(y[order.front()] - level) < std::abs(y[order.back()] - level) ? x[order.front()] : x[order.back()];
  };
  const double span = x[order.back()] - x[order.front()];
  double x50 = crossing(0.5);
  double scale = (crossing(0.75) - crossing(0.25)) / (2 * std::log(3.0));
  if (!(std::abs(scale) > span * 1e-6)) scale = (y[order.back()] >= y[order.front()] ? 1 : -1) * span / 10;
  if (!(std::abs(scale) > 0)) throw Error("logistic fit: all x values are equal");

  Eigen::VectorXd W(static_cast<Eigen::Index>(n));
  for (size_t i = 0; i < n; ++i) W(static_cast<Eigen::Index>(i)) = weight(w, i);
  auto model = [](double xi, double a, double s) { return 1.0 / (1.0 + std::exp(-(xi - a) / s)); };
  auto wss_of = [&](double a, double s) {
    double acc = 0;
    for (size_t i = 0; i < n; ++i) {
      const double r = y[i] - model(x[i], a, s);
      acc += weight(w, i) * r * r;
    }
    return acc;
  };
  Eigen::MatrixXd J(static_cast<Eigen::Index>(n), 2);
  auto jacobian = [&](double a, double s) {
    for (size_t i = 0; i < n; ++i) {
      const double f = model(x[i], a, s);
      const double d = f * (1 - f);
      J(static_cast<Eigen::Index>(i), 0) = -d / s;
      J(static_cast<Eigen::Index>(i), 1) = -d * (x[i] - a) / (s * s);
    }
  };
  double lambda = 1e-3;
  double wss = wss_of(x50, scale);
  for (int iter = 0; iter < 200; ++iter) {
    jacobian(x50, scale);
    Eigen::VectorXd r(static_cast<Eigen::Index>(n));
    for (size_t i = 0; i < n; ++i) r(static_cast<Eigen::Index>(i)) = y[i] - model(x[i], x50, scale);
    const Eigen::Matrix2d A = J.transpose() * W.asDiagonal() * J;
    const Eigen::Vector2d g = J.transpose() * W.asDiagonal() * r;
    bool improved = false;
    for (int tries = 0; tries < 30; ++tries) {
      Eigen::Matrix2d M = A;
      M.diagonal() += lambda * A.diagonal().cwiseMax(1e-300);
      const Eigen::Vector2d step = M.ldlt().solve(g);
      const double a2 = x50 + step(0), s2 = scale + step(1);
      if (std::isfinite(a2) && std::isfinite(s2) && s2 != 0 && (s2 > 0) == (scale > 0)) {
        const double wss2 = wss_of(a2, s2);
        if (wss2 <= wss) {
          const double rel = (wss - wss2) / std::max(wss, 1e-300);
          x50 = a2;
          scale = s2;
          wss = wss2;
          lambda = std::max(lambda / 10, 1e-12);
          improved = true;
          if (rel < 1e-14 || step.norm() < 1e-14 * (std::abs(x50) + std::abs(scale))) iter = 1000;
          break;
        }
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
  Fit f;
  f.kind = "logistic";
  f.param_names = {"x50", "scale"};
  f.params = {x50, scale};
  jacobian(x50, scale);
  f.param_stderr = stderr_from_jacobian(J, W, wss);
  finish(f, x, y);
  return f;
}

Fit fit_polynomial(std::span<const double> x, std::span<const double> y, int degree, std::span<const double> w) {
  check_inputs(x, y, w, "polynomial");
  if (degree < 0) throw Error("polynomial fit: degree must be >= 0");
  std::vector<double> distinct(x.begin(), x.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.size() <= static_cast<size_t>(degree))
    throw Error(fmt::format("polynomial fit of degree {} needs at least {} distinct x values, got {}", degree,
                            degree + 1, distinct.size()));
  Fit f;
  f.kind = "polynomial";
  f.x_center = (distinct.front() + distinct.back()) / 2;
  f.x_scale = distinct.size() > 1 ? (distinct.back() - distinct.front()) / 2 : 1.0;
  const auto n = static_cast<Eigen::Index>(x.size());
  const auto p = static_cast<Eigen::Index>(degree + 1);
  Eigen::MatrixXd V(n, p);
  Eigen::VectorXd Y(n), W(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double t = (x[static_cast<size_t>(i)] - f.x_center) / f.x_scale;
    double v = 1;
    for (Eigen::Index k = 0; k < p; ++k, v *= t) V(i, k) = v;
    Y(i) = y[static_cast<size_t>(i)];
    W(i) = weight(w, static_cast<size_t>(i));
  }
  const Eigen::VectorXd sw = W.cwiseSqrt();
  const Eigen::VectorXd c = (sw.asDiagonal() * V).colPivHouseholderQr().solve(sw.asDiagonal() * Y);
  for (Eigen::Index k = 0; k < p; ++k) {
    f.param_names.push_back(fmt::format("c{}", k));
    f.params.push_back(c(k));
  }
  const Eigen::VectorXd r = Y - V * c;
  f.param_stderr = stderr_from_jacobian(V, W, r.dot(W.asDiagonal() * r));
  finish(f, x, y);
  return f;
}

Fit fit_piecewise_linear(std::span<const double> x, std::span<const double> y, std::span<const double> knots,
                         std::span<const double> w) {
  check_inputs(x, y, w, "piecewise_linear");
  if (knots.size() < 2) throw Error("piecewise_linear fit needs at least 2 knots");
  for (size_t i = 1; i < knots.size(); ++i)
    if (!(knots[i] > knots[i - 1])) throw Error("piecewise_linear fit: knots must be strictly increasing");
  Fit f;
  f.kind = "piecewise_linear";
  f.knots.assign(knots.begin(), knots.end());
  const auto n = static_cast<Eigen::Index>(x.size());
  const auto p = static_cast<Eigen::Index>(knots.size());
  Eigen::MatrixXd B = Eigen::MatrixXd::Zero(n, p);
  Eigen::VectorXd Y(n), W(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double xi = x[static_cast<size_t>(i)];
    size_t hi = static_cast<size_t>(std::upper_bound(knots.begin(), knots.end(), xi) - knots.begin());
    hi = std::clamp<size_t>(hi, 1, knots.size() - 1);
    const size_t lo = hi - 1;
    const double t = (xi - knots[lo]) / (knots[hi] - knots[lo]);
    B(i, static_cast<Eigen::Index>(lo)) = 1 - t;
    B(i, static_cast<Eigen::Index>(hi)) = t;
    Y(i) = y[static_cast<size_t>(i)];
    W(i) = weight(w, static_cast<size_t>(i));
  }
  const Eigen::VectorXd sw = W.cwiseSqrt();
  const Eigen::MatrixXd A = sw.asDiagonal() * B;
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(A);
  if (qr.rank() < p)
    throw Error(fmt::format("piecewise_linear fit: the data do not constrain all {} knots (some intervals hold "
                            "no points); use fewer knots",
                            p));
  const Eigen::VectorXd c = qr.solve(sw.asDiagonal() * Y);
  for (Eigen::Index k = 0; k < p; ++k) {
    f.param_names.push_back(fmt::format("y{}", k));
    f.params.push_back(c(k));
  }
  const Eigen::VectorXd r = Y - B * c;
  f.param_stderr = stderr_from_jacobian(B, W, r.dot(W.asDiagonal() * r));
  finish(f, x, y);
  return f;
}

}  // namespace xbarkit::lut
