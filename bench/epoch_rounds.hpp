#pragma once
// Shared by the training-epoch benches: one epoch of a network's training configuration, and the
// median over rounds (the benches alternate configurations round by round and report medians, since
// the cores' speed drifts between minutes).
#include <algorithm>
#include <vector>

#include "xbarkit/train/trainer.hpp"

namespace xbarkit::bench {

// One epoch of `arch`'s [train] configuration, no batch-norm recalibration afterwards.
inline train::TrainOptions one_epoch(const nn::Architecture& arch, unsigned threads) {
  train::TrainOptions t;
  t.config = arch.train;
  t.config.epochs = 1;
  t.config.recalibrate_bn = false;
  t.threads = threads;
  return t;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace xbarkit::bench
