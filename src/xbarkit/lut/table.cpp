#include "xbarkit/lut/table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::lut {

std::string to_string(Interp interp) { return interp == Interp::linear ? "linear" : "monotone_cubic"; }

Interp parse_interp(const std::string& s) {
  if (s == "linear") return Interp::linear;
  if (s == "monotone_cubic") return Interp::monotone_cubic;
  throw Error(fmt::format("unknown interpolation '{}' (linear | monotone_cubic)", s));
}

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.17g}", v);
}

Table::Table(std::string name, std::vector<Axis> axes, std::vector<Column> columns)
    : name_(std::move(name)), axes_(std::move(axes)), columns_(std::move(columns)) {
  if (name_.empty()) throw Error("table name is empty");
  if (columns_.empty()) throw Error(fmt::format("table '{}': needs at least one value column", name_));
  std::set<std::string> names;
  for (const auto& a : axes_) {
    if (a.name.empty()) throw Error(fmt::format("table '{}': an axis has no name", name_));
    if (!names.insert(a.name).second) throw Error(fmt::format("table '{}': name '{}' used twice", name_, a.name));
    if (a.points.empty()) throw Error(fmt::format("table '{}': axis '{}' has no points", name_, a.name));
    for (size_t i = 0; i < a.points.size(); ++i) {
      if (!std::isfinite(a.points[i]))
        throw Error(fmt::format("table '{}': axis '{}': point {} is not finite", name_, a.name, i));
      if (i > 0 && !(a.points[i] > a.points[i - 1]))
        throw Error(fmt::format("table '{}': axis '{}': points must be strictly increasing, but point {} ({}) "
                                "follows {}",
                                name_, a.name, i, a.points[i], a.points[i - 1]));
    }
  }
  for (const auto& c : columns_) {
    if (c.name.empty()) throw Error(fmt::format("table '{}': a column has no name", name_));
    if (!names.insert(c.name).second) throw Error(fmt::format("table '{}': name '{}' used twice", name_, c.name));
  }
  strides_.assign(axes_.size(), 1);
  nodes_ = 1;
  for (size_t d = axes_.size(); d-- > 0;) {
    strides_[d] = nodes_;
    nodes_ *= axes_[d].points.size();
  }
  data_.assign(nodes_ * columns_.size(), 0.0);
}

size_t Table::axis_index(std::string_view axis) const {
  for (size_t d = 0; d < axes_.size(); ++d)
    if (axes_[d].name == axis) return d;
  throw Error(fmt::format("table '{}' has no axis '{}'", name_, axis));
}

bool Table::has_column(std::string_view column) const {
  return std::any_of(columns_.begin(), columns_.end(), [&](const Column& c) { return c.name == column; });
}

size_t Table::column_index(std::string_view column) const {
  for (size_t c = 0; c < columns_.size(); ++c)
    if (columns_[c].name == column) return c;
  std::string known;
  for (const auto& c : columns_) known += (known.empty() ? "" : ", ") + c.name;
  throw Error(fmt::format("table '{}' has no column '{}' (columns: {})", name_, column, known));
}

size_t Table::node(std::span<const size_t> index) const {
  if (index.size() != axes_.size())
    throw Error(fmt::format("table '{}': {} indices given for {} axes", name_, index.size(), axes_.size()));
  size_t n = 0;
  for (size_t d = 0; d < axes_.size(); ++d) {
    if (index[d] >= axes_[d].points.size())
      throw Error(fmt::format("table '{}': index {} out of range on axis '{}'", name_, index[d], axes_[d].name));
    n += index[d] * strides_[d];
  }
  return n;
}

std::vector<size_t> Table::index_of(size_t node) const {
  std::vector<size_t> idx(axes_.size());
  for (size_t d = 0; d < axes_.size(); ++d) {
    idx[d] = node / strides_[d];
    node %= strides_[d];
  }
  return idx;
}

std::vector<double> Table::coordinates(size_t node) const {
  const auto idx = index_of(node);
  std::vector<double> x(axes_.size());
  for (size_t d = 0; d < axes_.size(); ++d) x[d] = axes_[d].points[idx[d]];
  return x;
}

Table::Bracket Table::bracket(size_t axis, double x, OutOfRange range) const {
  const auto& p = axes_[axis].points;
  if (std::isnan(x)) throw Error(fmt::format("table '{}': axis '{}': query is NaN", name_, axes_[axis].name));
  if (x < p.front() || x > p.back()) {
    if (range == OutOfRange::error)
      throw Error(fmt::format("table '{}': axis '{}' = {} is outside the grid [{}, {}]", name_, axes_[axis].name,
                              x, p.front(), p.back()));
    x = std::clamp(x, p.front(), p.back());
  }
  if (p.size() == 1) return {0, 0.0};
  size_t hi = static_cast<size_t>(std::upper_bound(p.begin(), p.end(), x) - p.begin());
  hi = std::clamp<size_t>(hi, 1, p.size() - 1);
  const size_t lo = hi - 1;
  return {lo, (x - p[lo]) / (p[hi] - p[lo])};
}

double Table::interpolate(std::span<const double> x, size_t column, Interp interp, OutOfRange range) const {
  if (x.size() != axes_.size())
    throw Error(fmt::format("table '{}': query has {} coordinates for {} axes", name_, x.size(), axes_.size()));
  if (column >= columns_.size()) throw Error(fmt::format("table '{}': column {} out of range", name_, column));
  constexpr size_t kMaxDims = 16;
  if (axes_.size() > kMaxDims) throw Error(fmt::format("table '{}': more than {} axes", name_, kMaxDims));
  Bracket br[kMaxDims];
  for (size_t d = 0; d < axes_.size(); ++d) br[d] = bracket(d, x[d], range);
  if (interp == Interp::monotone_cubic) return cubic_along(0, std::span<const Bracket>(br, axes_.size()), 0, column);
  // Multilinear: sum over the 2^d corners of the cell.
  const size_t nc = columns_.size();
  double sum = 0;
  const size_t corners = size_t{1} << axes_.size();
  for (size_t mask = 0; mask < corners; ++mask) {
    double w = 1;
    size_t n = 0;
    bool skip = false;
    for (size_t d = 0; d < axes_.size(); ++d) {
      const bool upper = (mask >> d) & 1;
      if (axes_[d].points.size() == 1) {
        if (upper) { skip = true; break; }
        continue;
      }
      w *= upper ? br[d].t : 1 - br[d].t;
      n += (br[d].lo + (upper ? 1 : 0)) * strides_[d];
    }
    if (skip || w == 0) continue;
    sum += w * data_[n * nc + column];
  }
  return sum;
}

void Table::interpolate_all(std::span<const double> x, std::span<double> out, Interp interp, OutOfRange range) const {
  if (out.size() != columns_.size())
    throw Error(fmt::format("table '{}': output has {} slots for {} columns", name_, out.size(), columns_.size()));
  for (size_t c = 0; c < columns_.size(); ++c) out[c] = interpolate(x, c, interp, range);
}

double Table::cubic_along(size_t axis, std::span<const Bracket> br, size_t base, size_t column) const {
  if (axis == axes_.size()) return data_[base * columns_.size() + column];
  const auto& p = axes_[axis].points;
  const size_t n = p.size();
  if (n == 1) return cubic_along(axis + 1, br, base, column);
  const size_t lo = br[axis].lo;
  const double t = br[axis].t;
  auto at = [&](size_t i) { return cubic_along(axis + 1, br, base + i * strides_[axis], column); };
  if (n == 2) return (1 - t) * at(0) + t * at(1);
  // Local window [first, last] gives the same PCHIP slopes at lo and lo+1 as the whole axis would.
  const size_t first = lo == 0 ? 0 : lo - 1;
  const size_t last = std::min(n - 1, std::max(lo + 2, first + 2));
  double xs[4], ys[4];
  const size_t m = last - first + 1;
  for (size_t i = 0; i < m; ++i) {
    xs[i] = p[first + i];
    ys[i] = at(first + i);
  }
  const auto slopes = pchip_slopes(std::span<const double>(xs, m), std::span<const double>(ys, m));
  const size_t k = lo - first;
  const double h = xs[k + 1] - xs[k];
  const double y0 = ys[k], y1 = ys[k + 1], m0 = slopes[k] * h, m1 = slopes[k + 1] * h;
  const double t2 = t * t, t3 = t2 * t;
  return (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + t) * m0 + (-2 * t3 + 3 * t2) * y1 + (t3 - t2) * m1;
}

std::vector<double> pchip_slopes(std::span<const double> x, std::span<const double> y) {
  const size_t n = x.size();
  std::vector<double> m(n, 0.0);
  if (n < 2) return m;
  std::vector<double> h(n - 1), delta(n - 1);
  for (size_t i = 0; i + 1 < n; ++i) {
    h[i] = x[i + 1] - x[i];
    delta[i] = (y[i + 1] - y[i]) / h[i];
  }
  if (n == 2) {
    m[0] = m[1] = delta[0];
    return m;
  }
  for (size_t k = 1; k + 1 < n; ++k) {
    if (delta[k - 1] * delta[k] <= 0) {
      m[k] = 0;
    } else {
      // Weighted harmonic mean (Fritsch-Butland), as in PCHIP.
      const double w1 = 2 * h[k] + h[k - 1], w2 = h[k] + 2 * h[k - 1];
      m[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k]);
    }
  }
  // Shape-preserving three-point end slopes.
  auto end_slope = [](double h0, double h1, double d0, double d1) {
    double s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
    if ((s > 0) != (d0 > 0) || d0 == 0) s = 0;
    else if ((d0 > 0) != (d1 > 0) && std::abs(s) > std::abs(3 * d0)) s = 3 * d0;
    return s;
  };
  m[0] = end_slope(h[0], h[1], delta[0], delta[1]);
  m[n - 1] = end_slope(h[n - 2], h[n - 3], delta[n - 2], delta[n - 3]);
  return m;
}

std::string Table::to_csv() const {
  std::string out;
  for (const auto& a : axes_) out += a.name + ",";
  for (size_t c = 0; c < columns_.size(); ++c) out += columns_[c].name + (c + 1 < columns_.size() ? "," : "\n");
  for (size_t nd = 0; nd < nodes_; ++nd) {
    const auto idx = index_of(nd);
    for (size_t d = 0; d < axes_.size(); ++d) out += format_double(axes_[d].points[idx[d]]) + ",";
    for (size_t c = 0; c < columns_.size(); ++c)
      out += format_double(value(nd, c)) + (c + 1 < columns_.size() ? "," : "\n");
  }
  return out;
}

namespace {
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : line) {
    if (ch == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

double parse_number(const std::string& s, const std::string& origin, size_t line, size_t field) {
  if (s == "nan") return std::nan("");
  if (s == "inf") return INFINITY;
  if (s == "-inf") return -INFINITY;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size())
    throw InputError(origin, fmt::format("line {}", line), fmt::format("field {} '{}' is not a number", field + 1, s));
  return v;
}
}  // namespace

void Table::read_csv(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line)) throw InputError(origin, "", "empty file (expected a CSV header)");
  const auto header = split_csv_line(line);
  std::vector<std::string> expected;
  for (const auto& a : axes_) expected.push_back(a.name);
  for (const auto& c : columns_) expected.push_back(c.name);
  if (header != expected) {
    std::string e;
    for (const auto& s : expected) e += (e.empty() ? "" : ",") + s;
    throw InputError(origin, "line 1", fmt::format("header '{}' does not match lut.json (expected '{}')", line, e));
  }
  size_t nd = 0, lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line == "\r") continue;
    if (nd >= nodes_) throw InputError(origin, fmt::format("line {}", lineno), fmt::format("more than {} data rows", nodes_));
    const auto fields = split_csv_line(line);
    if (fields.size() != expected.size())
      throw InputError(origin, fmt::format("line {}", lineno),
                       fmt::format("has {} fields, expected {}", fields.size(), expected.size()));
    const auto idx = index_of(nd);
    for (size_t d = 0; d < axes_.size(); ++d) {
      const double v = parse_number(fields[d], origin, lineno, d);
      if (v != axes_[d].points[idx[d]])
        throw InputError(origin, fmt::format("line {}", lineno),
                         fmt::format("axis '{}' is {} but lut.json's grid has {} here", axes_[d].name, v,
                                     axes_[d].points[idx[d]]));
    }
    for (size_t c = 0; c < columns_.size(); ++c) value(nd, c) = parse_number(fields[axes_.size() + c], origin, lineno, axes_.size() + c);
    ++nd;
  }
  if (nd != nodes_) throw InputError(origin, "", fmt::format("has {} data rows, expected {} (one per grid node)", nd, nodes_));
}

}  // namespace xbarkit::lut
