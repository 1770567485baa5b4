#pragma once
// Internal to the train module (includes libtorch): the autograd glue that puts sc::ScOuterProduct in
// the backward pass of every layer's weight product (sc_update.hpp says which products and how).
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "xbarkit/nn/model.hpp"
#include "xbarkit/sc/update.hpp"
#include "xbarkit/train/sc_update.hpp"

namespace xbarkit::train {

class ScWeightGradients {
public:
  ScWeightGradients(const nn::Architecture& arch, const ScUpdateConfig& config, uint64_t seed, unsigned threads);

  // Fresh streams for training step `step` (same seed and step => same update).
  void set_step(uint64_t step) { step_ = step; }

  // z = x W^T (x: [S, N], w: [O, N]) forward; backward: dL/dx = g W in floating point, dL/dW by SC.
  torch::Tensor linear(size_t layer, const torch::Tensor& x, const torch::Tensor& w) const;
  // z = conv2d(x, w, padding) (3x3, stride 1) forward; backward: dL/dx by the transposed convolution in
  // floating point (only when x needs it), dL/dW by SC over the im2col patches of x.
  torch::Tensor conv(size_t layer, const torch::Tensor& x, const torch::Tensor& w, int64_t padding) const;

  // The SC weight gradient of `layer` for errors g ([S, O]) and inputs x ([S, N]): [O, N].
  torch::Tensor weight_gradient(size_t layer, const torch::Tensor& g, const torch::Tensor& x) const;

  // For tests: when set, every weight_gradient also records the kernel's closed-form expectation and
  // standard deviation of each element (ScOuterProduct::expectation, in gradient units).
  bool record_expectation = false;
  mutable std::vector<std::vector<double>> expected_mean, expected_stddev;

private:
  std::vector<std::unique_ptr<sc::ScOuterProduct>> kernels_;
  uint64_t step_ = 0;
};

}  // namespace xbarkit::train
