#pragma once
// Inference of real-valued networks (real_model.hpp) without libtorch. Every weight layer's matrix
// product goes either to the exact float path (im2col + Eigen GEMM) or to a MatmulEngine (analog
// hardware, matmul_engine.hpp); biases, batch norm (eval statistics), ReLU, residual adds, pooling and
// the optional activation quantization stay digital, in float.
//
// Conventions shared with the engines: weight_matrices()[k] is weight_units(arch)[k] (forward order:
// conv, or a residual block's conv1, conv2, projection shortcut, or dense), W row-major [out][fan_in]
// with fan_in in torch-unfold order (in_channel, ky, kx), quantized if the architecture says so; the
// product's input for output position p = (oy, ox) (row-major over the output map) is the zero-padded
// patch x[p·fan_in + n]; image i of a dataset is evaluated with key = key_base + i.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/matmul_engine.hpp"
#include "xbarkit/nn/real_model.hpp"

namespace xbarkit::nn {

class RealNetwork {
public:
  RealNetwork(RealArchitecture arch, RealParams params);
  // `weights` empty: the .safetensors beside the .toml.
  static RealNetwork load(const std::filesystem::path& toml, const std::filesystem::path& weights = {});

  const RealArchitecture& architecture() const { return arch_; }
  const RealParams& params() const { return params_; }
  const std::vector<WeightUnit>& units() const { return units_; }
  // The matrices the engine computes with (copies; quantized when weight_bits > 0).
  std::vector<WeightMatrix> weight_matrices() const;
  // weight_bits > 0: unit k's quantization step s (W = s·integer); 0 otherwise.
  float weight_scale(size_t unit) const { return layers_.at(unit).w_scale; }

  // Logits of one image (C·H·W pixels, 0..255). engine == nullptr: exact float path.
  std::vector<float> logits(const uint8_t* pixels, const MatmulEngine* engine = nullptr, uint64_t key = 0) const;
  int predict(const uint8_t* pixels, const MatmulEngine* engine = nullptr, uint64_t key = 0) const;
  // Predictions of the first n images (0 = all) on `threads` threads (0 = all cores); image i uses key_base + i.
  std::vector<int> predict_all(const Dataset& data, size_t n = 0, unsigned threads = 0,
                               const MatmulEngine* engine = nullptr, uint64_t key_base = 0) const;
  double accuracy(const Dataset& data, size_t n = 0, unsigned threads = 0, const MatmulEngine* engine = nullptr,
                  uint64_t key_base = 0) const;

  // The batch-norm statistics update of Joshi et al. (Nat. Commun. 11, 2473 (2020)): a copy of this
  // network whose every batch norm's running mean and variance are recomputed from the first n images
  // of `data` (0 = all) with the products from `engine` (nullptr: float path). Forward in order, layer by
  // layer: batch norm k's statistics are the per-channel mean and variance (denominator count − 1, as
  // torch's running_var) over all n images and output positions of its input, computed with batch
  // norms 0..k−1 already updated. Keeps all n images' activations in memory (n × the largest feature
  // map × 2 floats). Image i uses key key_base + i.
  RealNetwork with_updated_bn(const Dataset& data, size_t n = 0, const MatmulEngine* engine = nullptr,
                              unsigned threads = 0, uint64_t key_base = 0) const;

  struct Act {  // a feature map [c, h, w] (a vector: h = w = 1), channel-major
    std::vector<float> v;
    int c = 0, h = 1, w = 1;
  };
  enum class OpKind { Save, Product, Bn, Relu, Add, AvgPool };
  struct Op {
    OpKind kind;
    size_t unit = 0;  // Product, Bn
    int reg = 0;      // 0: the main path, 1: the residual block's shortcut
  };

private:
  struct Layer {  // per weight unit, prepared once
    std::vector<float> w;  // [out][fan_in], quantized
    float w_scale = 0;
    std::vector<float> bias;           // empty: none
    std::vector<float> bn_a, bn_b;     // folded BN: y = a·z + b (empty: no BN)
    float clip = 0;                    // activation quantization clip α (0: none)
  };
  void prepare_bn(size_t unit);
  void run(const Op& op, Act* regs, const MatmulEngine* engine, uint64_t key) const;
  void product(size_t unit, const Act& x, Act& y, const MatmulEngine* engine, uint64_t key) const;

  RealArchitecture arch_;
  RealParams params_;
  std::vector<WeightUnit> units_;
  std::vector<Layer> layers_;
  std::vector<Op> ops_;
};

}  // namespace xbarkit::nn
