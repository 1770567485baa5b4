#include "xbarkit/characterize/array_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/lut/array_ps.hpp"

namespace xbarkit::characterize {

namespace {
double uniform_in(Rng& rng, double lo, double hi) { return lo == hi ? lo : lo + (hi - lo) * rng.uniform(); }
double row_position(int i, int rows) { return rows > 1 ? static_cast<double>(i) / (rows - 1) : 0.5; }
}  // namespace

void generate_pattern(netlist::Crossbar& xbar, const PatternStats& st, Rng& rng) {
  const int rows = xbar.rows, cols = xbar.cols;
  const double dx = uniform_in(rng, st.input_lo, st.input_hi);
  const double gx = uniform_in(rng, -st.gradient, st.gradient);
  for (int i = 0; i < rows; ++i)
    xbar.inputs[static_cast<size_t>(i)] = rng.bernoulli(std::clamp(dx + gx * (row_position(i, rows) - 0.5), 0.0, 1.0));
  for (int j = 0; j < cols; ++j) {
    const double dw = uniform_in(rng, st.weight_lo, st.weight_hi);
    const double gw = uniform_in(rng, -st.gradient, st.gradient);
    for (int i = 0; i < rows; ++i)
      xbar.weights[static_cast<size_t>(i) * cols + j] =
          rng.bernoulli(std::clamp(dw + gw * (row_position(i, rows) - 0.5), 0.0, 1.0));
  }
}

int anchor_count(int rows, int cols) { return (2 * (rows + 1) + cols - 1) / cols; }

void anchor_pattern(netlist::Crossbar& xbar, int a) {
  const int rows = xbar.rows, cols = xbar.cols;
  std::fill(xbar.inputs.begin(), xbar.inputs.end(), 1);
  std::fill(xbar.weights.begin(), xbar.weights.end(), 0);
  for (int j = 0; j < cols; ++j) {
    const int g = a * cols + j;
    const int k = (g / 2) % (rows + 1);
    const bool far = g % 2 == 1;
    for (int n = 0; n < k; ++n) {
      const int i = far ? n : rows - 1 - n;
      xbar.weights[static_cast<size_t>(i) * cols + j] = 1;
    }
  }
}

std::vector<ColumnSample> column_samples(const netlist::Crossbar& xbar, const std::vector<double>& currents) {
  if (currents.size() != static_cast<size_t>(xbar.cols))
    throw Error(fmt::format("solver returned {} column currents for {} columns", currents.size(), xbar.cols));
  std::vector<ColumnSample> out(static_cast<size_t>(xbar.cols));
  for (int j = 0; j < xbar.cols; ++j) {
    auto& s = out[static_cast<size_t>(j)];
    s.f = lut::column_features(xbar.rows, xbar.cols, j, xbar.inputs, xbar.weights);
    s.current_A = currents[static_cast<size_t>(j)];
  }
  return out;
}

std::vector<double> sample_coordinates(const ColumnSample& s, const std::vector<std::string>& axes,
                                       const lut::LoadNormalizer& q) {
  std::vector<double> x;
  x.reserve(axes.size());
  for (const auto& a : axes) x.push_back(lut::axis_value(a, s.f, q));
  return x;
}

namespace {

struct Kernel {
  const std::vector<std::vector<double>>* x;   // sample coordinates
  const std::vector<double>* y;                // sample currents
  std::vector<std::vector<size_t>> by_k;       // sample indices per integer k
  size_t k_axis = 0;
  bool has_k = false;
};

// Samples and weights near node x0 with bandwidths h * f.
// Bandwidths: h[d] * f on every axis but k, h[k] * fk on k.
void gather(const Kernel& K, const std::vector<double>& x0, const std::vector<double>& h, double f, double fk,
            std::vector<size_t>& idx, std::vector<double>& w) {
  idx.clear();
  w.clear();
  auto consider = [&](size_t i) {
    const auto& xi = (*K.x)[i];
    double wi = 1;
    for (size_t d = 0; d < x0.size(); ++d) {
      if (!std::isfinite(h[d])) continue;
      const double u = std::abs(xi[d] - x0[d]) / (h[d] * (K.has_k && d == K.k_axis ? fk : f));
      if (u >= 1) return;
      wi *= 1 - u;
    }
    idx.push_back(i);
    w.push_back(wi);
  };
  if (K.has_k && std::isfinite(h[K.k_axis])) {
    const double reach = h[K.k_axis] * fk;
    const long lo = std::max(0L, static_cast<long>(std::ceil(x0[K.k_axis] - reach)));
    const long hi = std::min(static_cast<long>(K.by_k.size()) - 1, static_cast<long>(std::floor(x0[K.k_axis] + reach)));
    for (long k = lo; k <= hi; ++k)
      for (size_t i : K.by_k[static_cast<size_t>(k)]) consider(i);
  } else {
    for (size_t i = 0; i < K.x->size(); ++i) consider(i);
  }
}

double effective_n(const std::vector<double>& w) {
  double s = 0, s2 = 0;
  for (double v : w) {
    s += v;
    s2 += v * v;
  }
  return s2 > 0 ? s * s / s2 : 0;
}

double weighted_quantile(std::vector<std::pair<double, double>>& rv, double q) {
  std::sort(rv.begin(), rv.end());
  double total = 0;
  for (const auto& p : rv) total += p.second;
  double acc = 0;
  for (const auto& p : rv) {
    acc += p.second;
    if (acc >= q * total) return p.first;
  }
  return rv.back().first;
}

}  // namespace

lut::Table build_array_table(const ArrayTableSpec& spec, const std::vector<ColumnSample>& samples) {
  std::vector<lut::Axis> axes;
  for (size_t d = 0; d < spec.axes.size(); ++d) axes.push_back({spec.axes[d], "1", spec.points[d]});
  lut::Table t(spec.name, axes,
               {{"mean_A", "A"}, {"std_A", "A"}, {"q05_A", "A"}, {"q25_A", "A"}, {"q50_A", "A"}, {"q75_A", "A"},
                {"q95_A", "A"}, {"n_eff", "1"}});
  if (samples.empty()) throw Error(fmt::format("array table {}: no samples (every sweep point failed?)", spec.name));
  const size_t D = spec.axes.size();
  std::vector<std::vector<double>> X(samples.size());
  std::vector<double> Y(samples.size());
  Kernel K;
  K.x = &X;
  K.y = &Y;
  for (size_t d = 0; d < D; ++d)
    if (spec.axes[d] == "k") {
      K.has_k = true;
      K.k_axis = d;
    }
  if (K.has_k) K.by_k.resize(static_cast<size_t>(spec.rows) + 1);
  const lut::LoadNormalizer norm(spec.rows, spec.rails);
  for (size_t i = 0; i < samples.size(); ++i) {
    X[i] = sample_coordinates(samples[i], spec.axes, norm);
    Y[i] = samples[i].current_A;
    if (K.has_k) K.by_k.at(static_cast<size_t>(samples[i].f.k)).push_back(i);
  }
  const size_t nodes = t.node_count();
  std::vector<double> factor(nodes, 1.0), factor_k(nodes, 1.0);
  std::vector<std::vector<double>> node_h(nodes);
  std::vector<size_t> idx;
  std::vector<double> w;
  const size_t c_mean = 0, c_std = 1, c_neff = 7;
  for (size_t n = 0; n < nodes; ++n) {
    const auto x0 = t.coordinates(n);
    const auto id = t.index_of(n);
    std::vector<double> h(D);
    for (size_t d = 0; d < D; ++d) {
      const auto& p = spec.points[d];
      if (p.size() == 1) {
        h[d] = std::numeric_limits<double>::infinity();
        continue;
      }
      const double left = id[d] > 0 ? p[id[d]] - p[id[d] - 1] : 0;
      const double right = id[d] + 1 < p.size() ? p[id[d] + 1] - p[id[d]] : 0;
      h[d] = std::max(left, right);
    }
    // Widen the other axes first (up to their whole range), k last: k is the axis the current depends
    // on most, and mixing k values blurs exactly what the table is for.
    double f = 1, fk = 1;
    double other_reach = INFINITY;  // smallest bandwidth of the non-k axes relative to their range
    for (size_t d = 0; d < D; ++d) {
      if (K.has_k && d == K.k_axis) continue;
      const auto& p = spec.points[d];
      if (std::isfinite(h[d])) other_reach = std::min(other_reach, h[d] / (p.back() - p.front()));
    }
    for (int widen = 0;; ++widen) {
      gather(K, x0, h, f, fk, idx, w);
      if (effective_n(w) >= spec.min_effective_samples || widen >= 30) break;
      if (other_reach * f < 1) f *= 1.5;
      else fk *= 1.5;
    }
    factor[n] = f;
    factor_k[n] = fk;
    node_h[n] = h;
    t.value(n, c_neff) = effective_n(w);
    if (idx.empty()) {
      t.value(n, c_mean) = std::nan("");
      continue;
    }
    // Local-linear fit on the axes along which the neighbourhood varies.
    std::vector<size_t> active;
    double sw = 0;
    for (double v : w) sw += v;
    for (size_t d = 0; d < D; ++d) {
      if (!std::isfinite(h[d])) continue;
      double m = 0, v2 = 0;
      for (size_t q = 0; q < idx.size(); ++q) m += w[q] * X[idx[q]][d];
      m /= sw;
      for (size_t q = 0; q < idx.size(); ++q) v2 += w[q] * (X[idx[q]][d] - m) * (X[idx[q]][d] - m);
      const double hd = h[d] * (K.has_k && d == K.k_axis ? fk : f);
      if (v2 / sw > 1e-6 * hd * hd) active.push_back(d);
    }
    // Columns: 1, the scaled offset along each active axis, and (when k is active) k times each other
    // active axis: a widened k window then still reproduces the k-dependent slopes (e.g. the HRS
    // cells' share (rows - k) * hrs) instead of averaging them.
    const bool k_active = K.has_k && std::find(active.begin(), active.end(), K.k_axis) != active.end();
    const size_t cross = k_active ? active.size() - 1 : 0;
    const auto P = static_cast<Eigen::Index>(active.size() + 1 + cross);
    Eigen::MatrixXd A = Eigen::MatrixXd::Zero(P, P);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(P);
    double ymin = INFINITY;
    Eigen::VectorXd row(P);
    std::vector<double> u(active.size());
    for (size_t q = 0; q < idx.size(); ++q) {
      row(0) = 1;
      double uk = 0;
      for (size_t a = 0; a < active.size(); ++a) {
        u[a] = (X[idx[q]][active[a]] - x0[active[a]]) / (h[active[a]] * (K.has_k && active[a] == K.k_axis ? fk : f));
        row(static_cast<Eigen::Index>(a + 1)) = u[a];
        if (K.has_k && active[a] == K.k_axis) uk = u[a];
      }
      Eigen::Index c = static_cast<Eigen::Index>(active.size() + 1);
      if (k_active)
        for (size_t a = 0; a < active.size(); ++a)
          if (active[a] != K.k_axis) row(c++) = uk * u[a];
      A.noalias() += w[q] * row * row.transpose();
      b.noalias() += w[q] * Y[idx[q]] * row;
      ymin = std::min(ymin, Y[idx[q]]);
    }
    for (Eigen::Index p = 1; p < P; ++p) A(p, p) += 1e-9 * sw;
    const Eigen::VectorXd beta = A.ldlt().solve(b);
    double mean = beta(0);
    if (!std::isfinite(mean)) mean = b(0) / sw;
    // Column currents are never negative (a sensed column sources current); the local-linear estimate
    // of a near-zero node may dip below by rounding.
    t.value(n, c_mean) = std::max(mean, std::min(0.0, ymin));
  }
  double full_scale = 0;
  for (size_t n = 0; n < nodes; ++n)
    if (std::isfinite(t.value(n, c_mean))) full_scale = std::max(full_scale, t.value(n, c_mean));
  // Residuals against the interpolated mean table, then their spread per node.
  std::vector<double> R(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) R[i] = Y[i] - t.interpolate(X[i], c_mean);
  const double floor = spec.std_floor_fraction * full_scale;
  std::vector<std::pair<double, double>> rv;
  for (size_t n = 0; n < nodes; ++n) {
    const auto x0 = t.coordinates(n);
    gather(K, x0, node_h[n], factor[n], factor_k[n], idx, w);
    const double mean = t.value(n, c_mean);
    if (idx.empty() || !std::isfinite(mean)) {
      for (size_t c = 1; c < 7; ++c) t.value(n, c) = std::nan("");
      continue;
    }
    double sw = 0, s2 = 0;
    rv.clear();
    for (size_t q = 0; q < idx.size(); ++q) {
      sw += w[q];
      s2 += w[q] * R[idx[q]] * R[idx[q]];
      rv.emplace_back(R[idx[q]], w[q]);
    }
    t.value(n, c_std) = std::max(std::sqrt(s2 / sw), floor);
    const double qs[] = {0.05, 0.25, 0.5, 0.75, 0.95};
    for (size_t c = 0; c < 5; ++c) t.value(n, 2 + c) = mean + weighted_quantile(rv, qs[c]);
  }
  t.attributes["full_scale_A"] = full_scale;
  return t;
}

lut::Table build_transfer_table(const std::string& name, int rows, const std::vector<ColumnSample>& samples) {
  std::vector<double> kp(static_cast<size_t>(rows) + 1);
  std::iota(kp.begin(), kp.end(), 0.0);
  lut::Table t(name, {{"k", "1", kp}}, {{"mean_A", "A"}, {"std_A", "A"}, {"count", "1"}});
  std::vector<double> s1(kp.size(), 0), s2(kp.size(), 0), cnt(kp.size(), 0);
  for (const auto& s : samples) {
    const auto k = static_cast<size_t>(s.f.k);
    s1[k] += s.current_A;
    s2[k] += s.current_A * s.current_A;
    cnt[k] += 1;
  }
  std::vector<double> known_k, known_mean;
  for (size_t k = 0; k < kp.size(); ++k) {
    t.value(k, 2) = cnt[k];
    if (cnt[k] > 0) {
      const double m = s1[k] / cnt[k];
      t.value(k, 0) = m;
      t.value(k, 1) = cnt[k] > 1 ? std::sqrt(std::max(0.0, (s2[k] - cnt[k] * m * m) / (cnt[k] - 1))) : 0.0;
      known_k.push_back(static_cast<double>(k));
      known_mean.push_back(m);
    }
  }
  if (known_k.empty()) throw Error(fmt::format("transfer table {}: no samples", name));
  // k values the patterns never produced: linear interpolation between the nearest observed ones
  // (constant-slope continuation at the ends); count = 0 marks them.
  for (size_t k = 0; k < kp.size(); ++k) {
    if (cnt[k] > 0) continue;
    const double kk = static_cast<double>(k);
    size_t hi = static_cast<size_t>(std::upper_bound(known_k.begin(), known_k.end(), kk) - known_k.begin());
    if (known_k.size() == 1) {
      t.value(k, 0) = known_mean[0];
    } else {
      hi = std::clamp<size_t>(hi, 1, known_k.size() - 1);
      const size_t lo = hi - 1;
      const double u = (kk - known_k[lo]) / (known_k[hi] - known_k[lo]);
      t.value(k, 0) = known_mean[lo] + u * (known_mean[hi] - known_mean[lo]);
    }
    t.value(k, 1) = std::nan("");
  }
  return t;
}

nlohmann::json HeldOutCheck::to_json() const {
  return {{"samples", samples},
          {"full_scale_A", full_scale_A},
          {"nrmse_mean", nrmse_mean},
          {"max_abs_error_fs", max_abs_error_fs},
          {"coverage_2sigma", coverage_2sigma},
          {"coverage_1sigma", coverage_1sigma},
          {"ideal_nrmse", ideal_nrmse}};
}

HeldOutCheck check_held_out(const lut::Table& table, const std::vector<ColumnSample>& samples, int rows,
                            lut::RailWeights rails, double ideal_cell_A) {
  const lut::LoadNormalizer norm(rows, rails);
  HeldOutCheck c;
  c.samples = samples.size();
  const size_t cm = table.column_index("mean_A"), cs = table.column_index("std_A");
  for (size_t n = 0; n < table.node_count(); ++n)
    if (std::isfinite(table.value(n, cm))) c.full_scale_A = std::max(c.full_scale_A, table.value(n, cm));
  if (samples.empty() || !(c.full_scale_A > 0)) return c;
  std::vector<std::string> axes;
  for (const auto& a : table.axes()) axes.push_back(a.name);
  double se = 0, se_ideal = 0;
  size_t in2 = 0, in1 = 0;
  for (const auto& s : samples) {
    const auto x = sample_coordinates(s, axes, norm);
    const double m = table.interpolate(x, cm), sd = table.interpolate(x, cs);
    const double e = s.current_A - m;
    se += e * e;
    c.max_abs_error_fs = std::max(c.max_abs_error_fs, std::abs(e) / c.full_scale_A);
    in2 += std::abs(e) <= 2 * sd;
    in1 += std::abs(e) <= sd;
    const double ei = s.current_A - s.f.k * ideal_cell_A;
    se_ideal += ei * ei;
  }
  const double n = static_cast<double>(samples.size());
  c.nrmse_mean = std::sqrt(se / n) / c.full_scale_A;
  c.coverage_2sigma = in2 / n;
  c.coverage_1sigma = in1 / n;
  c.ideal_nrmse = std::sqrt(se_ideal / n) / c.full_scale_A;
  return c;
}

}  // namespace xbarkit::characterize
