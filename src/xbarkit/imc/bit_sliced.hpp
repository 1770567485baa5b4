#pragma once
// Bit-sliced mapping of a real-valued network's products onto binary-cell crossbar tiles (sram8t,
// rram1t1r, ... : one bit per cell), the digital-cell alternative to analog PCM weights (issue 15;
// the mapping of NeuroSim, Peng et al., IEDM 2019, and of StoX-Net's bit-sliced crossbars, Rogers et
// al., arXiv 2407.12378). An nn::MatmulEngine, so the same network runs on PCM tiles (pcm/) or here.
//
// Weights: per output o a scale s_o = max_n |W[o][n]| / Q, Q = 2^(b−1) − 1, and integers
// w = round(W / s_o) in [−Q, Q]. The integer is spread over J binary columns of the same tile rows,
// column j weighted by coef_j in the digital shift-and-add:
//   - two's complement (default; J = b): bits of w mod 2^b, coef_j = 2^j, the MSB −2^(b−1);
//   - differential (J = 2(b−1)): magnitude bits of max(w, 0) (coef +2^j) and of max(−w, 0) (coef −2^j)
//     on separate columns. Fewer conducting cells for near-zero negative weights (two's complement
//     stores −1 as all ones), at 2(b−1)/b times the columns.
// Output o's J columns are adjacent: physical column c = o·J + j of the layer, in column group c / C
// at column c mod C of a tile of C columns (the LUT's column axis and an ADC population use it).
//
// Inputs: bit-serial, one read per input bit plane (the wordline drivers are binary). Per input
// vector x (one position of one image) r = max |x| (a block-floating-point exponent per vector, as
// the PCM engine's default, aihwkit's ABS_MAX noise management) and magnitudes m = round(|x| / r ·
// (2^a − 1)), a = input bits; positive and negative inputs are driven in two passes whose results are
// subtracted (a pass with no non-zero input is skipped: after a ReLU only the positive pass runs).
// Rows of a tile slice are the fan-in in order, R per tile, the last tile partial.
//
// A read: the AND array's column conducts where the stored bit and the row's input bit are 1 (the
// count k = popcount); the sensed current is k·I_cell (ideal sensing) or a draw from the array_ps
// LUT at the column's features (k, IR-drop load, ... of mask_features, as imc::Simulator); the
// converter (converter.hpp: ideal round(I/I_cell), calibrated, adc:BUNDLE) turns it into a count
// estimate. A tile whose bit plane drives no row is not read (its count is 0: no wordline fires).
//   y_o = s_o · r / (2^a − 1) · Σ_pass ±Σ_bit 2^bit Σ_tile Σ_j coef_j · count
// With ideal sensing and a converter exact on ideal currents this is the quantized integer product
// exactly (tested).
//
// Randomness: every matmul call draws from Rng(seed, derive_seed(key, layer)) in a fixed order, so
// results do not depend on the thread count.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xbarkit/imc/converter.hpp"
#include "xbarkit/imc/sensing.hpp"
#include "xbarkit/imc/simulator.hpp"
#include "xbarkit/nn/matmul_engine.hpp"

namespace xbarkit::imc {

enum class WeightEncoding { twos_complement, differential };
WeightEncoding parse_weight_encoding(const std::string& s, const std::string& origin = "--weight-encoding");
std::string to_string(WeightEncoding e);

struct BitSlicing {
  int weight_bits = 8;  // b in [2, 16]: signed weight integers in [−(2^(b−1) − 1), 2^(b−1) − 1]
  int input_bits = 8;   // a in [1, 16]: magnitude bit planes per sign pass
  WeightEncoding encoding = WeightEncoding::twos_complement;
};

// Per weight layer, summed over every read since the last reset.
struct BitSlicedStats {
  int64_t reads = 0;          // column reads (tiles whose bit plane drives at least one row)
  int64_t conducting = 0;     // Σ conducting cells over reads
  int64_t count_error_sq = 0; // Σ (converter count − conducting cells)²
  int64_t count_wrong = 0;    // reads whose count differs from the conducting cells
  double count_rmse() const { return reads ? std::sqrt(double(count_error_sq) / double(reads)) : 0.0; }
};

class BitSlicedEngine : public nn::MatmulEngine {
public:
  // `config`: the crossbar as for imc::Simulator (rows, cols, cell, tech, wire scale, corner, ideal or
  // LUT sensing, converter, seed, chip). The AND mapping is the only one (a bit plane drives one row
  // per input); BinSparX, exact sensing and sampled chips are refused (messages say what to use).
  BitSlicedEngine(const std::vector<nn::WeightMatrix>& layers, SimConfig config, BitSlicing slicing);

  void matmul(size_t layer, const float* x, size_t P, float* y, uint64_t key) const override;

  size_t layers() const { return layers_.size(); }
  int tiles(size_t layer) const { return layers_.at(layer).tiles; }
  // Binary columns per output (J) and in all (out · J) for a layer.
  int columns_per_output() const { return J_; }
  double cell_current_A() const { return cell_A_; }
  const Converter& converter() const { return *conv_; }
  const SimConfig& config() const { return cfg_; }
  const BitSlicing& slicing() const { return slicing_; }
  std::string lut_table() const { return lut_ ? lut_->config().table : std::string(); }
  // The integer weight of (layer, o, n) and the output scale s_o, as mapped.
  int weight_integer(size_t layer, int o, int n) const;
  double output_scale(size_t layer, int o) const { return layers_.at(layer).scale.at(size_t(o)); }

  std::vector<BitSlicedStats> stats() const;
  void reset_stats() const;

private:
  struct Layer {
    std::string name;
    int out = 0, fan_in = 0, tiles = 0;
    std::vector<double> scale;     // s_o
    std::vector<int32_t> w;        // integers [o][n]
    std::vector<uint64_t> bits;    // [((t · out + o) · J + j) · words]: column j of output o in tile t
  };
  size_t column_offset(const Layer& L, int t, int o, int j) const {
    return ((size_t(t) * size_t(L.out) + size_t(o)) * size_t(J_) + size_t(j)) * size_t(words_);
  }
  void map_layer(const nn::WeightMatrix& m, Layer& L) const;

  SimConfig cfg_;
  BitSlicing slicing_;
  int J_ = 0;                      // binary columns per output
  int words_ = 0;                  // 64-bit words per column (R rows)
  std::vector<int64_t> coef_;      // shift-and-add weight of column j
  std::vector<Layer> layers_;
  std::unique_ptr<FastArrayLut> lut_;
  std::unique_ptr<Converter> conv_;
  bool exact_counts_ = false;      // ideal sensing and a converter exact on ideal currents
  double cell_A_ = 0;
  struct AtomicStats {
    std::atomic<int64_t> reads{0}, conducting{0}, err_sq{0}, wrong{0};
  };
  mutable std::unique_ptr<AtomicStats[]> stats_;
};

}  // namespace xbarkit::imc
