#pragma once
// Reader of `array_ps` bundles: the partial-sum transfer of a crossbar column, for the inference
// simulator and anyone else who needs "what current does this column read?".
//
// ## Table layout
// One table per array configuration (cell kind x rows x wire-resistance scale), named
// "<cell>_r<rows>_w<scale>" (e.g. "sram8t_r128_w1", "rram1t1r_r64_w0p5"), with attributes
// (lut.json tables[].attributes): role = "array_ps", cell, rows, cols, wire_scale, r_bitline_ohm,
// r_sourceline_ohm, r_wordline_ohm, v_read_V, full_scale_A (largest mean current in the table: every
// cell conducting), ideal_cell_current_A, rail_weight_top, rail_weight_bottom, transfer_table; with
// corners and variation (netlist/variation.hpp) also corner (name; the table name ends in
// "_<corner>"), vdd_V, temperature_K and variation (the sigmas drawn: sigma_vt_V, sigma_ln_lrs, ...).
// A corner is a separate table, not an axis: it is one global condition of a whole chip.
// Axes (a subset chosen by the recipe; defaults below), all dimensionless (unit "1"):
//   k         number of conducting cells in the column (input 1 AND weight 1): integers 0..rows
//   q         normalized IR-drop load of those cells (see load_q): 0 = the placement with the least
//             wire loss at this k, 1 = the most
//   hrs       fraction of the column's non-conducting cells whose row input is 1: (active - k) /
//             (rows - k), 0.5 when k = rows. In rram1t1r arrays those cells are HRS ReRAM behind an open
//             access transistor and still conduct (about 1/8 of an LRS cell at 7nm defaults)
//   z         normalized centroid of their distance to the sense end (0 = nearest, 1 = farthest)
//   column    column position j / (cols - 1) (matters where rows carry current: passive)
//   activity  fraction of the tile's rows whose input is 1 (couples columns: passive)
// Columns (A unless stated): mean_A, std_A, q05_A, q25_A, q50_A, q75_A, q95_A (distribution of the
// sensed column current over Monte-Carlo patterns near the node; std is the RMS residual of those
// samples against the interpolated mean, so it includes the LUT's own interpolation error and the
// +-2 sigma band is honest), n_eff (effective samples behind the node).
// Defaults: each cell kind's default_array_ps_axes() (netlist/cell_<kind>.cpp), e.g. sram8t -> (k, q),
// rram1t1r -> (k, q, hrs), passive -> (k, column, activity).
// A 1-D table "<config>_transfer" holds mean_A, std_A and count vs k over the recipe's pattern
// statistics (the mean array transfer an ADC can be calibrated to).
//
// ## Why q
// In sram8t and rram1t1r arrays wordlines drive only gates (no DC current), so columns decouple and a
// column's current depends only on which of its rows conduct. Wire segment s of a rail carries the
// currents of the N(s) conducting cells beyond it, so to first order in the wire resistance the
// current lost to IR drop is proportional to sum_s N(s)^2 (the segment currents squared, i.e. the
// wire's dissipated power for equal cell currents), summed over both rails with their resistances.
// sram8t: bitline and source line both end at the bottom (sense clamp, ground); rram1t1r: bitline
// fed from the top, source line sensed at the bottom. q is that load normalized to [0, 1] at each k.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/lut/bundle.hpp"

namespace xbarkit::lut {

// Distance of row i from the bottom (sense) end, in wire segments: 1 for the last row.
inline int sense_distance(int rows, int row) { return rows - row; }

// Normalized centroid of the conducting cells: `sum_distance` = sum of sense_distance over the k
// conducting rows. 0 when they are the k rows nearest the sense end, 1 when farthest; 0.5 when k is 0
// or rows.
double centroid_z(int rows, int k, long long sum_distance);

// Relative weights of the rails' loads (they sum to 1): rails referenced at the top (e.g. the
// rram1t1r bitline) and at the bottom (e.g. the sram8t bitline and source line); each cell kind
// states its own (netlist::Cell::rail_load_weights) and the bundle records them.
struct RailWeights {
  double top = 0;
  double bottom = 1;
};

// Raw counts of one column read; everything the axes are computed from.
struct ColumnFeatures {
  int rows = 0, cols = 1;
  int column = 0;             // j
  int k = 0;                  // conducting cells
  int active_rows = 0;        // rows with input 1
  long long sum_distance = 0; // sum of sense_distance of conducting cells
  long long load_top = 0;     // sum over segments from the top of N(s)^2
  long long load_bottom = 0;  // sum over segments from the bottom of N(s)^2
};

// Features of column j of an AND-style array from its row inputs and stored bits (0/1, row-major
// weights[i * cols + j]); the definitions the characterization bins by. O(rows).
ColumnFeatures column_features(int rows, int cols, int j, std::span<const uint8_t> inputs,
                               std::span<const uint8_t> weights);
// The same from the list of conducting rows (ascending) of a column.
ColumnFeatures column_features_from_rows(int rows, int cols, int j, int active_rows, std::span<const int> conducting_rows);

// Normalizes the IR-drop load to [0, 1] per k: 0 and 1 are the smallest and largest load among the
// extreme placements (block at the top, at the bottom, in the middle, split between both ends),
// which are the extremes for one-ended rails; values outside are clamped.
class LoadNormalizer {
public:
  LoadNormalizer() = default;
  LoadNormalizer(int rows, RailWeights weights);
  // Inline: once per LUT read of inference.
  double operator()(const ColumnFeatures& f) const {
    if (f.rows != rows_) rows_mismatch(f.rows);
    const double q = w_.top * static_cast<double>(f.load_top) + w_.bottom * static_cast<double>(f.load_bottom);
    const double lo = lo_[static_cast<size_t>(f.k)], hi = hi_[static_cast<size_t>(f.k)];
    if (!(hi - lo > 1e-9 * std::max(1.0, hi))) return 0.5;
    return std::clamp((q - lo) / (hi - lo), 0.0, 1.0);
  }

  // The per-k extremes (for imc::FastArrayLut, which folds the normalization into its grid map).
  double lo(int k) const { return lo_[static_cast<size_t>(k)]; }
  double hi(int k) const { return hi_[static_cast<size_t>(k)]; }

private:
  [[noreturn]] void rows_mismatch(int rows) const;
  int rows_ = 0;
  RailWeights w_;
  std::vector<double> lo_, hi_;  // per k
};

// The axes of array_ps tables: the one definition used by characterization, the bundle reader and
// inference (names as written in recipes and bundles).
enum class ArrayPsAxis { k, q, hrs, z, column, activity };
std::string_view axis_name(ArrayPsAxis a);
std::optional<ArrayPsAxis> parse_axis(std::string_view name);
std::string axis_names();  // "k | q | hrs | z | column | activity"

// Which raw features of a column read an axis needs (so readers compute no more than that).
struct FeatureNeeds {
  bool load_top = false, load_bottom = false, sum_distance = false;
  FeatureNeeds& operator|=(const FeatureNeeds& o) {
    load_top |= o.load_top, load_bottom |= o.load_bottom, sum_distance |= o.sum_distance;
    return *this;
  }
};
FeatureNeeds feature_needs(ArrayPsAxis a, RailWeights rails);

// Coordinate of one axis for a column read.
inline double axis_value(ArrayPsAxis a, const ColumnFeatures& f, const LoadNormalizer& q);
// By name; throws Error for an unknown axis.
double axis_value(const std::string& axis, const ColumnFeatures& f, const LoadNormalizer& q);

// The attributes of one array_ps table (lut.json tables[].attributes), typed: written by the
// characterization (to_attributes) and read back by the bundle reader (from_table), one schema.
struct ArrayPsConfig {
  std::string table;           // name of the (k, ...) table
  std::string transfer_table;  // name of the 1-D transfer table
  std::string cell;
  int rows = 0, cols = 0;
  double wire_scale = 1;
  double r_bitline_ohm = 0, r_sourceline_ohm = 0, r_wordline_ohm = 0;  // after the wire scale
  double v_read_V = 0;
  double full_scale_A = 0;
  double ideal_cell_current_A = 0;
  double ideal_off_cell_current_A = 0;
  RailWeights rails;
  size_t samples = 0;
  std::string axes_reason;
  std::string corner;             // global corner ("" = the nominal technology)
  double vdd_V = 0, temperature_K = 0;  // the array's supply and temperature (0: not recorded)
  nlohmann::json variation;       // the mismatch drawn (null: identical devices)
  std::vector<ArrayPsAxis> axes;  // the table's axes (from its grid, not stored in the attributes)

  nlohmann::json to_attributes() const;
  // Throws Error naming the bundle, the table and the attribute that is missing or wrong.
  static ArrayPsConfig from_table(const Table& table, const std::string& bundle_name);
};

struct CurrentPrediction {
  double mean_A = 0;
  double std_A = 0;
};

class ArrayPsLut {
public:
  // Throws Error if the bundle is not of kind array_ps.
  explicit ArrayPsLut(Bundle bundle);
  static ArrayPsLut load(const std::filesystem::path& dir) { return ArrayPsLut(load_bundle(dir)); }

  const Bundle& bundle() const { return bundle_; }
  const std::vector<ArrayPsConfig>& configs() const { return configs_; }
  // The configuration for a cell kind and row count; among several wire scales the nearest to
  // `wire_scale` (default 1.0). `corner`: only tables of that corner; without it the bundle must hold
  // one corner for the cell and rows (a silent pick among tt/ss/ff would mislabel a run). Throws
  // naming what the bundle has.
  const ArrayPsConfig& find(const std::string& cell, int rows, std::optional<double> wire_scale = std::nullopt,
                            const std::string& corner = "") const;
  // Corners of the bundle's tables for a cell and row count (sorted, "" for nominal tables).
  std::vector<std::string> corners(const std::string& cell, int rows) const;

  // Mean and standard deviation of the sensed current (linear interpolation, clamped to the grid).
  CurrentPrediction predict(const ArrayPsConfig& config, const ColumnFeatures& f) const;
  // A draw from the predicted distribution: normal(mean, std), truncated at 0 from below.
  double sample(const ArrayPsConfig& config, const ColumnFeatures& f, Rng& rng) const;
  // Query coordinates of `f` in the config table's axis order.
  std::vector<double> coordinates(const ArrayPsConfig& config, const ColumnFeatures& f) const;

private:
  size_t index_of(const ArrayPsConfig& config) const;
  Bundle bundle_;
  std::vector<ArrayPsConfig> configs_;
  std::vector<const Table*> tables_;  // parallel to configs_
  std::vector<LoadNormalizer> normalizers_;
  std::vector<size_t> mean_col_, std_col_;
};

inline double axis_value(ArrayPsAxis a, const ColumnFeatures& f, const LoadNormalizer& q) {
  switch (a) {
    case ArrayPsAxis::k: return f.k;
    case ArrayPsAxis::q: return q(f);
    case ArrayPsAxis::z: return centroid_z(f.rows, f.k, f.sum_distance);
    case ArrayPsAxis::column: return f.cols > 1 ? static_cast<double>(f.column) / (f.cols - 1) : 0.0;
    case ArrayPsAxis::activity: return f.rows > 0 ? static_cast<double>(f.active_rows) / f.rows : 0.0;
    case ArrayPsAxis::hrs: return f.k < f.rows ? static_cast<double>(f.active_rows - f.k) / (f.rows - f.k) : 0.5;
  }
  return 0;
}

}  // namespace xbarkit::lut
