#pragma once
// The statistics behind array_ps bundles, separate from any circuit engine so they can be tested on
// their own: BNN-like pattern generation, the samples a solved array yields, the LUT built from them
// by local-linear kernel regression, and the held-out check.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/lut/table.hpp"
#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::characterize {

// Random AND-array patterns with BNN-like statistics. Per pattern the input density is drawn from
// [input_lo, input_hi] and tilted along the rows by up to +-gradient (so conducting cells are not
// always spread evenly: im2col slices of real activations are not); per column the weight density
// is drawn from [weight_lo, weight_hi] with its own tilt. A fixed density is lo == hi, gradient 0.
struct PatternStats {
  double input_lo = 0.05, input_hi = 0.95;
  double weight_lo = 0.05, weight_hi = 0.95;
  double gradient = 0.5;
};
void generate_pattern(netlist::Crossbar& xbar, const PatternStats& stats, Rng& rng);

// Anchor pattern `a` of `count` (decoupled topologies): all inputs on; column j conducts in a block of
// rows nearest the sense end (a even) or farthest from it (a odd) whose size sweeps k = 0..rows
// across the anchors' columns, so the LUT's corners (z = 0 and 1, k = rows) hold real samples.
int anchor_count(int rows, int cols);
void anchor_pattern(netlist::Crossbar& xbar, int a);

// One sensed column: its features (lut/array_ps.hpp) and current.
struct ColumnSample {
  lut::ColumnFeatures f;
  double current_A = 0;
};
std::vector<ColumnSample> column_samples(const netlist::Crossbar& xbar, const std::vector<double>& currents);

// Coordinates of a sample on the named axes ("k", "q", "z", "column", "activity").
std::vector<double> sample_coordinates(const ColumnSample& s, const std::vector<std::string>& axes,
                                       const lut::LoadNormalizer& q);

struct ArrayTableSpec {
  std::string name;
  int rows = 0, cols = 0;
  lut::RailWeights rails;                     // for the q axis
  std::vector<std::string> axes;              // names in table order
  std::vector<std::vector<double>> points;    // grid per axis
  int min_effective_samples = 24;             // kernel widens until a node has this many
  double std_floor_fraction = 1e-5;           // of full scale
};

// Builds the (mean_A, std_A, q05..q95_A, n_eff) table. Mean: local-linear regression at each node
// with a product tent kernel (bandwidth = grid spacing per axis, widened x1.5 until the node has
// min_effective_samples); std and quantiles: of the residuals against the interpolated mean table,
// under the same kernel, so they include the table's own interpolation error.
lut::Table build_array_table(const ArrayTableSpec& spec, const std::vector<ColumnSample>& samples);

// 1-D mean/std of current vs k over all samples (the array's mean transfer).
lut::Table build_transfer_table(const std::string& name, int rows, const std::vector<ColumnSample>& samples);

struct HeldOutCheck {
  size_t samples = 0;
  double full_scale_A = 0;
  double nrmse_mean = 0;          // RMS(I - mean_pred) / full scale
  double max_abs_error_fs = 0;    // max |I - mean_pred| / full scale
  double coverage_2sigma = 0;     // fraction with |I - mean_pred| <= 2 std_pred
  double coverage_1sigma = 0;
  double ideal_nrmse = 0;         // RMS(I - k * I_cell) / full scale: what ignoring IR drop costs
  nlohmann::json to_json() const;
};
HeldOutCheck check_held_out(const lut::Table& table, const std::vector<ColumnSample>& samples, int rows,
                            lut::RailWeights rails, double ideal_cell_A);

}  // namespace xbarkit::characterize
