#pragma once
// The differentiable side of a binary layer on crossbars (private to the trainer's translation units:
// includes libtorch).
//
// Stochastic partial sums (StoX-Net): the forward value is the crossbar's L Bernoulli samples per
// tile column; the backward pass uses the gradient of their expected value (a straight-through
// estimator through the expectation),
//     e_o = Σ_t tanh(k_A (g_o x_t,o + b_o)),   x_t,o = (ps_t,o + n_t) / n_tile − 1,
// with ps_t,o the XNOR partial sum of tile slice t (n_t inputs of a tile of n_tile), g, b the learned
// per-output-channel affine. ps is an integer in [−n_t, n_t], so y = tanh(…) takes n_t + 1 values
// per (tile, output): for a convolution the forward pass looks them up in a table (argument in double,
// libtorch's float tanh) and sums them over tiles in the same pass, and the backward pass looks y up
// again (a dense layer, with fewer reads than values, evaluates and keeps y per element); the
// backward pass computes the gradients to ps, g and b in one pass. This replaces libtorch's chain of
// about ten elementwise kernels each way over the [B, tiles, outputs, positions] partial sums
// (docs/PERFORMANCE.md, "Crossbar in the training loop").
#include <torch/torch.h>

#include "xbarkit/imc/mapping.hpp"

namespace xbarkit::train {

// Per-tile partial sums ps [B, T, O, P] of a binary layer, differentiable in its input and weights:
// conv3x3 from `padded` [B, C, H+2, W+2] (P = H·W, im2col order (c, ky, kx) as imc::LayerMapping
// slices it); dense from `flat` [B, N] (P = 1). `wb` are the ±1 weights ([O, C, 3, 3] or [O, N]).
torch::Tensor tile_partial_sums_conv(const torch::Tensor& padded, const torch::Tensor& wb, const imc::LayerMapping& m);
torch::Tensor tile_partial_sums_dense(const torch::Tensor& flat, const torch::Tensor& wb, const imc::LayerMapping& m);

// e [B, O, P] from ps [B, T, O, P] (above), gain [O] and offset [O]; gradients to all three.
torch::Tensor expected_mtj_output(const torch::Tensor& ps, const torch::Tensor& gain, const torch::Tensor& offset,
                                  const imc::LayerMapping& m);

// The same e from the partial sums the crossbar's read loop computed (it counts every tile column
// anyway: Simulator::matmul_keyed's tile_psums), int16 [B, T, O, P], and the layer's input x (padded
// [B, C, H+2, W+2] for a convolution, flat [B, N] for a dense layer) and ±1 weights wb: the value
// and gradients (to x, wb, gain, offset) of expected_mtj_output(tile_partial_sums_*(x, wb, m), …),
// without the forward products, and with int16 instead of float partial sums in the surrogate's
// memory-bound passes (tested against that composition).
torch::Tensor crossbar_expected_mtj_output(const torch::Tensor& ps, const torch::Tensor& x, const torch::Tensor& wb,
                                          const torch::Tensor& gain, const torch::Tensor& offset,
                                          const imc::LayerMapping& m, bool conv);

// The ±1 patches [B, P, C·9] (int8, im2col order) of `padded` [B, C, H+2, W+2] holding ±1: what
// F::unfold(padded, 3).transpose(1, 2) gives, without a float copy. Throws if a value is not ±1.
torch::Tensor binary_patches(const torch::Tensor& padded);

}  // namespace xbarkit::train
