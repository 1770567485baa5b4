#pragma once
// Stochastic-computing weight updates in the trainer (`xbarkit train --sc-update SOURCE:L`), the
// training half of Lammie et al., "Memristive stochastic computing for deep learning parameter
// optimization" (IEEE TCAS-II 2021; docs/REFERENCES.md §20).
//
// Which products. For every layer's latent weights the weight gradient -- the multiply-accumulate of
// the parameter update -- is computed by sc::ScOuterProduct instead of libtorch's weight-gradient GEMM:
//  - dense layer  y = W x:         dL/dW[o][n] = sum_b delta[b][o] x[b][n]
//  - 3x3 conv     (im2col form):   dL/dW[o][c,i,j] = sum_{b,p} delta[b][o][p] patch[b][p][c,i,j]
// i.e. the outer products of the backpropagated error delta = dL/dz (z = the layer's pre-pool,
// pre-batch-norm output) with the layer's input activation (a ±1 sign for binary layers, the scaled
// pixel for layer 0; conv patches include the padding value the forward pass uses), accumulated
// over the samples (conv: batch x output positions). Everything else stays floating point: the
// error propagated to the layer's input (delta^T W, needed by the layer below), batch norm's scale and
// shift gradients (per-channel sums, no products with activations), and Adam's moment updates and
// learning-rate scaling (elementwise; Lammie et al. keep the learning rate digital too).
//
// Encoding. Bipolar streams (value v in [-1, 1] -> bit probability (1 + v) / 2) because both factors
// are signed (delta always; activations are ±1 for binary layers); XNOR of two independent bipolar
// streams is the bipolar product. Each generator's operands are divided by their largest magnitude
// over the step's samples (`row_col`, the default: a digital max per row and per column), the scale
// that uses the whole [-1, 1] range without clipping; counter (r, c) is multiplied back by
// s_delta[r] * s_x[c] * samples. `tensor` (--sc-scale tensor) is one max per operand tensor instead:
// rows whose errors are small against the layer's largest (batch norm makes rows differ by orders of
// magnitude) are then encoded near p = 1/2 and their gradients drown in the largest row's stream noise.
// Chopping (--sc-chop, on by default; sc/update.hpp) cancels the generators' offset errors to first
// order. Measured (docs/VALIDATION.md, "Per-generator scales and chopping"; bnn_mlp, 2 epochs x
// 60,000 images, seed 1, cbram:64): 75.82% tensor scales unchopped, 82.52% row_col unchopped, 85.57%
// row_col chopped; float 87.51%. For ±1 activations s_x = 1 and the x streams are exact (p = 0 or 1)
// with the ideal source: the SC noise is that of the delta streams and the XNOR counts.
// Generators: every output row and every input column of a layer has its own device (rows and
// columns are distinct devices, so the two factors of a product are independent); each layer has its
// own devices (seed derived from the training seed and the layer index); fresh streams every step.
//
// Sources: `ideal:L` -- Bernoulli bits of exactly the requested probability (quantized to 2^-16);
// `cbram[@DEVICE]:L` -- CBRAM cells of models/cbram/DEVICE.toml (default ag_asi_gaba2013), each with
// its own tau0 (device-to-device lognormal spread of the file), pulses from a per-device calibration
// by 1000 counted pulses (residual calibration error ~ 1/sqrt(1000)): the devices' bias is in the
// update, not only the streams' binomial noise (sc/source.hpp, CbramStreamArray).
#include <cstddef>
#include <cstdint>
#include <string>

#include "xbarkit/sc/source.hpp"
#include "xbarkit/sc/update.hpp"

namespace xbarkit::train {

struct ScUpdateConfig {
  sc::UpdateOptions::Source source = sc::UpdateOptions::Source::cbram;
  size_t stream_length = 64;                  // L, bits per operand stream
  sc::Scaling scaling = sc::Scaling::row_col;  // operand scales (sc/update.hpp; --sc-scale)
  bool chop = true;                            // per-sample sign chopping (sc/update.hpp; --sc-chop)
  std::string device = "ag_asi_gaba2013";     // CBRAM device name (models/cbram/) or path
  sc::Calibration calibration = sc::Calibration::per_device;
  int64_t calibration_trials = 1000;
};

// Longest stream accepted (4096 machine words per stream and sample is already far past any
// accuracy benefit). The kernel holds the streams of one block of samples at a time (sc/update.cpp),
// at least one sample's: (rows + cols) L / 8 bytes, e.g. 0.11 GB for the 3392 streams of bnn_cnn's
// 3136 -> 256 dense layer at this length.
constexpr size_t kMaxScStreamLength = size_t{1} << 18;

// "ideal:L", "cbram:L" or "cbram[@DEVICE][/PULSES]:L" (DEVICE a name in models/cbram/ or a .toml path;
// PULSES the per-device calibration's counted pulses, default 1000). Throws
// InputError(option, ...) naming the problem: an unknown source, L not a positive integer or above
// kMaxScStreamLength, a device that does not load (load_device's own message).
ScUpdateConfig parse_sc_update(const std::string& spec, const std::string& option = "--sc-update");
std::string describe(const ScUpdateConfig& c);

// The kernel options of layer `layer` for training seed `seed` (each layer its own devices).
sc::UpdateOptions kernel_options(const ScUpdateConfig& c, uint64_t seed, size_t layer, unsigned threads);

}  // namespace xbarkit::train
