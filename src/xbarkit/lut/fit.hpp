#pragma once
// One-dimensional fits with their residuals: logistic, polynomial and continuous piecewise-linear.
// Each returns the parameters, their standard errors where defined, and the goodness of fit
// (RMS and max residual, R^2) so a bundle can show how well the closed form describes its samples.
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xbarkit::lut {

struct Fit {
  std::string kind;                      // "logistic" | "polynomial" | "piecewise_linear"
  std::vector<std::string> param_names;
  std::vector<double> params;
  std::vector<double> param_stderr;      // same length as params (NaN where not defined)
  // polynomial: coefficients c0..cd of t = (x - x_center) / x_scale (conditioning), lowest first.
  double x_center = 0, x_scale = 1;
  // piecewise_linear: params are the values at these knots; linear continuation outside.
  std::vector<double> knots;
  size_t n = 0;                          // samples fitted
  double rms_residual = 0;               // sqrt(mean(residual^2)), unweighted, in y units
  double max_abs_residual = 0;
  double r_squared = 0;                  // 1 - SS_res / SS_tot (unweighted)
  std::vector<double> residuals;         // y_i - f(x_i), in input order

  double operator()(double x) const;
  double param(const std::string& name) const;  // throws if unknown
  // Parameters, their errors, goodness of fit and the residuals (in input order).
  nlohmann::json to_json() const;
  static Fit from_json(const nlohmann::json& j);
};

// y = 1 / (1 + exp(-(x - x50) / scale)), the switching-probability form; params "x50", "scale".
// Levenberg-Marquardt on the weighted squared error (weights default 1; pass 1/sigma^2 for
// binomial errors). Standard errors from the covariance scaled by the reduced chi-square.
// Throws xbarkit::Error if fewer than 3 points or the data have no transition to locate.
Fit fit_logistic(std::span<const double> x, std::span<const double> y, std::span<const double> weights = {});

// Least-squares polynomial of the given degree (needs more than `degree` distinct x).
Fit fit_polynomial(std::span<const double> x, std::span<const double> y, int degree,
                   std::span<const double> weights = {});

// Continuous piecewise-linear least squares with the given strictly increasing knots (>= 2);
// params are named "y0", "y1", ... (values at the knots).
Fit fit_piecewise_linear(std::span<const double> x, std::span<const double> y, std::span<const double> knots,
                         std::span<const double> weights = {});

}  // namespace xbarkit::lut
