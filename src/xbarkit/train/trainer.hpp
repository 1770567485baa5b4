#pragma once
// `xbarkit train` on libtorch (PyTorch's C++ API), with the crossbar optionally in the loop.
//
// The network is the one of nn/model.hpp: y = BN(pool(sign(W)·x)), a = sign(y); sign with a clipped
// straight-through estimator (gradient passes where |y| <= 1; Hubara et al., "Binarized Neural
// Networks", NIPS 2016), latent weights clipped to [-1, 1] after every Adam step, cosine learning
// rate decay, batch-norm statistics recalibrated over the training set at the end. Initialization
// and shuffling use xbarkit::Rng, so a seed means the same thing on every machine.
//
// Hardware in the loop (HardwareInLoop): every binary layer's pre-activation in the forward pass is
// what imc::Simulator computes for the batch's actual ±1 inputs — the same mapping, tiling, BinSparX
// flips, LUT sensing and converter code as `xbarkit infer`, so there is no train/eval mismatch by
// construction. The backward pass is a straight-through estimator:
//  - dot-product converters (ideal, calibrated, adc, the unaware mtj inversion): the output equals
//    the hardware's, the gradient is the ideal product's (STE through the quantizer and the IR drop);
//  - stochastic conversion (mtj with psum-aware training, StoX-Net): each tile column's partial sum x
//    passes a learned per-output-channel affine a = g·x + b into the SOT-MTJ; the forward value is the
//    sum of the hardware's L ±1 samples / L, the gradient that of its expected value
//    Σ_tiles tanh(k_A·a) (the calibrated logistic, 2·P_sw − 1), which reaches g and b as well. The
//    network's output layer stays digital, as in StoX-Net (first and last layers full precision).
//
// libtorch lives in this module's .cpp files only; this header does not include it.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <vector>

#include "xbarkit/core/progress.hpp"
#include "xbarkit/imc/simulator.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/model.hpp"
#include "xbarkit/train/sc_update.hpp"

namespace xbarkit::train {

struct EpochReport {
  int epoch = 0, epochs = 0;
  double loss = 0, train_accuracy = 0, test_accuracy = -1;  // test_accuracy < 0: no test set
  double seconds = 0, lr = 0;
};

struct HardwareInLoop {
  imc::SimConfig sim;  // as `xbarkit infer` builds it (imc::make_sim_config)
  // Stochastic partial-sum conversion (needs a sampling converter, XNOR mapping, no BinSparX): learn
  // the per-channel psum affine and train through the samples' expected value.
  bool stochastic_psum = false;
  // Variation-aware training on a converter population (adc bundles with many instances): every
  // training image runs on a chip drawn uniformly from [0, train_chips) (Ghosh et al.: one network
  // for all chips); 0: always chip sim.chip.
  uint64_t train_chips = 0;
};

struct TrainOptions {
  nn::TrainConfig config;    // epochs, seed, batch, learning rates (the architecture's [train] table)
  unsigned threads = 0;      // 0 = all cores (libtorch intra-op threads and the crossbar simulator)
  size_t test_images = 0;    // per-epoch test evaluation on the first n test images (0 = all)
  std::ostream* log = nullptr;
  ProgressMode progress = ProgressMode::off;  // in-epoch progress on stderr (core/progress.hpp)
  std::function<void(const EpochReport&)> on_epoch;
  // Non-empty: after every epoch the complete training state is written there atomically; with
  // `resume` training continues from it (same architecture, configuration, data) bit-identically.
  std::filesystem::path checkpoint;
  bool resume = false;
  std::optional<nn::NetworkParams> init;      // fine-tune from these instead of a seeded initialization
  std::optional<HardwareInLoop> hardware;
  // Stochastic-computing weight gradients (sc_update.hpp): every layer's weight-gradient product by
  // sc::ScOuterProduct on streams of length L; not with hardware in the loop.
  std::optional<ScUpdateConfig> sc_update;
};

struct TrainResult {
  nn::NetworkParams params;
  std::vector<EpochReport> epochs;
  double test_accuracy = -1;  // final network: bit-packed path, or the crossbar when hardware is set
  double seconds = 0;
};

TrainResult train_network(const nn::Architecture& arch, const nn::Dataset& train, const nn::Dataset* test,
                          const TrainOptions& opt);

// The trainer's seeded initialization (Glorot-uniform latent weights, unit batch norm).
nn::NetworkParams initial_params(const nn::Architecture& arch, uint64_t seed);

// Sets every batch norm's running statistics to the population statistics of the first n images
// (0 = all) under `params` (layer by layer, like the trainer's final recalibration).
void calibrate_batch_norm(const nn::Architecture& arch, nn::NetworkParams& params, const nn::Dataset& data,
                          size_t n = 0, unsigned threads = 0);

// The training graph's forward pass in evaluation mode (running statistics) over images
// [first, first + count): per layer the pre-pool outputs z ([count, positions, out], row-major, in
// the units batch norm sees) and the logits ([count, classes]). With hardware, image i's reads draw
// from the key the simulator uses for image i in imc::Simulator::predict_all, so the result can be
// compared with `xbarkit infer` read for read.
struct ForwardTrace {
  std::vector<std::vector<float>> z;
  std::vector<std::vector<float>> surrogate;  // what the backward pass differentiates (= z without hardware)
  std::vector<float> logits;
};
ForwardTrace trace_forward(const nn::Architecture& arch, const nn::NetworkParams& params, const nn::Dataset& data,
                           size_t first, size_t count, const HardwareInLoop* hardware = nullptr, unsigned threads = 1);

// One training step's weight gradients (dL/dW of every layer's latent weights, torch layout, for the
// cross-entropy of images [first, first + count) as one batch, batch-norm batch statistics) from the
// floating-point backward pass, or with `sc` from the SC kernel at stream step `step`; then also the
// kernel's closed-form expectation and standard deviation of every element (for tests).
// With `hardware`, the forward value is the crossbar's (as in training, a chip per image); a
// stochastic layer's tile partial sums come from the crossbar's read loop, or with
// crossbar_tile_sums = false from libtorch's sliced convolutions (the reference the handed-over sums
// are tested against); psum_grad then holds every psum affine's (gain, offset) gradients.
struct GradientTrace {
  std::vector<std::vector<float>> weight_grad;
  std::vector<std::vector<float>> psum_grad;
  std::vector<std::vector<double>> sc_mean, sc_stddev;  // empty without sc
};
GradientTrace trace_gradients(const nn::Architecture& arch, const nn::NetworkParams& params, const nn::Dataset& data,
                              size_t first, size_t count, const ScUpdateConfig* sc = nullptr, uint64_t seed = 1,
                              uint64_t step = 0, unsigned threads = 1, const HardwareInLoop* hardware = nullptr,
                              bool crossbar_tile_sums = true);

// The stochastic layer's surrogate (stochastic_surrogate.hpp) on plain arrays, for tests against its
// closed form: partial sums ps [B, T, O, P] of tiles of `slices[t]` inputs out of `per_tile`, the
// psum affine (gain, offset) [O] and an upstream gradient grad_e [B, O, P]; returns e [B, O, P] and
// the gradients of Σ grad_e · e with respect to ps, gain and offset.
struct SurrogateProbe {
  std::vector<float> e, d_ps, d_gain, d_offset;
};
SurrogateProbe probe_stochastic_surrogate(const std::vector<float>& ps, const std::vector<int64_t>& shape_btop,
                                          const std::vector<float>& gain, const std::vector<float>& offset,
                                          const std::vector<int64_t>& slices, int64_t per_tile,
                                          const std::vector<float>& grad_e, unsigned threads);

// The per-tile partial sums the surrogate is fed (channel-sliced convolutions, or slices of a dense
// layer's inputs) against an independent formulation (im2col then a product per tile slice; a dense
// layer through weights masked to the slice), for a random ±1 layer of C channels (H×W positions, or
// C·H·W dense inputs), O outputs, on XNOR tiles of `rows` rows: the largest differences of the values
// (absolute) and of the gradients to the input and the weights for a random upstream gradient
// (relative to the largest gradient element).
struct TilePartialSumProbe {
  double value = 0, input_grad = 0, weight_grad = 0;
  int64_t tiles = 0;
};
TilePartialSumProbe probe_tile_partial_sums(bool conv, int64_t C, int64_t H, int64_t W, int64_t O, int rows,
                                            uint64_t seed);

}  // namespace xbarkit::train
