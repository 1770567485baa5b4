#pragma once
// The crossbar inference simulator: a BinaryMatmulHook that replaces every binary matrix product of a
// network with tile column reads (mapping.hpp), each sensed (ideal, LUT, or the exact native solver)
// and converted (converter.hpp) to a partial sum, the partial sums added digitally across tiles.
//
// Randomness: every matmul call draws from Rng(seed, derive_seed(image, layer)) where `image` is the
// image's index when run through Simulator::predict_all (or a hash of the layer's inputs when the
// hook is used directly), in a fixed order, so results are identical for any thread count.
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "xbarkit/core/progress.hpp"
#include "xbarkit/imc/binsparx.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/imc/mapping.hpp"
#include "xbarkit/imc/sensing.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/nn/network.hpp"

namespace xbarkit::imc {

enum class Sensing { ideal, lut, exact };
std::string to_string(Sensing s);

struct SimConfig {
  Mapping mapping = Mapping::Xnor;
  BinSparX binsparx;
  int rows = 128;               // R: rows per crossbar tile
  int cols = 0;                 // C: columns per tile (0 = rows); the column index feeds ADC instances,
                                // the LUT's column axis and the exact solver's array width
  Sensing sensing = Sensing::ideal;
  std::shared_ptr<const lut::ArrayPsLut> array_lut;  // Sensing::lut (and the calibrated converter)
  std::string cell = "sram8t";
  double wire_scale = 1.0;      // picks the LUT table / scales the exact solver's wires
  std::string corner;           // global corner of the technology (picks the LUT table; exact mode's
                                // supply, temperature and Vt); "" = nominal
  std::string tech = "7nm";     // exact solver and the ideal cell current
  std::string converter = "ideal";
  bool lut_noise = true;        // LUT sensing: sample N(mean, std); false: the mean alone
  // Exact sensing on one sampled chip: enabled = every tile (layer, tile, group of C columns) gets
  // its own mismatch draw (netlist/variation.hpp), fixed for the whole run, from a stream named by
  // (variation.seed, layer, tile, group); variation.seed names the chip. LUT sensing does not take
  // it: a LUT characterized with variation marginalizes over chips (every read draws from a spread
  // that includes device mismatch).
  netlist::VariationSpec variation;
  uint64_t seed = 1;
  uint64_t chip = 0;            // which chip of a converter population (adc bundles with many instances)
  // BinSparX static-data (binsparx.data_aware): the flips are chosen on the first
  // calibration_images images of this set (training images, never the evaluated ones), with the LUT
  // (array_lut, also under exact sensing) and the converter; calibration_threads: 0 = all cores.
  std::shared_ptr<const nn::Dataset> calibration_data;
  size_t calibration_images = 200;
  unsigned calibration_threads = 0;
  // The guard on the chosen flips (binsparx.hpp, FlipGuard): up to this many further images of
  // calibration_data (after the calibration ones) run end to end with the chosen flips and with none;
  // 0 = no guard. Under exact sensing the guard reads the LUT (as the choice does), or ideal currents.
  size_t guard_images = 200;
};

// The R × C array a configuration describes (technology, cell kind, wire scale, corner): the exact
// solver's tile template and the source of the ideal cell current without a LUT.
netlist::Crossbar make_tile(const SimConfig& cfg);

// Per binary layer, summed over every read.
struct LayerStats {
  size_t layer = 0;
  int64_t reads = 0;                  // tile column reads
  int64_t conducting = 0;             // Σ conducting cells over reads (as mapped, with BinSparX)
  int64_t conducting_plain = 0;       // the same mapping without BinSparX flips, same inputs
  int64_t cells = 0;                  // Σ rows used by the reads
  int64_t weights = 0;                // Σ inputs (weights) per read: the dot-product terms covered
  int64_t ps_error_sq = 0;            // Σ (digitized partial sum − ideal)²
  int64_t ps_error_abs = 0;           // Σ |…|
  int64_t ps_wrong = 0;               // reads with a non-zero error
  int64_t ps_error_max = 0;
  // Signed errors: the converter's bias shows here, not in the squared and absolute sums above.
  int64_t ps_error_sum = 0;           // Σ (digitized − ideal) partial sum of the read as stored (before the flip sign)
  int64_t ps_error_sum_negated = 0;   // the same over reads whose partial sum is negated (static xor dynamic flip)
  int64_t reads_negated = 0;          // reads whose partial sum is negated
  int64_t z_error_sum = 0;            // Σ (z − ideal z) over outputs: the bias the next layer sees
  int64_t z_error_sq = 0;             // Σ (z − ideal z)²
  int64_t outputs = 0;                // layer outputs (z values) computed
  int64_t z_wrong = 0;                // outputs whose summed z differs from ideal
  int64_t z_error_abs = 0;
  int64_t static_flipped = 0;         // flipped tile columns (per read)
  int64_t dynamic_flipped = 0;        // flipped input slices (per slice drive)
  int64_t slices = 0;                 // input slices driven
  void add(const LayerStats& o);
  double conducting_fraction() const { return cells ? double(conducting) / double(cells) : 0.0; }
  // Conducting cells per dot-product term (XNOR: 1/2 on average for any data).
  double conducting_per_weight() const { return weights ? double(conducting) / double(weights) : 0.0; }
  double conducting_per_weight_plain() const { return weights ? double(conducting_plain) / double(weights) : 0.0; }
  double mean_conducting_per_read() const { return reads ? double(conducting) / double(reads) : 0.0; }
  double ps_rmse() const { return reads ? std::sqrt(double(ps_error_sq) / double(reads)) : 0.0; }
  double z_rmse() const { return outputs ? std::sqrt(double(z_error_sq) / double(outputs)) : 0.0; }
};

class Simulator : public nn::BinaryMatmulHook {
public:
  Simulator(const nn::Network& net, SimConfig config);

  void matmul(const nn::BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out) const override;
  // The same, drawing from Rng(seed, derive_seed(key, layer)) (the trainer keys reads by image and
  // step), on chip `chip` of the converter population (default: SimConfig::chip).
  void matmul_keyed(const nn::BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out,
                    uint64_t key) const;
  // `tile_psums`, when given, receives every read's ideal partial sum (the tile slice's ±1 product
  // before conversion, what the trainer's surrogate differentiates), [tiles, outputs, positions];
  // for layers read on crossbars only.
  void matmul_keyed(const nn::BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out,
                    uint64_t key, uint64_t chip, int16_t* tile_psums = nullptr) const;
  // 1/L for layers trained for stochastic conversion (sums of 2·ones − L), else 1.
  double output_scale(const nn::BinaryLayer& layer) const override;
  // Maps another parameter set of the same architecture (the trainer, after each update), keeping
  // the sensing and converter.
  void rebind(const nn::Network& net);

  // Predictions of the first n images (0 = all) on `threads` threads (0 = all cores); per-image
  // random streams, so the result does not depend on the thread count. `progress` (optional)
  // advances once per image.
  std::vector<int> predict_all(const nn::Dataset& data, size_t n = 0, unsigned threads = 0,
                               ProgressReporter* progress = nullptr) const;
  // The same for images [first, last): image i draws exactly as it does in predict_all, so a run
  // split into ranges gives the predictions and statistics of one run over their union.
  std::vector<int> predict_range(const nn::Dataset& data, size_t first, size_t last, unsigned threads = 0,
                                 ProgressReporter* progress = nullptr) const;
  // The same with image i drawing from key key_base + i (predict_range: key_base 0). Keys of 2^61
  // and up are the BinSparX guard's (binsparx.hpp, FlipGuard) and the batch-norm recalibration's.
  std::vector<int> predict_keyed(const nn::Dataset& data, size_t first, size_t last, uint64_t key_base,
                                 unsigned threads = 0, ProgressReporter* progress = nullptr) const;
  static constexpr uint64_t kGuardKeys = uint64_t(1) << 61;

  // Batch-norm recalibration on this crossbar (as a trainer's final recalibration, but with the
  // hardware's own outputs and without libtorch): a copy of the bound network in which every binary
  // layer's batch-norm running mean and variance are those of the values this simulator gives it
  // over the first n images of `data` (training images, never test images), layer by layer in order
  // so each layer sees the earlier ones already recalibrated. The digital first layer is unchanged.
  // Reads draw from keys disjoint from predict_all's image indices; per-image sums are added in
  // image order, so the result does not depend on the thread count.
  nn::Network recalibrate_batch_norm(const nn::Dataset& data, size_t n, unsigned threads) const;

  const SimConfig& config() const { return cfg_; }
  const LayerMapping& mapping(size_t layer_index) const { return maps_.at(layer_index); }
  const Converter& converter() const { return *conv_; }
  double cell_current_A() const { return cell_A_; }
  std::string lut_table() const { return lut_ ? lut_->config().table : std::string(); }
  // BinSparX static-data: how the flips were chosen (empty layers otherwise).
  const FlipCalibration& flip_calibration() const { return flip_cal_; }

  // Statistics since the last reset (one entry per binary layer, in layer order).
  std::vector<LayerStats> stats() const;
  LayerStats total_stats() const;
  void reset_stats() const;

private:
  void matmul_impl(const nn::BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out,
                   uint64_t key, uint64_t chip, int16_t* tile_psums = nullptr) const;
  void map_layers();
  void check_stochastic_layers() const;
  void sense_exact(size_t layer, const LayerMapping& m, int t, const uint64_t* active, double* currents) const;
  void draw_chip();
  void choose_data_flips();
  void guard_data_flips();
  // Read-path tables (same numbers as the per-read converter calls, computed once):
  void tabulate_converter();   // constructor: step-converter thresholds in units of conducting cells
  void tabulate_sampling();    // constructor and rebind: per-(output, count) switching thresholds
  // A layer's step-converter columns on one chip: which threshold row each (tile, output) uses,
  // [t · outputs + o], and under ideal sensing that row's kappa (step_kappa_) copied per column,
  // kappa_stride entries each (the levels, padded with 0x7fff: never <= a count).
  struct StepPlan {
    std::vector<uint32_t> row;
    std::vector<uint16_t> kappa;
  };
  static constexpr int kappa_lanes = 8;
  int kappa_stride() const { return (conv_->step_levels() + kappa_lanes - 1) / kappa_lanes * kappa_lanes; }
  const StepPlan& step_plan(size_t layer_index, uint64_t chip) const;

  const nn::Network* net_;
  SimConfig cfg_;
  std::vector<LayerMapping> maps_;   // by layer index (empty for layer 0)
  std::vector<int> slot_;            // binary-layer ordinal by layer index
  std::unique_ptr<FastArrayLut> lut_;
  std::unique_ptr<Converter> conv_;
  bool fast_ideal_ = false;          // ideal sensing + a converter exact on ideal currents
  double cell_A_ = 0;
  FlipCalibration flip_cal_;
  const lut::ArrayPsConfig* lut_config_ = nullptr;
  netlist::Crossbar tile_;           // exact mode: R × C template
  // Exact mode on a sampled chip: the mismatch of (layer index)[tile * groups + column group].
  std::vector<std::vector<netlist::CellVariation>> chip_;
  mutable std::mutex mutex_;
  mutable std::vector<LayerStats> stats_;  // by layer index
  // Stochastic layers under ideal sensing: per layer index, [output][count 0..n_tile] the integer
  // threshold T with rng.uniform() < P_sw  <=>  (rng() >> 11) < T (empty: not tabulated).
  std::vector<std::vector<uint64_t>> sample_threshold_;
  // Per-column step converters (Converter::step_levels): step_kappa_[row · levels + k] = the
  // smallest conducting count c with threshold_k <= c · I_cell (ideal sensing; empty otherwise);
  // step_ok_: the thresholds are ascending (the table paths are used only then).
  bool step_ok_ = false;
  std::vector<uint16_t> step_kappa_;
  // Step plans by (chip, layer index), filled on first use (a chip's assignment of converter
  // instances to columns does not depend on the weights, so it survives rebind).
  mutable std::mutex plan_mutex_;
  mutable std::map<std::pair<uint64_t, size_t>, std::unique_ptr<const StepPlan>> step_plans_;
};

}  // namespace xbarkit::imc
