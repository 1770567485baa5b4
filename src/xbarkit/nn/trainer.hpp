#pragma once
// The training loop behind `xbarkit train`: seeded shuffling (xbarkit::Rng), mini-batch Adam with a
// cosine learning-rate schedule, a per-epoch report (loss, training accuracy, test accuracy of the
// bit-packed inference path), and optional batch-norm recalibration at the end.
#include <filesystem>
#include <functional>
#include <iosfwd>

#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/model.hpp"

namespace xbarkit::nn {

struct EpochReport {
  int epoch = 0, epochs = 0;
  double loss = 0, train_accuracy = 0, test_accuracy = -1;  // test_accuracy < 0: no test set
  double seconds = 0, lr = 0;
};

struct TrainOptions {
  TrainConfig config;        // epochs, seed, batch, learning rates (from the architecture's [train] table)
  unsigned threads = 0;      // 0 = all cores
  size_t test_images = 0;    // per-epoch test evaluation on the first n test images (0 = all)
  std::ostream* log = nullptr;       // per-epoch lines
  bool progress_bar = false;         // in-epoch progress on stderr (\r-updated; for terminals)
  std::function<void(const EpochReport&)> on_epoch;
  // Non-empty: after every epoch the complete training state (weights, Adam moments, batch-norm
  // statistics, step count, shuffle order and generator) is written there atomically, so a killed
  // run loses at most one epoch. With `resume`, training continues from that file (which must come
  // from the same architecture, configuration and training set) and ends bit-identical to an
  // uninterrupted run.
  std::filesystem::path checkpoint;
  bool resume = false;
};

struct TrainResult {
  NetworkParams params;
  std::vector<EpochReport> epochs;
  double test_accuracy = -1;  // of the final (recalibrated) network, bit-packed path
  double seconds = 0;
};

TrainResult train_network(const Architecture& arch, const Dataset& train, const Dataset* test, const TrainOptions& opt);

}  // namespace xbarkit::nn
