#pragma once
// The training-time network: latent real weights, binarized in the forward pass, straight-through
// estimator in the backward pass, batch norm in training mode, Adam. Templated on the scalar so the
// gradient check runs in double; training uses float.
//
// Internal layouts (converted to the PyTorch layouts of model.hpp on import/export):
//  activations: rows = (sample, y, x), columns = channels; dense inputs: one row per sample,
//  features in (y, x, c) order; weights: fan_in × out with conv rows (ky, kx, c).
#include <cstdint>
#include <vector>

#include "xbarkit/nn/model.hpp"

namespace xbarkit::nn {

template <class S>
class Trainable {
public:
  struct Layer {
    LayerSpec spec;
    std::vector<S> w, gw, mw, vw;            // latent weights (fan_in × out), gradient, Adam moments
    std::vector<S> gamma, beta, ggamma, gbeta, mg, vg, mb, vb;
    std::vector<double> run_mean, run_var;  // running statistics (inference)
    // forward caches
    std::vector<S> wb, in, cols, z, zp, xhat, y, out;
    std::vector<int32_t> pool_idx;
    std::vector<S> invstd;
    int rows_in = 0, rows_out = 0;  // activation rows before / after pooling
    // cumulative statistics (BN recalibration)
    std::vector<double> acc_mean, acc_var;
    int64_t acc_batches = 0;
  };

  Trainable(const Architecture& arch, uint64_t seed);
  Trainable(const Architecture& arch, const NetworkParams& params);

  // false: use the latent weights as they are and hardtanh instead of sign, i.e. the network whose
  // exact gradient the straight-through estimator computes (used by the gradient check).
  bool binarize = true;
  unsigned threads = 1;
  double bn_momentum = 0.1;

  // Training-mode forward pass over `batch` images (pointers to channels×height×width bytes), then,
  // if `backward`, the gradients of the mean cross-entropy. Returns the mean loss; adds the number of
  // correct argmax predictions to *correct if given. `update_stats`: update running statistics.
  double step(const uint8_t* const* images, const uint8_t* labels, int batch, bool backward, bool update_stats,
              int* correct = nullptr);
  // Adam update (t = 1, 2, ...) of every parameter with learning rate lr, then clip latent weights to [-1, 1].
  void adam(double lr, int64_t t);
  // Recalibration: while on, step() accumulates the batch statistics; finish_recalibration() sets the
  // running statistics to the population mean and variance of all samples seen (final weights).
  void begin_recalibration();
  void finish_recalibration();

  NetworkParams export_params() const;
  std::vector<Layer>& layers() { return layers_; }
  const Architecture& architecture() const { return arch_; }

private:
  void forward_layer(size_t li, int batch, bool update_stats);
  void backward_layer(size_t li, int batch, std::vector<S>& grad_out, std::vector<S>& grad_in);
  Architecture arch_;
  std::vector<Layer> layers_;
  std::vector<S> input_;  // layer-0 input rows
  bool recalibrating_ = false;
};

extern template class Trainable<float>;
extern template class Trainable<double>;

}  // namespace xbarkit::nn
