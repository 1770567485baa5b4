#include "xbarkit/cbram/switching.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>
#include <fmt/format.h>

namespace xbarkit::cbram {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

Cell Cell::draw(const Device& d, Rng& rng) {
  Cell c;
  if (d.tau0_d2d_sigma_ln > 0) c.tau0_factor = std::exp(d.tau0_d2d_sigma_ln * rng.normal());
  return c;
}

bool Cell::bit(const Device& d, double voltage_V, double pulse_s, Rng& rng) {
  // RESET: dissolve the filament of the previous bit; a failed RESET leaves the cell in LRS.
  if (low_resistance && !(d.reset_failure_probability > 0 && rng.uniform() < d.reset_failure_probability))
    low_resistance = false;
  if (!low_resistance && pulse_s > 0) {
    double tau = d.tau_s(voltage_V) * tau0_factor;
    if (d.tau0_c2c_sigma_ln > 0) tau *= std::exp(d.tau0_c2c_sigma_ln * rng.normal());
    // First event of a Poisson process of rate 1/tau: waiting time -tau ln(1 - U).
    const double wait_s = -tau * std::log1p(-rng.uniform());
    low_resistance = wait_s < pulse_s;
  }
  return low_resistance;
}

SwitchCount count_switching(const Device& d, double voltage_V, double pulse_s, int64_t trials, bool population,
                            uint64_t seed) {
  Rng rng(seed);
  SwitchCount c{voltage_V, pulse_s, trials, 0};
  Cell nominal;
  for (int64_t k = 0; k < trials; ++k) {
    Cell cell = population ? Cell::draw(d, rng) : nominal;
    cell.low_resistance = false;  // every trial starts from a successful RESET
    c.switched += cell.bit(d, voltage_V, pulse_s, rng);
  }
  return c;
}

Chi2 pearson_chi2(std::span<const SwitchCount> counts, std::span<const double> model_p) {
  Chi2 r;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double n = static_cast<double>(counts[i].trials), p = model_p[i];
    const double var = n * p * (1 - p);
    if (!(var >= 1)) continue;
    const double dev = static_cast<double>(counts[i].switched) - n * p;
    r.chi2 += dev * dev / var;
    ++r.points;
  }
  return r;
}

// Binomial log-likelihood gradient/Fisher information of P = 1 - exp(-t e^{eta}) where eta = -ln tau
// is linear in the parameters: dP/deta = (1 - P) t e^{eta}.
TauFit fit_tau_law(std::span<const SwitchCount> counts) {
  TauFit f;
  // Start from a least-squares line through per-voltage tau estimates.
  std::vector<double> vs;
  for (const auto& c : counts) vs.push_back(c.voltage_V);
  std::sort(vs.begin(), vs.end());
  vs.erase(std::unique(vs.begin(), vs.end()), vs.end());
  std::vector<double> xs, ys;
  for (double v : vs) {
    std::vector<SwitchCount> at;
    for (const auto& c : counts)
      if (c.voltage_V == v) at.push_back(c);
    const auto t = fit_tau_at_voltage(at);
    if (std::isfinite(t.tau_s) && t.tau_s > 0) {
      xs.push_back(v);
      ys.push_back(std::log(t.tau_s));
    }
  }
  if (xs.size() < 2) {
    f.note = "fewer than two voltages with a switching transition inside the pulse range";
    return f;
  }
  double mx = 0, my = 0;
  for (size_t i = 0; i < xs.size(); ++i) mx += xs[i] / xs.size(), my += ys[i] / ys.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < xs.size(); ++i) sxy += (xs[i] - mx) * (ys[i] - my), sxx += (xs[i] - mx) * (xs[i] - mx);
  // ln tau = a - b V with a = ln tau0, b = 1/V0; the model is in eta = -ln tau = -a + b V.
  double b = -sxy / sxx, a = my + b * mx;
  if (!(b > 0)) {
    f.note = "tau does not decrease with voltage in these counts";
    return f;
  }
  auto loglik = [&](double a_, double b_) {
    double ll = 0;
    for (const auto& c : counts) {
      const double rate_t = c.pulse_s * std::exp(-a_ + b_ * c.voltage_V);
      const double lq = -rate_t;                       // ln(1 - P)
      const double lp = std::log(-std::expm1(-rate_t));  // ln P
      ll += static_cast<double>(c.switched) * lp + static_cast<double>(c.trials - c.switched) * lq;
    }
    return ll;
  };
  Eigen::Matrix2d info;
  double ll = loglik(a, b);
  for (int it = 0; it < 100; ++it) {
    Eigen::Vector2d grad = Eigen::Vector2d::Zero();
    info.setZero();
    for (const auto& c : counts) {
      const double rate_t = c.pulse_s * std::exp(-a + b * c.voltage_V);
      const double P = -std::expm1(-rate_t);
      if (!(P > 0) || !(P < 1)) continue;  // saturated points carry no gradient information
      const double dP_deta = (1 - P) * rate_t;
      const double n = static_cast<double>(c.trials), k = static_cast<double>(c.switched);
      const double score_eta = (k - n * P) / (P * (1 - P)) * dP_deta;
      const double info_eta = n * dP_deta * dP_deta / (P * (1 - P));
      const Eigen::Vector2d deta(-1.0, c.voltage_V);  // d eta / d(a, b)
      grad += score_eta * deta;
      info += info_eta * deta * deta.transpose();
    }
    const Eigen::Vector2d step = info.ldlt().solve(grad);
    double s = 1;
    double na = a + step(0), nb = b + step(1);
    double nll = loglik(na, nb);
    while (!(nll >= ll - 1e-9) && s > 1e-6) {  // step halving keeps the likelihood from decreasing
      s *= 0.5;
      na = a + s * step(0);
      nb = b + s * step(1);
      nll = loglik(na, nb);
    }
    a = na;
    b = nb;
    const bool done = std::abs(s * step(0)) < 1e-12 && std::abs(s * step(1)) < 1e-12 * std::max(1.0, std::abs(b));
    ll = nll;
    if (done) break;
  }
  const Eigen::Matrix2d cov = info.inverse();
  f.tau0_s = std::exp(a);
  f.v0_V = 1 / b;
  f.tau0_rel_err = std::sqrt(std::max(0.0, cov(0, 0)));          // d tau0 / tau0 = d a
  f.v0_rel_err = std::sqrt(std::max(0.0, cov(1, 1))) / b;        // d V0 / V0 = d b / b
  std::vector<double> model;
  for (const auto& c : counts) model.push_back(-std::expm1(-c.pulse_s * std::exp(-a + b * c.voltage_V)));
  const auto chi = pearson_chi2(counts, model);
  f.points_used = chi.points;
  f.chi2_per_dof = chi.points > 2 ? chi.chi2 / static_cast<double>(chi.points - 2) : kNaN;
  f.ok = std::isfinite(f.tau0_s) && std::isfinite(f.v0_V) && f.v0_V > 0;
  if (!f.ok) f.note = "the maximum-likelihood iteration did not converge";
  return f;
}

TauAtVoltage fit_tau_at_voltage(std::span<const SwitchCount> counts) {
  TauAtVoltage r{counts.empty() ? kNaN : counts.front().voltage_V, kNaN, kNaN};
  int64_t k_all = 0, n_all = 0;
  for (const auto& c : counts) k_all += c.switched, n_all += c.trials;
  if (k_all == 0 || k_all == n_all) return r;
  // Rate lambda = 1/tau: score sum_i t_i [k_i (1-P_i)/P_i - (n_i - k_i)] = 0, Newton on ln lambda.
  double num = 0, den = 0;
  for (const auto& c : counts) {
    num += static_cast<double>(c.switched);
    den += static_cast<double>(c.trials) * c.pulse_s;  // small-P start: lambda ~ k / sum n t
  }
  double ll = std::log(num / den);
  double info = 0;
  for (int it = 0; it < 200; ++it) {
    const double lam = std::exp(ll);
    double score = 0;
    info = 0;
    for (const auto& c : counts) {
      const double x = lam * c.pulse_s;
      const double P = -std::expm1(-x);
      if (!(P > 0) || !(P < 1)) continue;
      const double n = static_cast<double>(c.trials), k = static_cast<double>(c.switched);
      const double dP = (1 - P) * x;  // dP / d ln lambda
      score += (k - n * P) / (P * (1 - P)) * dP;
      info += n * dP * dP / (P * (1 - P));
    }
    if (!(info > 0)) return r;
    const double step = std::clamp(score / info, -2.0, 2.0);
    ll += step;
    if (std::abs(step) < 1e-13) break;
  }
  r.tau_s = std::exp(-ll);
  r.tau_err_s = r.tau_s / std::sqrt(info);  // d ln tau = d ln lambda
  return r;
}

}  // namespace xbarkit::cbram
