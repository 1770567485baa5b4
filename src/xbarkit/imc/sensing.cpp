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
  if (axes_.size() <= 2) {
    dense_ = true;
    const size_t ki = size_t(kpos - axes_.begin());
    const size_t oi = axes_.size() == 2 ? 1 - ki : ki;
    if (axes_.size() == 2) {
      second_ = axes_[oi];
      grid_ = table_->axes()[oi].points;
    } else {
      grid_ = {0.0};
    }
    const size_t m = grid_.size();
    uniform_ = m >= 2;
    for (size_t g = 1; g < m; ++g)
      if (std::abs((grid_[g] - grid_[0]) - double(g) * (grid_[1] - grid_[0])) > 1e-12 * (1 + std::abs(grid_.back())))
        uniform_ = false;
    mean_.resize(size_t(config_.rows + 1) * m);
    std_.resize(mean_.size());
    double x[2];
    for (int k = 0; k <= config_.rows; ++k)
      for (size_t g = 0; g < m; ++g) {
        x[ki] = k;
        if (axes_.size() == 2) x[oi] = grid_[g];
        const std::span<const double> xs(x, axes_.size());
        mean_[size_t(k) * m + g] = table_->interpolate(xs, mean_col_);
        std_[size_t(k) * m + g] = table_->interpolate(xs, std_col_);
      }
  }
}

lut::CurrentPrediction FastArrayLut::predict(const lut::ColumnFeatures& f) const {
  if (dense_) {
    const size_t m = grid_.size();
    const size_t base = size_t(std::clamp(f.k, 0, config_.rows)) * m;
    if (m == 1) return {mean_[base], std_[base]};
    double x = std::clamp(coord(second_, f), grid_.front(), grid_.back());
    size_t lo;
    double t;
    if (uniform_) {
      const double u = (x - grid_.front()) / (grid_[1] - grid_[0]);
      lo = std::min(size_t(u), m - 2);
      t = u - double(lo);
    } else {
      size_t hi = size_t(std::upper_bound(grid_.begin(), grid_.end(), x) - grid_.begin());
      hi = std::clamp<size_t>(hi, 1, m - 1);
      lo = hi - 1;
      t = (x - grid_[lo]) / (grid_[hi] - grid_[lo]);
    }
    const size_t hi = lo + 1;
    return {mean_[base + lo] + t * (mean_[base + hi] - mean_[base + lo]),
            std_[base + lo] + t * (std_[base + hi] - std_[base + lo])};
  }
  double x[8];
  for (size_t d = 0; d < axes_.size(); ++d) x[d] = coord(axes_[d], f);
  const std::span<const double> xs(x, axes_.size());
  return {table_->interpolate(xs, mean_col_), table_->interpolate(xs, std_col_)};
}

}  // namespace xbarkit::imc
