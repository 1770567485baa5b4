#pragma once
// Sensed column current of a tile column read, from an array_ps LUT bundle (lut/array_ps.hpp).
//
// FastArrayLut evaluates one configuration's (mean, std) table without allocation. When the table's
// axes are k plus at most two others (sram8t: k, q; rram1t1r: k, q, hrs) it is resampled once at
// every integer k on the other axes' own grid points (multilinear interpolation is separable, so
// this equals lut::ArrayPsLut::predict at integer k, to rounding) and a query is one bracket per other
// axis; other layouts fall back to lut::Table::interpolate.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/imc/features.hpp"
#include "xbarkit/lut/array_ps.hpp"

namespace xbarkit::imc {

class FastArrayLut {
public:
  FastArrayLut(std::shared_ptr<const lut::ArrayPsLut> lut, const lut::ArrayPsConfig& config);

  const lut::ArrayPsConfig& config() const { return config_; }
  int rows() const { return config_.rows; }
  double ideal_cell_current_A() const { return config_.ideal_cell_current_A; }

  lut::CurrentPrediction predict(const lut::ColumnFeatures& f) const;
  // normal(mean, std) truncated at 0, as lut::ArrayPsLut::sample.
  double sample(const lut::ColumnFeatures& f, Rng& rng) const { return draw(predict(f), rng); }

  // What the read loops call: the prediction for a column read from its conducting-row mask (k set
  // bits; the tile's rows, which must be the table's, its column count, the column and its driven
  // rows for the axes that need them), by the inline (k, q) path below where the table allows; and
  // the sensed current, a draw (`noise`) or the mean clamped at 0.
  lut::CurrentPrediction predict_mask(const uint64_t* mask, int rows, int k, int cols, int column, int active_rows) const {
    if (rows != config_.rows) rows_mismatch(rows);
    if (kq_inline_) return predict_kq(mask, k);
    return predict(mask_features(mask, rows, cols, column, active_rows, needs_));
  }
  double current(const uint64_t* mask, int rows, int k, int cols, int column, int active_rows, bool noise, Rng& rng) const {
    const auto p = predict_mask(mask, rows, k, cols, column, active_rows);
    return noise ? draw(p, rng) : std::max(0.0, p.mean_A);
  }
  // Whether predict_mask takes the inline path: the sram8t layout, a (k, q) table on a uniform q grid
  // whose load is the bottom rail's alone.
  bool kq_inline() const { return kq_inline_; }

private:
  using Ax = lut::ArrayPsAxis;
  // The inline path: the bottom load straight from the mask (k set bits), and the load normalization
  // and the grid bracket, two divisions in predict(), folded into one affine map per k,
  // u = a_k·load + b_k (grid units, clamped); equal to predict(mask_features(…)) to a few ulps rather
  // than bit for bit (tested). Only when kq_inline_.
  lut::CurrentPrediction predict_kq(const uint64_t* mask, int k) const {
    const size_t kk = size_t(std::clamp(k, 0, config_.rows));
    const double u = std::clamp(kq_a_[kk] * double(bottom_load(mask, config_.rows)) + kq_b_[kk], kq_u_lo_, kq_u_hi_);
    const size_t lo = std::min(size_t(u), kq_last_cell_);
    const double t = u - double(lo);
    const size_t at = kk * nodes_per_k_ + lo;
    return {mean_[at] + t * (mean_[at + 1] - mean_[at]), std_[at] + t * (std_[at + 1] - std_[at])};
  }
  [[noreturn]] void rows_mismatch(int rows) const;
  static double draw(const lut::CurrentPrediction& p, Rng& rng) {
    const double v = p.mean_A + p.std_A * rng.normal();
    return v > 0 ? v : 0.0;
  }
  double coord(Ax a, const lut::ColumnFeatures& f) const { return lut::axis_value(a, f, norm_); }
  std::shared_ptr<const lut::ArrayPsLut> lut_;
  lut::ArrayPsConfig config_;
  const lut::Table* table_ = nullptr;
  size_t mean_col_ = 0, std_col_ = 0;
  lut::LoadNormalizer norm_;
  std::vector<Ax> axes_;
  FeatureNeeds needs_;
  // Dense path: (rows + 1) × nodes_per_k_ values of (mean, std), the nodes the tensor product of
  // the non-k axes' grids (the first axis fastest).
  static constexpr size_t kMaxDenseAxes = 2;
  struct Grid {
    Ax axis = Ax::k;
    std::vector<double> points;
    bool uniform = false;  // equally spaced: bracket by arithmetic
    size_t stride = 1;     // node index step of one grid point
    // The grid cell holding x (clamped to the grid) and the fraction t of the way from its lower node.
    [[gnu::always_inline]] void bracket(double x, size_t& lo, double& t) const {
      const size_t m = points.size();
      if (m == 1) {
        lo = 0;
        t = 0;
        return;
      }
      x = std::clamp(x, points.front(), points.back());
      if (uniform) {
        const double u = (x - points.front()) / (points[1] - points[0]);
        lo = std::min(size_t(u), m - 2);
        t = u - double(lo);
        return;
      }
      size_t hi = size_t(std::upper_bound(points.begin(), points.end(), x) - points.begin());
      hi = std::clamp<size_t>(hi, 1, m - 1);
      lo = hi - 1;
      t = (x - points[lo]) / (points[hi] - points[lo]);
    }
  };
  bool dense_ = false;
  bool kq_inline_ = false;
  std::vector<double> kq_a_, kq_b_;  // per k: grid coordinate u = a·load_bottom + b before clamping
  double kq_u_lo_ = 0, kq_u_hi_ = 0;
  size_t kq_last_cell_ = 0;
  size_t n_dense_ = 0;
  Grid grids_[kMaxDenseAxes];
  size_t nodes_per_k_ = 1;
  std::vector<double> mean_, std_;  // (k * nodes_per_k_ + node)
};

}  // namespace xbarkit::imc
