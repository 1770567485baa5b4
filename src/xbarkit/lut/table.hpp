#pragma once
// N-dimensional lookup tables on rectilinear grids.
//
// A Table has named, unit-carrying axes (strictly increasing grid points) and one or more named,
// unit-carrying value columns stored at every grid node. Node order is row-major over the axes
// (the last axis varies fastest), which is also the row order of the table's CSV file, so a
// spreadsheet sees one row per node: the axis values first, then the columns.
//
// Interpolation is multilinear or monotone cubic (PCHIP, Fritsch-Butland slopes as in Fritsch &
// Carlson, SIAM J. Numer. Anal. 17, 1980, applied one axis at a time); a query outside the grid is
// either clamped to the nearest edge or rejected with an error naming the table and the axis.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace xbarkit::lut {

struct Axis {
  std::string name;
  std::string unit;            // "1" for dimensionless counts and fractions
  std::vector<double> points;  // strictly increasing, at least one
};

struct Column {
  std::string name;
  std::string unit;
};

enum class Interp { linear, monotone_cubic };
enum class OutOfRange { clamp, error };

std::string to_string(Interp interp);
Interp parse_interp(const std::string& s);  // "linear" | "monotone_cubic"

class Table {
public:
  Table() = default;
  // Throws xbarkit::Error if an axis is empty, not strictly increasing, not finite, or names repeat.
  Table(std::string name, std::vector<Axis> axes, std::vector<Column> columns);

  const std::string& name() const { return name_; }
  const std::vector<Axis>& axes() const { return axes_; }
  const std::vector<Column>& columns() const { return columns_; }
  size_t dims() const { return axes_.size(); }
  size_t node_count() const { return nodes_; }
  size_t axis_index(std::string_view axis) const;      // throws if unknown
  size_t column_index(std::string_view column) const;  // throws if unknown
  bool has_column(std::string_view column) const;

  // Node index of a multi-index (one grid index per axis) and back.
  size_t node(std::span<const size_t> index) const;
  std::vector<size_t> index_of(size_t node) const;
  // Axis coordinates of a node.
  std::vector<double> coordinates(size_t node) const;

  double value(size_t node, size_t column) const { return data_[node * columns_.size() + column]; }
  double& value(size_t node, size_t column) { return data_[node * columns_.size() + column]; }
  const std::vector<double>& data() const { return data_; }
  std::vector<double>& data() { return data_; }

  // Interpolated value of one column at `x` (one coordinate per axis, in axis order).
  double interpolate(std::span<const double> x, size_t column, Interp interp = Interp::linear,
                     OutOfRange range = OutOfRange::clamp) const;
  double interpolate(std::span<const double> x, std::string_view column, Interp interp = Interp::linear,
                     OutOfRange range = OutOfRange::clamp) const {
    return interpolate(x, column_index(column), interp, range);
  }
  // All columns at once (out.size() == columns().size()); cheaper than one call per column.
  void interpolate_all(std::span<const double> x, std::span<double> out, Interp interp = Interp::linear,
                       OutOfRange range = OutOfRange::clamp) const;

  // Free-form attributes carried into lut.json (e.g. the array configuration a table describes).
  nlohmann::json attributes = nlohmann::json::object();
  // How the bundle's readers are meant to interpolate this table (recorded in lut.json).
  Interp preferred_interp = Interp::linear;

  // CSV text: header "axis1,...,column1,..." then one row per node, numbers with 17 significant
  // digits (exact round trip).
  std::string to_csv() const;
  // Fills the values from CSV text written by to_csv(); the header and the axis coordinates of every
  // row must match this table's axes and columns. `origin` names the file in errors.
  void read_csv(const std::string& text, const std::string& origin);

private:
  struct Bracket {
    size_t lo;      // lower node of the interval
    double t;       // position in [0, 1] inside it
  };
  Bracket bracket(size_t axis, double x, OutOfRange range) const;
  double cubic_along(size_t axis, std::span<const Bracket> br, size_t base, size_t column) const;

  std::string name_;
  std::vector<Axis> axes_;
  std::vector<Column> columns_;
  std::vector<size_t> strides_;
  size_t nodes_ = 0;
  std::vector<double> data_;
};

// PCHIP slopes (shape-preserving) of y over strictly increasing x; exposed for tests and 1-D users.
std::vector<double> pchip_slopes(std::span<const double> x, std::span<const double> y);

// Format a double with 17 significant digits (exact round trip), "nan"/"inf" spelled out.
std::string format_double(double v);

}  // namespace xbarkit::lut
