#include "xbarkit/lut/array_ps.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::lut {

double centroid_z(int rows, int k, long long sum_distance) {
  if (k <= 0 || k >= rows) return 0.5;
  // Nearest k rows: distances 1..k; farthest: rows-k+1..rows. Sums: k(k+1)/2 and k(2 rows - k + 1)/2.
  const double lo = 0.5 * k * (k + 1.0);
  const double hi = 0.5 * k * (2.0 * rows - k + 1.0);
  return std::clamp((static_cast<double>(sum_distance) - lo) / (hi - lo), 0.0, 1.0);
}

ColumnFeatures column_features(int rows, int cols, int j, std::span<const uint8_t> inputs,
                               std::span<const uint8_t> weights) {
  ColumnFeatures f;
  long long sum = 0;
  int active = 0;
  for (int i = 0; i < rows; ++i) {
    const bool x = inputs[static_cast<size_t>(i)] != 0;
    active += x;
    if (x && weights[static_cast<size_t>(i) * cols + j]) {
      ++f.k;
      sum += sense_distance(rows, i);
    }
  }
  f.z = centroid_z(rows, f.k, sum);
  f.column = cols > 1 ? static_cast<double>(j) / (cols - 1) : 0.0;
  f.activity = static_cast<double>(active) / rows;
  return f;
}

ArrayPsLut::ArrayPsLut(Bundle bundle) : bundle_(std::move(bundle)) {
  if (bundle_.kind != "array_ps")
    throw Error(fmt::format("bundle {} is of kind '{}', expected 'array_ps'", bundle_.dir.string(), bundle_.kind));
  for (const auto& t : bundle_.tables) {
    const auto& a = t.attributes;
    if (a.value("role", "") != "array_ps") continue;
    ArrayPsConfig c;
    c.table = t.name();
    c.transfer_table = a.value("transfer_table", "");
    c.cell = a.at("cell").get<std::string>();
    c.rows = a.at("rows").get<int>();
    c.cols = a.at("cols").get<int>();
    c.wire_scale = a.at("wire_scale").get<double>();
    c.full_scale_A = a.at("full_scale_A").get<double>();
    for (const auto& ax : t.axes()) c.axes.push_back(ax.name);
    configs_.push_back(c);
    tables_.push_back(&bundle_.table(t.name()));
    mean_col_.push_back(t.column_index("mean_A"));
    std_col_.push_back(t.column_index("std_A"));
  }
  if (configs_.empty()) throw Error(fmt::format("array_ps bundle {} holds no array tables", bundle_.dir.string()));
}

const ArrayPsConfig& ArrayPsLut::find(const std::string& cell, int rows, std::optional<double> wire_scale) const {
  const ArrayPsConfig* best = nullptr;
  double best_d = 0;
  for (const auto& c : configs_) {
    if (c.cell != cell || c.rows != rows) continue;
    const double d = std::abs(c.wire_scale - wire_scale.value_or(1.0));
    if (!best || d < best_d) {
      best = &c;
      best_d = d;
    }
  }
  if (!best) {
    std::string have;
    for (const auto& c : configs_) have += fmt::format("{}{} {} rows (wire x{})", have.empty() ? "" : ", ", c.cell, c.rows, c.wire_scale);
    throw Error(fmt::format("array_ps bundle {} has no table for {} with {} rows; it has: {}", bundle_.dir.string(),
                            cell, rows, have));
  }
  return *best;
}

std::vector<double> ArrayPsLut::coordinates(const ArrayPsConfig& config, const ColumnFeatures& f) const {
  std::vector<double> x;
  x.reserve(config.axes.size());
  for (const auto& a : config.axes) {
    if (a == "k") x.push_back(f.k);
    else if (a == "z") x.push_back(f.z);
    else if (a == "column") x.push_back(f.column);
    else if (a == "activity") x.push_back(f.activity);
    else throw Error(fmt::format("array_ps table {}: unknown axis '{}'", config.table, a));
  }
  return x;
}

CurrentPrediction ArrayPsLut::predict(const ArrayPsConfig& config, const ColumnFeatures& f) const {
  const size_t idx = static_cast<size_t>(&config - configs_.data());
  if (idx >= configs_.size()) throw Error("ArrayPsLut::predict: config does not belong to this LUT");
  const auto x = coordinates(config, f);
  const Table& t = *tables_[idx];
  return {t.interpolate(x, mean_col_[idx]), t.interpolate(x, std_col_[idx])};
}

double ArrayPsLut::sample(const ArrayPsConfig& config, const ColumnFeatures& f, Rng& rng) const {
  const auto p = predict(config, f);
  return std::max(0.0, p.mean_A + p.std_A * rng.normal());
}

}  // namespace xbarkit::lut
