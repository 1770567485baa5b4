#pragma once
// The stochastic-computing weight-update kernel, for a trainer to call (no libtorch here).
//
// Which products: the gradient of a fully connected layer's weights, the batch mean of the outer
// products of the backpropagated error delta (dL/dy, one value per output) and the layer's input
// activation x (one value per input):
//     G[r][c] = (1/B) sum_b delta[b][r] * x[b][c]          (the trainer then applies W -= lr * G)
// This is the multiply-accumulate of parameter optimization that Lammie et al. compute with SC
// (docs/REFERENCES.md §20); the learning-rate scaling stays digital (a shift for a power of two).
//
// How: each operand is scaled by its largest magnitude (per tensor, or per generator: Scaling below),
// so delta/s_d and x/s_x are in [-1, 1], and bipolar-encoded as streams of L bits. Every output row r
// has its own delta generator (device r of a row array) and every input column c its own x generator
// (device c of a column array), as generators on the periphery of an update array: the two operands
// of a product come from different devices, so their streams are independent and XNOR multiplies
// them without correlation bias. Counter (r, c) accumulates the XNOR ones over the batch, and
//     G[r][c] = s_d s_x (2 count / (B L) - 1)        (s_d[r] s_x[c] with Scaling::row_col).
// With CBRAM generators, each device's tau0 variation and its calibration error change its bit
// probabilities (CbramStreamArray), so the update carries the devices' bias as well as the stream's
// binomial noise. With the ideal source the estimate is unbiased up to the 2^-bits quantization.
// Variance of element (r, c), with q_b = P(XNOR bit = 1) of sample b (for independent streams of bit
// probabilities g and a: g a + (1 - g)(1 - a)) and S = s_d[r] s_x[c]:
//     S^2 4 sum_b q_b (1 - q_b) / (B^2 L)                                    without chopping,
//     S^2 sum_b [2 (q+_b (1 - q+_b) + q-_b (1 - q-_b)) / L + (q+_b - q-_b)^2] / B^2   with it,
// q+/q- the sample's XNOR probability with its operands as given / both negated (the law of total
// variance over the chop bit; expectation() computes both).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/sc/source.hpp"

namespace xbarkit::sc {

// How each operand is scaled into the bipolar range [-1, 1] before encoding (a digital max and, at
// the counter, a digital multiply by the two scales):
//  - tensor: one scale per operand tensor and step, s_d = max |delta|, s_x = max |x| (one comparator
//    tree per step);
//  - row_col: one scale per generator, s_d[r] = max_b |delta[b][r]| for row r's device and
//    s_x[c] = max_b |x[b][c]| for column c's; counter (r, c) is multiplied by s_d[r] s_x[c]. Every row
//    then uses its generator's whole range: a row whose errors are small against the layer's largest
//    is no longer encoded as p ~ 1/2 with stream noise of the largest row's size.
enum class Scaling { tensor, row_col };

struct UpdateOptions {
  size_t stream_length = 64;
  Scaling scaling = Scaling::row_col;
  // Chopping: each sample's two operands are negated together with probability 1/2 (one random bit
  // per sample and an XOR on each operand's sign before encoding). The product, hence the counter, is
  // unchanged for exact streams. A generator's offset error -- the encoded value v + b instead of v,
  // e.g. a CBRAM device's calibration error at p ~ 1/2 -- gives (v_d + b_d)(v_x + b_x) unchopped but
  // (-v_d + b_d)(-v_x + b_x) chopped: averaged over the chop bit the cross terms b_d v_x + v_d b_x
  // cancel and v_d v_x + b_d b_x remains, so an offset cancels to first order (exactly when one
  // operand's stream is exact, as the ±1 activations of binary layers are from the ideal source) and
  // gain errors stay. The cancelled bias is not gone: it becomes noise, (q+ - q-)^2 per sample in the
  // variance above, the same sign for all of a sample's products and shrinking with the batch, not
  // with L. This is chopper stabilization (Enz and Temes, Proc. IEEE 84(11), 1996) on SC operands.
  bool chop = true;
  enum class Source { ideal, cbram } source = Source::cbram;
  std::optional<cbram::Device> device;  // required for Source::cbram
  Calibration calibration = Calibration::per_device;
  int64_t calibration_trials = 1000;
  double pulse_resolution_s = 0;  // driver pulse-width step (CbramArrayOptions)
  int probability_bits = kDefaultProbabilityBits;
  uint64_t seed = 1;  // device draws, calibration, and (with the step number) every stream; give
                      // each layer its own seed so its generators are other devices
  unsigned threads = 1;  // 0 = all cores; the result does not depend on it
};

class ScOuterProduct {
public:
  // rows = layer outputs (delta values per sample), cols = layer inputs (activations per sample).
  ScOuterProduct(size_t rows, size_t cols, const UpdateOptions& options);

  // delta: batch x rows, x: batch x cols (row-major); out: rows x cols. `step` selects fresh streams
  // (same seed and step => same result). Throws xbarkit::Error on size mismatches, a zero batch or
  // non-finite inputs.
  void compute(std::span<const float> delta, std::span<const float> x, size_t batch, uint64_t step,
               std::span<float> out) const;

  // The expectation of compute() over the stream randomness (device probabilities included) and the
  // standard deviation of one output element, for tests and error bars. Throws for devices whose
  // RESET can fail (their bits are a Markov chain started from RESET: no closed form here).
  void expectation(std::span<const float> delta, std::span<const float> x, size_t batch, std::span<double> mean,
                   std::span<double> stddev) const;

  // Samples per block of streams in compute() for this batch (the streams are made and counted a
  // block at a time; with at least two blocks per thread, each thread takes whole blocks). Depends
  // only on the layer, L and the batch.
  size_t stream_block(size_t batch) const;

  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }
  const UpdateOptions& options() const { return options_; }

private:
  double bit_probability(bool row, size_t i, double p) const;
  double chop_sign(uint64_t step, size_t sample) const;  // +1 or -1 (always +1 without chop)
  void check(std::span<const float> delta, std::span<const float> x, size_t batch, size_t out_size) const;

  size_t rows_, cols_;
  UpdateOptions options_;
  std::unique_ptr<CbramStreamArray> row_devices_, col_devices_;
};

// Exact float reference: out[r][c] = (1/B) sum_b delta[b][r] x[b][c].
void float_outer_product(std::span<const float> delta, std::span<const float> x, size_t batch, size_t rows,
                         size_t cols, std::span<float> out);

}  // namespace xbarkit::sc
