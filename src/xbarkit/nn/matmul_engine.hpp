#pragma once
// The seam between a real-valued network (weights and activations in floating point, e.g. the
// residual networks of docs/NETWORKS.md) and the hardware that computes its matrix products
// (analog PCM tiles in pcm/, or the float reference). The network does everything digital — bias,
// batch norm, ReLU, pooling, residual adds — and hands each weight layer's product to the engine.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xbarkit::nn {

// One weight layer as a matrix: a dense layer's W, or a convolution's kernel unrolled so that
// output position p is W · patch_p (fan_in ordered (in_channel, ky, kx), the order of torch's unfold).
struct WeightMatrix {
  std::string name;      // the layer's name in the network, for messages and reports
  int out = 0;           // rows of W (output channels / features)
  int fan_in = 0;        // columns of W (inputs per output)
  int positions = 1;     // matrix-vector products per image (a convolution's output positions)
  std::vector<float> w;  // row-major [out][fan_in]
};

class MatmulEngine {
public:
  virtual ~MatmulEngine() = default;
  // y[p·out + o] = Σ_n W[o][n] · x[p·fan_in + n] for p < P, as this engine computes it, for weight
  // layer `layer` (index into the network's weight_matrices()). `key` identifies the image: an
  // engine with per-read randomness draws from (its seed, key, layer, p), so results do not depend
  // on the thread count. Called concurrently from several threads.
  virtual void matmul(size_t layer, const float* x, size_t P, float* y, uint64_t key) const = 0;
};

}  // namespace xbarkit::nn
