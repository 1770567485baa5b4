#pragma once
// Reader of `array_ps` bundles: the partial-sum transfer of a crossbar column, for the inference
// simulator (issue 7) and anyone else who needs "what current does this column read?".
//
// ## Table layout
// One table per array configuration (cell kind x rows x wire-resistance scale), named
// "<cell>_r<rows>_w<scale>" (e.g. "sram8t_r128_w1"), with attributes (lut.json tables[].attributes):
//   cell, rows, cols, wire_scale, r_bitline_ohm, r_sourceline_ohm, r_wordline_ohm, v_read_V,
//   full_scale_A (largest mean current in the table: every cell conducting), axes_reason.
// Axes (subset chosen by the recipe; defaults below), all dimensionless (unit "1"):
//   k         number of conducting cells in the column (input 1 AND weight 1): 0..rows
//   z         where those cells sit: normalized centroid of their distance to the sense end,
//             0 = the k cells nearest the sense amplifier, 1 = the k farthest (see centroid_z)
//   column    column position j / (cols - 1) (only matters where rows carry current: passive)
//   activity  fraction of the tile's rows whose input is 1 (couples columns: passive)
// Columns (A unless stated): mean_A, std_A, q05_A, q25_A, q50_A, q75_A, q95_A (distribution of the
// sensed column current over Monte-Carlo patterns near the node; std includes the LUT's own
// interpolation error so the +-2 sigma band is honest), n_eff (effective samples behind the node).
// Defaults: sram8t / rram1t1r -> (k, z): their columns do not couple (wordlines carry no DC current),
// so the column current is a function of that column's set of conducting rows alone; the IR drop
// along the bitline/source line makes it depend on where they are, and the centroid captures the
// first-order (linear-in-distance) part of that dependence. passive -> (k, column, activity).
// A second 1-D table "<config>_transfer" holds mean_A and std_A vs k over the recipe's pattern
// statistics (what an ADC calibrated to the mean array transfer uses).
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/lut/bundle.hpp"

namespace xbarkit::lut {

// Distance of row i from the sense end, in wire segments (the sense node sits below the last row).
inline int sense_distance(int rows, int row) { return rows - row; }

// Normalized centroid of the conducting cells of a column: `sum_distance` = sum of sense_distance
// over the k conducting rows. 0 when they are the k rows nearest the sense end, 1 when farthest;
// 0.5 when k is 0 or rows (undefined there).
double centroid_z(int rows, int k, long long sum_distance);

struct ColumnFeatures {
  int k = 0;               // conducting cells
  double z = 0.5;          // centroid_z
  double column = 0;       // j / (cols - 1)
  double activity = 0;     // active rows / rows
};

// Features of column j of an AND-style array from its row inputs and stored bits (0/1, row-major
// weights[i * cols + j]); the same definitions the characterization bins by.
ColumnFeatures column_features(int rows, int cols, int j, std::span<const uint8_t> inputs,
                               std::span<const uint8_t> weights);

struct ArrayPsConfig {
  std::string table;           // name of the (k, ...) table
  std::string transfer_table;  // name of the 1-D transfer table
  std::string cell;
  int rows = 0, cols = 0;
  double wire_scale = 1;
  double full_scale_A = 0;
  std::vector<std::string> axes;
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
  // The configuration for a cell kind and row count; wire_scale picks among several (nearest when
  // given, 1.0 if present otherwise the only one). Throws naming what the bundle has.
  const ArrayPsConfig& find(const std::string& cell, int rows, std::optional<double> wire_scale = std::nullopt) const;

  // Mean and standard deviation of the sensed current (linear interpolation, clamped to the grid).
  CurrentPrediction predict(const ArrayPsConfig& config, const ColumnFeatures& f) const;
  // A draw from the predicted distribution: normal(mean, std), truncated at 0 from below.
  double sample(const ArrayPsConfig& config, const ColumnFeatures& f, Rng& rng) const;
  // Query coordinates of `f` in the config table's axis order.
  std::vector<double> coordinates(const ArrayPsConfig& config, const ColumnFeatures& f) const;

private:
  Bundle bundle_;
  std::vector<ArrayPsConfig> configs_;
  std::vector<const Table*> tables_;  // parallel to configs_
  std::vector<size_t> mean_col_, std_col_;
};

}  // namespace xbarkit::lut
