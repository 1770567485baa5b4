#include "xbarkit/imc/sensing.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::imc {

FastArrayLut::FastArrayLut(std::shared_ptr<const lut::ArrayPsLut> lut, const lut::ArrayPsConfig& config)
    : lut_(std::move(lut)), config_(config) {
  table_ = &lut_->bundle().table(config_.table);
  mean_col_ = table_->column_index("mean_A");
  std_col_ = table_->column_index("std_A");
  norm_ = lut::LoadNormalizer(config_.rows, config_.rails);
  axes_ = config_.axes;
  for (const auto a : axes_) needs_ |= lut::feature_needs(a, config_.rails);
  const auto kpos = std::find(axes_.begin(), axes_.end(), Ax::k);
  if (kpos == axes_.end()) throw Error(fmt::format("array_ps table {} has no k axis", config_.table));
  if (axes_.size() > 1 + kMaxDenseAxes) return;  // general path: lut::Table::interpolate
  dense_ = true;
  const size_t ki = size_t(kpos - axes_.begin());
  std::vector<size_t> table_axis;  // the table's index of each dense (non-k) axis
  for (size_t d = 0; d < axes_.size(); ++d)
    if (d != ki) table_axis.push_back(d);
  n_dense_ = table_axis.size();
  size_t nodes = 1;
  for (size_t a = 0; a < n_dense_; ++a) {
    Grid& g = grids_[a];
    g.axis = axes_[table_axis[a]];
    g.points = table_->axes()[table_axis[a]].points;
    const size_t m = g.points.size();
    g.uniform = m >= 2;
    for (size_t i = 1; i < m; ++i)
      if (std::abs((g.points[i] - g.points[0]) - double(i) * (g.points[1] - g.points[0])) >
          1e-12 * (1 + std::abs(g.points.back())))
        g.uniform = false;
    g.stride = nodes;
    nodes *= m;
  }
  nodes_per_k_ = nodes;
  mean_.resize(size_t(config_.rows + 1) * nodes);
  std_.resize(mean_.size());
  double x[1 + kMaxDenseAxes];
  for (int k = 0; k <= config_.rows; ++k)
    for (size_t node = 0; node < nodes; ++node) {
      x[ki] = k;
      for (size_t a = 0; a < n_dense_; ++a)
        x[table_axis[a]] = grids_[a].points[(node / grids_[a].stride) % grids_[a].points.size()];
      const std::span<const double> xs(x, axes_.size());
      mean_[size_t(k) * nodes + node] = table_->interpolate(xs, mean_col_);
      std_[size_t(k) * nodes + node] = table_->interpolate(xs, std_col_);
    }
  kq_inline_ = n_dense_ == 1 && grids_[0].axis == Ax::q && grids_[0].uniform && needs_.load_bottom &&
               !needs_.load_top && !needs_.sum_distance;
  if (!kq_inline_) return;
  // predict(): x = clamp(clamp((w·load − lo_k) / (hi_k − lo_k), 0, 1), p0, p_end) (0.5 when the
  // placements of k cells span no load), u = (x − p0) / step. Both clamps are monotone, so this is
  // u = clamp(a_k·load + b_k, u(clamp(0)), u(clamp(1))) with the affine map below.
  const auto& g = grids_[0].points;
  const double p0 = g.front(), p_end = g.back(), step = g[1] - g[0];
  auto grid_u = [&](double x) { return (std::clamp(x, p0, p_end) - p0) / step; };
  kq_u_lo_ = grid_u(0.0);
  kq_u_hi_ = grid_u(1.0);
  kq_last_cell_ = g.size() - 2;
  const double w = config_.rails.bottom;
  kq_a_.assign(size_t(config_.rows) + 1, 0.0);
  kq_b_.assign(size_t(config_.rows) + 1, grid_u(0.5));
  for (int k = 0; k <= config_.rows; ++k) {
    const double lo = norm_.lo(k), hi = norm_.hi(k);
    if (!(hi - lo > 1e-9 * std::max(1.0, hi))) continue;  // the normalizer's degenerate case: q = 0.5
    kq_a_[size_t(k)] = w / ((hi - lo) * step);
    kq_b_[size_t(k)] = (-lo / (hi - lo) - p0) / step;
  }
}

void FastArrayLut::rows_mismatch(int rows) const {
  throw Error(fmt::format("array_ps table {} has {} rows, read with {}", config_.table, config_.rows, rows));
}

lut::CurrentPrediction FastArrayLut::predict(const lut::ColumnFeatures& f) const {
  if (dense_) {
    const size_t base = size_t(std::clamp(f.k, 0, config_.rows)) * nodes_per_k_;
    if (n_dense_ == 0) return {mean_[base], std_[base]};
    if (n_dense_ == 1) {  // the common case (sram8t: k, q), kept to one lerp
      size_t lo;
      double t;
      grids_[0].bracket(coord(grids_[0].axis, f), lo, t);
      const size_t hi = grids_[0].points.size() > 1 ? lo + 1 : lo;
      return {mean_[base + lo] + t * (mean_[base + hi] - mean_[base + lo]),
              std_[base + lo] + t * (std_[base + hi] - std_[base + lo])};
    }
    // Multilinear interpolation over the dense axes: 2^n corners around the query.
    size_t lo[kMaxDenseAxes];
    double t[kMaxDenseAxes];
    size_t step[kMaxDenseAxes];
    for (size_t a = 0; a < n_dense_; ++a) {
      grids_[a].bracket(coord(grids_[a].axis, f), lo[a], t[a]);
      step[a] = grids_[a].points.size() > 1 ? grids_[a].stride : 0;
    }
    double mean = 0, std = 0;
    for (size_t corner = 0; corner < (size_t(1) << n_dense_); ++corner) {
      double w = 1;
      size_t at = base;
      for (size_t a = 0; a < n_dense_; ++a) {
        const bool up = (corner >> a) & 1;
        w *= up ? t[a] : 1 - t[a];
        at += lo[a] * grids_[a].stride + (up ? step[a] : 0);
      }
      mean += w * mean_[at];
      std += w * std_[at];
    }
    return {mean, std};
  }
  double x[8];
  for (size_t d = 0; d < axes_.size(); ++d) x[d] = coord(axes_[d], f);
  const std::span<const double> xs(x, axes_.size());
  return {table_->interpolate(xs, mean_col_), table_->interpolate(xs, std_col_)};
}

}  // namespace xbarkit::imc
