#pragma once
// Folded, bit-packed inference of a binary network, with a hook that lets a crossbar simulator
// replace every binary matrix-vector product.
//
// Layer roles (see model.hpp for the layer semantics):
//  - layer 0 ("real-input layer") multiplies the 8-bit image by ±1 weights; it stays digital. Its
//    integer pre-activation is S = Σ w·pixel (pixels 0..255), thresholds are on S.
//  - every later layer is a **binary layer**: ±1 weights times ±1 inputs, z = w·x ∈ [−N, N]. These
//    map to crossbars (the hook sees exactly these, including the final classifier).
// Hidden layers: after the optional 2×2 max-pool on z, batch norm + sign fold into a per-channel
// integer threshold: output +1 iff z >= threshold (direction +1) or z <= threshold (direction −1,
// negative batch-norm scale). The output layer turns z into logits with its batch norm (double) and
// the prediction is the first maximal logit.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/model.hpp"

namespace xbarkit::nn {

struct BinaryLayer {
  size_t index = 0;       // position in the architecture
  LayerSpec spec;         // geometry: in/out channels, conv positions, pooling, fan_in N
  bool real_input = false;
  bool is_output = false;
  int out_channels = 0;   // rows of the weight matrix
  int fan_in = 0;         // N: columns of the weight matrix (unrolled inputs)
  // ±1 weights, out_channels × fan_in row-major. Column order: conv (c, ky, kx) = c·9 + ky·3 + kx,
  // i.e. torch weight.reshape(out, -1); dense (c, y, x) = c·H·W + y·W + x, i.e. torch.flatten.
  std::vector<int8_t> weights;
  // Hidden layers: per output channel, fires (+1) iff direction·z >= direction·threshold.
  std::vector<int32_t> threshold;
  std::vector<int8_t> direction;  // +1 or −1
  // Batch norm of every layer (the output layer's logit = bn_apply(z, gamma, beta, mean, var, eps);
  // hidden layers use it directly when a hook scales z, see BinaryMatmulHook::output_scale).
  std::vector<double> gamma, beta, mean, var;
  double eps = 1e-5;
  // Learned partial-sum affine of a network trained for stochastic conversion (model.hpp); empty if not.
  std::vector<double> psum_gain, psum_offset;
  bool stochastic_psum() const { return !psum_gain.empty(); }

  bool binary() const { return !real_input; }       // maps to crossbars
  int positions() const { return spec.positions(); }  // matrix-vector products per image
  int8_t weight(int out, int col) const { return weights[size_t(out) * size_t(fan_in) + size_t(col)]; }
  // Hidden-layer activation of channel o for the (pooled) pre-activation z.
  bool fires(int o, int32_t z) const { return direction[size_t(o)] > 0 ? z >= threshold[size_t(o)] : z <= threshold[size_t(o)]; }
};

// Replaces the binary matrix products of every binary layer (layer index >= 1).
// `inputs` holds `positions` ±1 vectors of length layer.fan_in (row-major, the layer's column order;
// for convolutions one im2col patch per output position, row-major over (y, x), padding −1).
// Fill `out` (positions × layer.out_channels, row-major) with the integer dot products w·x.
// predict_all() may call it from several threads at once (one image per call chain).
class BinaryMatmulHook {
public:
  virtual ~BinaryMatmulHook() = default;
  virtual void matmul(const BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out) const = 0;
  // The value the layer's batch norm sees is out · output_scale (1 for dot products; 1/L when the
  // outputs are sums of L-sample ±1 means, as with stochastic partial-sum conversion). With a scale
  // other than 1 the hidden layer thresholds are evaluated as bn_apply(z · scale) >= 0 in double.
  virtual double output_scale(const BinaryLayer&) const { return 1.0; }
};

// The exact ±1 product (what an ideal crossbar computes): out = W · x for each position.
void ideal_matmul(const BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out);

class Network {
public:
  Network(Architecture arch, const NetworkParams& params);

  const Architecture& architecture() const { return arch_; }
  const std::vector<BinaryLayer>& layers() const { return layers_; }
  int classes() const { return arch_.classes; }
  // True when some binary layer was trained for stochastic partial-sum conversion: its outputs are
  // only defined through a crossbar hook with a sampling converter (no software path).
  bool stochastic_psum() const;

  // Class logits / prediction of one image (channels × height × width uint8 pixels). Without a hook
  // the binary layers run on 64-bit words with popcount.
  std::vector<double> logits(std::span<const uint8_t> pixels, const BinaryMatmulHook* hook = nullptr) const;
  int predict(std::span<const uint8_t> pixels, const BinaryMatmulHook* hook = nullptr) const;
  // Predictions of the first n images of a dataset (n = 0: all) on `threads` threads (0 = all cores).
  std::vector<int> predict_all(const Dataset& data, size_t n = 0, unsigned threads = 0,
                               const BinaryMatmulHook* hook = nullptr) const;
  // Fraction of correct predictions.
  static double accuracy(const std::vector<int>& predictions, const Dataset& data);

  // What batch norm sees at layer `layer` for one image: the (pooled) pre-activation times the hook's
  // output scale, summed per channel over the layer's output positions into `sum`/`sum_sq` (sized
  // out_channels; `count` += positions). The earlier layers run as in logits(), with `hook`.
  void accumulate_bn_input(std::span<const uint8_t> pixels, const BinaryMatmulHook* hook, size_t layer,
                           std::vector<double>& sum, std::vector<double>& sum_sq, double& count) const;
  // A copy with layer `layer`'s batch-norm running statistics replaced and its thresholds refolded.
  Network with_bn_statistics(size_t layer, const std::vector<double>& mean, const std::vector<double>& var) const;

private:
  struct Probe {
    size_t layer;
    std::vector<double>* sum;
    std::vector<double>* sum_sq;
    double* count;
  };
  std::vector<double> forward(std::span<const uint8_t> pixels, const BinaryMatmulHook* hook, const Probe* probe) const;
  struct Packed;  // bit-packed weights per layer
  Architecture arch_;
  std::vector<BinaryLayer> layers_;
  std::vector<std::vector<float>> first_weights_;  // layer 0: (fan_in × out) float, im2col order
  std::shared_ptr<const std::vector<Packed>> packed_;
};

// Reads <arch>.toml and <arch>.safetensors, e.g. load_network("models/networks/bnn_cnn").
Network load_network(const std::filesystem::path& arch_without_ext);
Network load_network(const std::filesystem::path& arch_toml, const std::filesystem::path& weights);

// Threshold folding (exposed for tests): the smallest integer T with bn_apply(T·scale) >= 0 for a
// positive batch-norm scale (direction +1), the largest with it >= 0 for a negative one (direction −1).
// Always-on channels get T = −bound (+1) and always-off ones T = bound + 1 (+1).
void fold_threshold(double gamma, double beta, double mean, double var, double eps, double scale, int32_t bound,
                    int32_t& threshold, int8_t& direction);

}  // namespace xbarkit::nn
