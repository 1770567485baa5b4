#pragma once
// Sensed column current of a tile column read, from an array_ps LUT bundle (lut/array_ps.hpp).
//
// FastArrayLut evaluates one configuration's (mean, std) table without allocation. When the table's
// axes are k plus at most one other axis it is resampled once at every integer k (bilinear
// interpolation is separable, so this equals lut::ArrayPsLut::predict exactly at integer k) and a
// query is one bracket on the second axis; other layouts fall back to lut::Table::interpolate.
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
  // Which raw features the axes need (so the caller computes no more than that).
  FeatureNeeds needs() const { return needs_; }

  lut::CurrentPrediction predict(const lut::ColumnFeatures& f) const;
  // normal(mean, std) truncated at 0, as lut::ArrayPsLut::sample.
  double sample(const lut::ColumnFeatures& f, Rng& rng) const {
    const auto p = predict(f);
    const double v = p.mean_A + p.std_A * rng.normal();
    return v > 0 ? v : 0.0;
  }

private:
  using Ax = lut::ArrayPsAxis;
  double coord(Ax a, const lut::ColumnFeatures& f) const { return lut::axis_value(a, f, norm_); }
  std::shared_ptr<const lut::ArrayPsLut> lut_;
  lut::ArrayPsConfig config_;
  const lut::Table* table_ = nullptr;
  size_t mean_col_ = 0, std_col_ = 0;
  lut::LoadNormalizer norm_;
  std::vector<Ax> axes_;
  FeatureNeeds needs_;
  // Dense path: (rows + 1) × m nodes of (mean, std) along the second axis' grid.
  bool dense_ = false;
  Ax second_ = Ax::k;
  bool uniform_ = false;            // equally spaced grid: bracket by arithmetic
  std::vector<double> grid_;        // second axis points (one point 0 when the table is 1-D in k)
  std::vector<double> mean_, std_;  // (k * m + node)
};

}  // namespace xbarkit::imc
