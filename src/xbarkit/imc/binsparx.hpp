#pragma once
// Data-aware static BinSparX: per tile column, store w or −w (the paper's static flip, Malhotra &
// Gupta, arXiv 2412.03553, which flips iff the weight slice has more +1 than −1) chosen from data.
//
// Why: the paper's rule lowers the conducting cells, but with a converter that has a pattern-dependent
// bias (e.g. one calibrated to the array's mean transfer) a flip also negates that column's error
// as it enters the output z = Σ_t s_t ps_t, and changes the pattern the column reads (so its bias).
// Errors of the tiles of one output then add instead of cancelling; see docs/VALIDATION.md (issue 18).
//
// Rule: for output channel o of a binary layer with tiles t = 1..T, choice a_t ∈ {keep, flip}. On
// calibration activations (the layer inputs of training images, computed by the software network),
// every read's digitized partial-sum error u_t(a_t) = s·(ps(ĉ) − ps(c)) (s = −1 when the read's
// partial sum is negated) has, given the read's pattern, a mean μ_t(a_t) and second moment q_t(a_t)
// over the sensing noise (LUT: current ~ N(mean, std), truncated at 0) and the converter. Reads are
// drawn independently, so the expected squared error of z at one input vector is
//     (Σ_t μ_t(a_t))² + Σ_t (q_t(a_t) − μ_t(a_t)²),
// and the objective J(a) is its sum over the calibration vectors. The choice minimizes J: start from
// the best of {no flips, the paper's flips, each column's own best}, then single-column changes while J
// falls (ties, e.g. an ideal array where J = 0 everywhere, go to fewer conducting cells). J(chosen)
// therefore never exceeds J(no flips) or J(paper) on the calibration data.
//
// Hardware: the same as the paper's static rule (one stored flip bit per tile column and a digital
// negation of its partial sum); the choice is made offline, once per network and array.
#include <cstdint>
#include <vector>

#include "xbarkit/imc/converter.hpp"
#include "xbarkit/imc/mapping.hpp"
#include "xbarkit/imc/sensing.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/network.hpp"

namespace xbarkit::imc {

// Sufficient statistics of J for one output channel: index i = 2t + a (a = 1: flipped).
struct FlipStats {
  int tiles = 0;
  int64_t samples = 0;
  std::vector<double> m;       // (2T)², Σ over vectors of μ_i μ_j
  std::vector<double> v;       // 2T, Σ (q_i − μ_i²)
  std::vector<double> cells;   // 2T, Σ conducting cells
  explicit FlipStats(int t = 0)
      : tiles(t), m(size_t(4) * size_t(t) * size_t(t), 0.0), v(size_t(2) * size_t(t), 0.0), cells(size_t(2) * size_t(t), 0.0) {}
  // Adds one input vector: mu[i], q[i], c[i] for i = 2t + a.
  void add(const double* mu, const double* q, const int* c);
  double objective(const std::vector<uint8_t>& flip) const;        // J
  double conducting(const std::vector<uint8_t>& flip) const;       // Σ conducting cells
};

// The minimizing choice described above; `paper` = the paper's flips of this output (per tile).
std::vector<uint8_t> choose_flips(const FlipStats& s, const std::vector<uint8_t>& paper);

// How a read is sensed and converted (what the simulator does), for the expectations.
struct ReadModel {
  const FastArrayLut* lut = nullptr;  // null: the ideal current c · cell_A
  bool lut_noise = true;              // false: the LUT's mean current alone
  double cell_A = 0;
  const Converter* converter = nullptr;
  int rows = 0, cols = 0;
  uint64_t seed = 1, chip = 0;
  int mc_draws = 16;                  // converters without step thresholds: sampled expectations
};

// E[f(ĉ)] and E[f(ĉ)²] for f(k) = d·(k − c), ĉ = the converter's count of a current ~ N(mean, sd)
// truncated at 0; `thresholds` as Converter::step_thresholds (capped at max_count). Exact (normal
// tail probabilities), no sampling.
void step_moments(const std::vector<double>& thresholds, int max_count, double mean, double sd, int c, double d,
                  double& m1, double& m2);

struct FlipLayerReport {
  size_t layer = 0;
  int64_t vectors = 0;           // calibration input vectors (images × positions)
  int64_t tile_columns = 0;
  int64_t flipped_paper = 0, flipped_chosen = 0;
  // J / vectors (mean squared z error per output at one vector, summed over outputs) and conducting
  // cells per vector, for no flips, the paper's rule and the chosen flips.
  double objective_none = 0, objective_paper = 0, objective_chosen = 0;
  double cells_none = 0, cells_paper = 0, cells_chosen = 0;
};

struct FlipCalibration {
  std::vector<std::vector<uint8_t>> flips;  // by layer index (empty for non-binary layers)
  std::vector<FlipLayerReport> layers;      // binary layers in order
  size_t images = 0;
};

// Collects the binary layers' inputs of the first `images` images of `data` (software network),
// applies `dynamic` flips as the simulator would, and chooses every layer's static flips. The maps
// are not changed. Deterministic for any thread count. `stats_out` (optional, tests) receives every
// output's statistics, by layer index then output.
FlipCalibration calibrate_static_flips(const nn::Network& net, const std::vector<LayerMapping>& maps,
                                       const ReadModel& model, const nn::Dataset& data, size_t images, bool dynamic,
                                       unsigned threads, std::vector<std::vector<FlipStats>>* stats_out = nullptr);

}  // namespace xbarkit::imc
