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
// drawn independently, so at one input vector the output error ε = ẑ − z has mean Σ_t μ_t and variance
// Σ_t (q_t − μ_t²), and
//  - J(a), the expected squared output error summed over the calibration vectors, is
//    Σ [(Σ_t μ_t(a_t))² + Σ_t (q_t(a_t) − μ_t(a_t)²)];
//  - for a hidden layer, A(a) is the expected number of activations that differ from software: per
//    (pooled) activation, P(fires(max_p (z_p + ε_p)) ≠ fires(max_p z_p)) with ε_p ~ N(mean, variance)
//    independent across the pooled positions p (a normal approximation of the summed read errors).
//    The next layer sees activations, not z, and a 2×2 max-pool turns a symmetric error into a bias
//    (docs/VALIDATION.md, issue 18), which J does not see.
// The objective is (A, J, conducting cells) compared in that order (A = 0 for the output layer). The
// choice starts from the best of {no flips, the paper's flips, each column's own J-best, the J
// descent} and changes single columns while the objective falls, so it never exceeds the objective
// of no flips or of the paper's flips on the calibration data.
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

// A hidden layer's activation objective for one output channel: the per-vector error moments and
// the software pre-activations, with the layer's pooling and threshold.
struct ActivationStats {
  int tiles = 0;
  std::vector<float> mean, var;   // vectors × 2T: E[u_i], Var[u_i] (i = 2t + a)
  std::vector<int32_t> z;         // vectors: software pre-activation of this output
  std::vector<std::vector<size_t>> windows;  // pooled activations: the vectors whose max they take
  int32_t threshold = 0;
  int8_t direction = 1;
  double wrong(const std::vector<uint8_t>& flip) const;  // A: expected activations that differ
};

// The objective triple and its order.
struct FlipObjective {
  double wrong = 0, sq = 0, cells = 0;  // A, J, conducting cells
  bool operator<(const FlipObjective& o) const {
    if (wrong != o.wrong) return wrong < o.wrong;
    if (sq != o.sq) return sq < o.sq;
    return cells < o.cells;
  }
};
FlipObjective flip_objective(const FlipStats& s, const ActivationStats* act, const std::vector<uint8_t>& flip);

// The minimizing choice described above; `paper` = the paper's flips of this output (per tile);
// `act` = null for the output layer (J and cells only).
std::vector<uint8_t> choose_flips(const FlipStats& s, const ActivationStats* act, const std::vector<uint8_t>& paper);

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
  // J / vectors (mean squared z error per output at one vector, summed over outputs), A / images
  // (activations differing from software per image; hidden layers) and conducting cells per vector,
  // for no flips, the paper's rule and the chosen flips.
  double objective_none = 0, objective_paper = 0, objective_chosen = 0;
  double wrong_none = 0, wrong_paper = 0, wrong_chosen = 0;
  double cells_none = 0, cells_paper = 0, cells_chosen = 0;
};

// The end-to-end guard on the chosen flips (Simulator, SimConfig::guard_images). The objective above
// models one layer at a time with the software network's inputs; where most activations are already
// wrong that premise fails, and the choice can lose accuracy to plain AND (docs/VALIDATION.md, issue
// 18). So the whole network runs on further training images (after the calibration ones) with the
// chosen flips and with none, reads drawn alike for both (common random numbers), and the flips are
// kept unless no flips classify more of those images correctly. Racing (Maron & Moore, "Hoeffding
// races", NIPS 1993) in blocks of 25 images with a sign test on the discordant images (McNemar): the
// race stops once one side leads by more than 3 standard deviations, 3·sqrt(discordant).
struct FlipGuard {
  size_t images = 0;                        // guard images run (0: no guard)
  size_t correct_chosen = 0, correct_none = 0;
  size_t only_chosen = 0, only_none = 0;    // discordant images: right with one choice only
  bool decided_early = false;               // the sign test stopped the race before the last block
  bool kept = true;                         // false: the static flips were dropped (plain AND/XNOR [+ dynamic])
  bool ideal_reads = false;                 // not run: the reads are exact, both choices predict alike
};

struct FlipCalibration {
  std::vector<std::vector<uint8_t>> flips;  // by layer index (empty for non-binary layers): the model's choice
  std::vector<FlipLayerReport> layers;      // binary layers in order
  size_t images = 0;
  FlipGuard guard;                          // whether the simulator kept `flips` (else no static flips)
};

// Collects the binary layers' inputs of the first `images` images of `data` (software network),
// applies `dynamic` flips as the simulator would, and chooses every layer's static flips. The maps
// are not changed. Deterministic for any thread count. `stats_out` / `act_out` (optional, tests)
// receive every output's statistics, by layer index then output (act_out: hidden layers only).
FlipCalibration calibrate_static_flips(const nn::Network& net, const std::vector<LayerMapping>& maps,
                                       const ReadModel& model, const nn::Dataset& data, size_t images, bool dynamic,
                                       unsigned threads, std::vector<std::vector<FlipStats>>* stats_out = nullptr,
                                       std::vector<std::vector<ActivationStats>>* act_out = nullptr);

}  // namespace xbarkit::imc
