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

ColumnFeatures column_features_from_rows(int rows, int cols, int j, int active_rows, std::span<const int> conducting) {
  ColumnFeatures f;
  f.rows = rows;
  f.cols = cols;
  f.column = j;
  f.active_rows = active_rows;
  f.k = static_cast<int>(conducting.size());
  const long long k = f.k;
  // conducting rows ascending: row r has top distance r + 1 and bottom distance rows - r.
  // Bottom rail: segment s (s = 1..rows) carries cells with bottom distance >= s, i.e. row <= rows - s.
  // Top rail: segment t carries cells with top distance >= t, i.e. row >= t - 1.
  size_t next = 0;     // first conducting row not yet passed going down from the top
  long long above = 0; // conducting rows with row < current
  for (int r = 0; r < rows; ++r) {
    // top segment t = r + 1 carries cells with row >= r
    while (next < conducting.size() && conducting[next] < r) {
      ++next;
      ++above;
    }
    const long long n_top = k - above;
    f.load_top += n_top * n_top;
  }
  // bottom: segment s carries rows <= rows - s; iterate s = 1..rows, i.e. row bound b = rows - s.
  long long below_or_eq = k;  // conducting rows <= b, starting at b = rows - 1
  size_t idx = conducting.size();
  for (int b = rows - 1; b >= 0; --b) {
    while (idx > 0 && conducting[idx - 1] > b) {
      --idx;
      --below_or_eq;
    }
    f.load_bottom += below_or_eq * below_or_eq;
  }
  for (int r : conducting) f.sum_distance += sense_distance(rows, r);
  return f;
}

ColumnFeatures column_features(int rows, int cols, int j, std::span<const uint8_t> inputs,
                               std::span<const uint8_t> weights) {
  std::vector<int> on;
  int active = 0;
  for (int i = 0; i < rows; ++i) {
    const bool x = inputs[static_cast<size_t>(i)] != 0;
    active += x;
    if (x && weights[static_cast<size_t>(i) * cols + j]) on.push_back(i);
  }
  return column_features_from_rows(rows, cols, j, active, on);
}

LoadNormalizer::LoadNormalizer(int rows, RailWeights weights) : rows_(rows), w_(weights) {
  lo_.assign(static_cast<size_t>(rows) + 1, 0);
  hi_.assign(static_cast<size_t>(rows) + 1, 0);
  std::vector<int> on;
  for (int k = 0; k <= rows; ++k) {
    double lo = INFINITY, hi = -INFINITY;
    auto consider = [&](const std::vector<int>& rowsv) {
      const auto f = column_features_from_rows(rows, 1, 0, rows, rowsv);
      const double q = w_.top * static_cast<double>(f.load_top) + w_.bottom * static_cast<double>(f.load_bottom);
      lo = std::min(lo, q);
      hi = std::max(hi, q);
    };
    on.clear();
    for (int n = 0; n < k; ++n) on.push_back(n);  // top block
    consider(on);
    on.clear();
    for (int n = rows - k; n < rows; ++n) on.push_back(n);  // bottom block
    consider(on);
    on.clear();
    for (int n = (rows - k) / 2; n < (rows - k) / 2 + k; ++n) on.push_back(n);  // middle block
    consider(on);
    on.clear();
    for (int n = 0; n < k / 2; ++n) on.push_back(n);  // split between both ends
    for (int n = rows - (k - k / 2); n < rows; ++n) on.push_back(n);
    consider(on);
    lo_[static_cast<size_t>(k)] = lo;
    hi_[static_cast<size_t>(k)] = hi;
  }
}

void LoadNormalizer::rows_mismatch(int rows) const {
  throw Error(fmt::format("load normalizer for {} rows applied to a {}-row column", rows_, rows));
}

namespace {
constexpr std::pair<ArrayPsAxis, std::string_view> kAxes[] = {{ArrayPsAxis::k, "k"},     {ArrayPsAxis::q, "q"},           {ArrayPsAxis::hrs, "hrs"},
                                                      {ArrayPsAxis::z, "z"},     {ArrayPsAxis::column, "column"}, {ArrayPsAxis::activity, "activity"}};
}

std::string_view axis_name(ArrayPsAxis a) {
  for (const auto& [ax, name] : kAxes)
    if (ax == a) return name;
  return "?";
}

std::optional<ArrayPsAxis> parse_axis(std::string_view name) {
  for (const auto& [ax, n] : kAxes)
    if (n == name) return ax;
  return std::nullopt;
}

std::string axis_names() {
  std::string out;
  for (const auto& [ax, n] : kAxes) out += (out.empty() ? "" : " | ") + std::string(n);
  return out;
}

FeatureNeeds feature_needs(ArrayPsAxis a, RailWeights rails) {
  FeatureNeeds n;
  if (a == ArrayPsAxis::q) n.load_top = rails.top != 0, n.load_bottom = rails.bottom != 0;
  if (a == ArrayPsAxis::z) n.sum_distance = true;
  return n;
}

double axis_value(const std::string& axis, const ColumnFeatures& f, const LoadNormalizer& q) {
  const auto a = parse_axis(axis);
  if (!a) throw Error(fmt::format("unknown array_ps axis '{}' ({})", axis, axis_names()));
  return axis_value(*a, f, q);
}

nlohmann::json ArrayPsConfig::to_attributes() const {
  nlohmann::json a{{"role", "array_ps"},
          {"cell", cell},
          {"rows", rows},
          {"cols", cols},
          {"wire_scale", wire_scale},
          {"r_bitline_ohm", r_bitline_ohm},
          {"r_sourceline_ohm", r_sourceline_ohm},
          {"r_wordline_ohm", r_wordline_ohm},
          {"v_read_V", v_read_V},
          {"full_scale_A", full_scale_A},
          {"ideal_cell_current_A", ideal_cell_current_A},
          {"ideal_off_cell_current_A", ideal_off_cell_current_A},
          {"rail_weight_top", rails.top},
          {"rail_weight_bottom", rails.bottom},
          {"transfer_table", transfer_table},
          {"samples", samples},
          {"axes_reason", axes_reason}};
  if (!corner.empty()) a["corner"] = corner;
  if (vdd_V > 0) a["vdd_V"] = vdd_V;
  if (temperature_K > 0) a["temperature_K"] = temperature_K;
  if (!variation.is_null()) a["variation"] = variation;
  return a;
}

ArrayPsConfig ArrayPsConfig::from_table(const Table& t, const std::string& bundle_name) {
  const auto& a = t.attributes;
  auto where = [&](const char* key) { return fmt::format("{}: table {}: attribute {}", bundle_name, t.name(), key); };
  auto number = [&](const char* key, std::optional<double> dflt = std::nullopt) {
    if (!a.contains(key)) {
      if (dflt) return *dflt;
      throw Error(fmt::format("{}: missing", where(key)));
    }
    if (!a.at(key).is_number()) throw Error(fmt::format("{}: not a number", where(key)));
    const double v = a.at(key).get<double>();
    if (!std::isfinite(v)) throw Error(fmt::format("{}: not finite ({})", where(key), v));
    return v;
  };
  auto text = [&](const char* key, std::optional<std::string> dflt = std::nullopt) {
    if (!a.contains(key)) {
      if (dflt) return *dflt;
      throw Error(fmt::format("{}: missing", where(key)));
    }
    if (!a.at(key).is_string()) throw Error(fmt::format("{}: not a string", where(key)));
    return a.at(key).get<std::string>();
  };
  ArrayPsConfig c;
  c.table = t.name();
  c.transfer_table = text("transfer_table", "");
  c.cell = text("cell");
  const double rows = number("rows"), cols = number("cols");
  if (!(rows >= 1 && rows <= 65536 && rows == std::floor(rows))) throw Error(fmt::format("{}: must be a row count", where("rows")));
  if (!(cols >= 1 && cols <= 65536 && cols == std::floor(cols))) throw Error(fmt::format("{}: must be a column count", where("cols")));
  c.rows = static_cast<int>(rows);
  c.cols = static_cast<int>(cols);
  c.wire_scale = number("wire_scale");
  if (c.wire_scale < 0) throw Error(fmt::format("{}: negative", where("wire_scale")));
  c.r_bitline_ohm = number("r_bitline_ohm", 0.0);
  c.r_sourceline_ohm = number("r_sourceline_ohm", 0.0);
  c.r_wordline_ohm = number("r_wordline_ohm", 0.0);
  c.v_read_V = number("v_read_V", 0.0);
  c.full_scale_A = number("full_scale_A");
  c.ideal_cell_current_A = number("ideal_cell_current_A", 0.0);
  c.ideal_off_cell_current_A = number("ideal_off_cell_current_A", 0.0);
  c.rails = {number("rail_weight_top", 0.0), number("rail_weight_bottom", 1.0)};
  if (c.rails.top < 0 || c.rails.bottom < 0 || std::abs(c.rails.top + c.rails.bottom - 1) > 1e-9)
    throw Error(fmt::format("{}: rail weights must be >= 0 and sum to 1", where("rail_weight_top")));
  c.samples = static_cast<size_t>(number("samples", 0.0));
  c.axes_reason = text("axes_reason", "");
  c.corner = text("corner", "");
  c.vdd_V = number("vdd_V", 0.0);
  c.temperature_K = number("temperature_K", 0.0);
  if (c.vdd_V < 0 || c.temperature_K < 0) throw Error(fmt::format("{}: negative", where("vdd_V / temperature_K")));
  if (a.contains("variation")) {
    if (!a.at("variation").is_object()) throw Error(fmt::format("{}: not an object", where("variation")));
    c.variation = a.at("variation");
  }
  for (const auto& ax : t.axes()) {
    const auto parsed = parse_axis(ax.name);
    if (!parsed)
      throw Error(fmt::format("{}: table {}: unknown axis '{}' ({})", bundle_name, t.name(), ax.name, axis_names()));
    c.axes.push_back(*parsed);
  }
  if (std::find(c.axes.begin(), c.axes.end(), ArrayPsAxis::k) == c.axes.end())
    throw Error(fmt::format("{}: table {} has no k axis", bundle_name, t.name()));
  return c;
}

ArrayPsLut::ArrayPsLut(Bundle bundle) : bundle_(std::move(bundle)) {
  if (bundle_.kind != "array_ps")
    throw Error(fmt::format("bundle {} is of kind '{}', expected 'array_ps'", bundle_.dir.string(), bundle_.kind));
  for (const auto& t : bundle_.tables) {
    if (!t.attributes.is_object() || t.attributes.value("role", "") != "array_ps") continue;
    configs_.push_back(ArrayPsConfig::from_table(t, bundle_.dir.string()));
    const auto& c = configs_.back();
    tables_.push_back(&bundle_.table(t.name()));
    normalizers_.emplace_back(c.rows, c.rails);
    mean_col_.push_back(t.column_index("mean_A"));
    std_col_.push_back(t.column_index("std_A"));
  }
  if (configs_.empty()) throw Error(fmt::format("array_ps bundle {} holds no array tables", bundle_.dir.string()));
}

std::vector<std::string> ArrayPsLut::corners(const std::string& cell, int rows) const {
  std::vector<std::string> out;
  for (const auto& c : configs_)
    if (c.cell == cell && c.rows == rows && std::find(out.begin(), out.end(), c.corner) == out.end())
      out.push_back(c.corner);
  std::sort(out.begin(), out.end());
  return out;
}

const ArrayPsConfig& ArrayPsLut::find(const std::string& cell, int rows, std::optional<double> wire_scale,
                                      const std::string& corner) const {
  const auto have_corners = corners(cell, rows);
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& c : v) s += fmt::format("{}{}", s.empty() ? "" : ", ", c.empty() ? "(nominal)" : c);
    return s;
  };
  if (corner.empty() && have_corners.size() > 1)
    throw Error(fmt::format("array_ps bundle {} has {} {}-row tables for several corners ({}); name one (infer "
                            "--corner)", bundle_.dir.string(), cell, rows, list(have_corners)));
  if (!corner.empty() && !have_corners.empty() &&
      std::find(have_corners.begin(), have_corners.end(), corner) == have_corners.end())
    throw Error(fmt::format("array_ps bundle {} has no {} {}-row table for corner '{}' (it has: {})",
                            bundle_.dir.string(), cell, rows, corner, list(have_corners)));
  const ArrayPsConfig* best = nullptr;
  double best_d = 0;
  for (const auto& c : configs_) {
    if (c.cell != cell || c.rows != rows) continue;
    if (!corner.empty() && c.corner != corner) continue;
    const double d = std::abs(c.wire_scale - wire_scale.value_or(1.0));
    if (!best || d < best_d) {
      best = &c;
      best_d = d;
    }
  }
  if (!best) {
    std::string have;
    for (const auto& c : configs_)
      have += fmt::format("{}{} {} rows (wire x{})", have.empty() ? "" : ", ", c.cell, c.rows, c.wire_scale);
    throw Error(fmt::format("array_ps bundle {} has no table for {} with {} rows; it has: {}", bundle_.dir.string(),
                            cell, rows, have));
  }
  return *best;
}

size_t ArrayPsLut::index_of(const ArrayPsConfig& config) const {
  const auto idx = static_cast<size_t>(&config - configs_.data());
  if (idx >= configs_.size()) throw Error("ArrayPsLut: the configuration does not belong to this LUT");
  return idx;
}

std::vector<double> ArrayPsLut::coordinates(const ArrayPsConfig& config, const ColumnFeatures& f) const {
  const size_t idx = index_of(config);
  std::vector<double> x;
  x.reserve(config.axes.size());
  for (const auto& a : config.axes) x.push_back(axis_value(a, f, normalizers_[idx]));
  return x;
}

CurrentPrediction ArrayPsLut::predict(const ArrayPsConfig& config, const ColumnFeatures& f) const {
  const size_t idx = index_of(config);
  const auto x = coordinates(config, f);
  const Table& t = *tables_[idx];
  return {t.interpolate(x, mean_col_[idx]), t.interpolate(x, std_col_[idx])};
}

double ArrayPsLut::sample(const ArrayPsConfig& config, const ColumnFeatures& f, Rng& rng) const {
  const auto p = predict(config, f);
  return std::max(0.0, p.mean_A + p.std_A * rng.normal());
}

}  // namespace xbarkit::lut
