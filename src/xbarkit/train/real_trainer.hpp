#pragma once
// `xbarkit train` for real-valued networks (nn/real_model.hpp, format xbarkit-real-1) on libtorch.
//
// Plain supervised training: cross-entropy, SGD with Nesterov momentum (or Adam), L2 weight decay on
// conv/dense weights, learning rate cosine-decayed per step from lr to lr_final, batch norm in training
// mode (batch statistics, running averages with momentum 0.1), optional augmentation by random
// translation (zero fill) and horizontal flips, optional n-bit weight/activation quantization with
// straight-through estimators (activation clips learned as in PACT). Initialization, shuffling,
// augmentation and weight noise all draw from xbarkit::Rng, so a seed means the same on every machine;
// the same seed and thread count give identical weights, and a run resumed from its checkpoint is
// bit-identical to an uninterrupted one.
//
// Noise-injection training (Joshi et al., Nat. Commun. 11, 2473 (2020), "Methods: noise injection"):
// with weight_noise = η > 0, in every training batch's forward pass every weight layer l (all conv,
// shortcut and dense layers) uses W_l + η · max|W_l| · Z_l, Z_l i.i.d. standard normal, drawn anew for
// every batch, with max|W_l| taken over the layer's (quantized, if weight_bits) weights and treated as a
// constant; the backward pass differentiates the noisy forward, so the gradient reaches W_l unchanged
// (dL/dW_l = dL/d(W_l + noise)). Evaluation, the per-epoch test accuracy, the final batch-norm
// recalibration and the written weights are noise-free.
//
// At the end (recalibrate_bn) every batch norm's running statistics are replaced by the average of the
// batch statistics over one pass of the training set in the shuffled order of the last epoch
// (torch's cumulative average, momentum = None), with the final noise-free weights.
//
// libtorch lives in this module's .cpp files only; this header does not include it.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <vector>

#include "xbarkit/core/progress.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/real_model.hpp"

namespace xbarkit::train {

struct RealEpochReport {
  int epoch = 0, epochs = 0;
  double loss = 0, train_accuracy = 0, test_accuracy = -1;  // test_accuracy < 0: no test set
  double seconds = 0, lr = 0;
};

struct RealTrainOptions {
  nn::RealTrainConfig config;  // the architecture's [train] table, possibly overridden
  unsigned threads = 0;        // libtorch intra-op threads (0 = all cores)
  size_t test_images = 0;      // per-epoch test evaluation on the first n test images (0 = all)
  std::ostream* log = nullptr;
  ProgressMode progress = ProgressMode::off;
  std::function<void(const RealEpochReport&)> on_epoch;
  std::filesystem::path checkpoint;  // non-empty: written atomically after every epoch
  bool resume = false;
  std::optional<nn::RealParams> init;  // fine-tune from these instead of a seeded initialization
};

struct RealTrainResult {
  nn::RealParams params;
  std::vector<RealEpochReport> epochs;
  double test_accuracy = -1;  // libtorch evaluation forward of the final parameters
  double seconds = 0;
};

RealTrainResult train_real_network(const nn::RealArchitecture& arch, const nn::Dataset& train, const nn::Dataset* test,
                                   const RealTrainOptions& opt);

// The trainer's seeded initialization: He-normal conv weights (std sqrt(2/fan_in)), dense weights
// uniform in ±1/sqrt(fan_in), zero biases, unit batch norm (gamma 1, beta 0, mean 0, var 1), clips 6.
nn::RealParams initial_real_params(const nn::RealArchitecture& arch, uint64_t seed);

// libtorch's evaluation forward (running statistics, no noise) of images [first, first + count):
// logits [count, classes] row-major. The independent reference for the C++ inference.
std::vector<float> real_torch_logits(const nn::RealArchitecture& arch, const nn::RealParams& params,
                                     const nn::Dataset& data, size_t first, size_t count, unsigned threads = 1);

}  // namespace xbarkit::train
