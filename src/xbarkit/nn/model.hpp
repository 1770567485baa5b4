#pragma once
// Binary network description: the architecture (a small TOML file) and its parameters (a safetensors
// file). See docs/NETWORKS.md for the file formats and the tensor names.
//
// Every layer is   y = BN(pool(W_b · x))   with W_b = sign(W) (W >= 0 -> +1, else -1),
// then a = sign(y) (y >= 0 -> +1) for hidden layers; the last layer's y are the class logits.
//  - layer 0 sees the real-valued image x = pixel · input_scale (zero padding for convolutions);
//  - every later layer sees ±1 activations; convolutions pad them with -1 (so every crossbar input
//    is a valid ±1 value);
//  - conv3x3: 3×3, stride 1, padding 1; pool: optional 2×2 max-pool, stride 2 (floor), applied to
//    the integer pre-activations before batch norm;
//  - dense after a convolution flattens in (channel, row, column) order, like torch.flatten.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "xbarkit/nn/safetensors.hpp"

namespace xbarkit::nn {

enum class LayerType { Conv3x3, Dense };
const char* layer_type_name(LayerType t);

struct LayerSpec {
  LayerType type = LayerType::Dense;
  int out = 0;        // output channels (dense: output features)
  bool pool = false;  // 2×2 max-pool after a convolution
  // Derived by the architecture reader:
  int in_channels = 0, in_height = 1, in_width = 1;  // input shape (dense after dense: in_channels features)
  int conv_height = 1, conv_width = 1;               // output positions of the matrix product (before pooling)
  int out_height = 1, out_width = 1;                 // after pooling
  int fan_in = 0;                                    // N: inputs per output (conv: 9·in_channels)
  bool real_input = false;                           // layer 0: real-valued image input
  bool is_output = false;                            // last layer: logits, no sign
  int positions() const { return conv_height * conv_width; }
};

struct TrainConfig {
  int epochs = 10;
  uint64_t seed = 1;
  int batch = 100;
  double lr = 2e-3;               // Adam learning rate at epoch 0
  double lr_final = 1e-5;         // cosine decay to this value at the end of the last epoch
  bool recalibrate_bn = true;     // after training: batch-norm statistics over the training set, final weights
};

struct Architecture {
  std::string name;
  std::filesystem::path file;  // the .toml it came from (empty for in-memory)
  int in_channels = 1, in_height = 28, in_width = 28;
  int classes = 10;
  double input_scale = 1.0 / 255.0;
  double bn_eps = 1e-5;
  std::vector<LayerSpec> layers;
  TrainConfig train;
};

Architecture load_architecture(const std::filesystem::path& toml);
Architecture parse_architecture(const std::string& toml_text, const std::string& source_name);

struct LayerParams {
  Tensor weight;  // conv: [out, in, 3, 3]; dense: [out, fan_in]; latent real values
  std::vector<float> bn_weight, bn_bias, bn_mean, bn_var;  // [out] each: gamma, beta, running mean, running var
  // Optional, binary layers of networks trained for stochastic partial-sum conversion (StoX-Net,
  // Rogers et al., arXiv 2407.12378): per output channel, the learned affine a = gain·x + offset
  // applied to a tile column's normalized partial sum x before the SOT-MTJ. Empty: not trained for it.
  std::vector<float> psum_gain, psum_offset;  // [out] each ("layer<i>.psum.gain", "layer<i>.psum.offset")
};

struct NetworkParams {
  std::vector<LayerParams> layers;
  std::map<std::string, std::string> metadata;
};

// Tensor names: "layer<i>.weight", "layer<i>.bn.weight", "layer<i>.bn.bias", "layer<i>.bn.running_mean",
// "layer<i>.bn.running_var".
std::string tensor_name(size_t layer, const std::string& what);
std::vector<int64_t> weight_shape(const LayerSpec& l);

// Checks every tensor against the architecture (names, shapes, finite values, var >= 0; no extra tensors).
NetworkParams params_from_tensors(const Architecture& arch, const TensorFile& tf, const std::string& file);
NetworkParams read_params(const Architecture& arch, const std::filesystem::path& safetensors);
TensorFile params_to_tensors(const Architecture& arch, const NetworkParams& p);
void write_params(const Architecture& arch, const NetworkParams& p, const std::filesystem::path& safetensors);

// The batch-norm affine map y = gamma·(z − mean)/sqrt(var + eps) + beta in double precision. Both the
// threshold folding and the floating-point reference use this one function.
inline double bn_apply(double z, double gamma, double beta, double mean, double var, double eps);

// Straightforward floating-point evaluation of the binarized network (double precision, no folding,
// no bit packing): the reference the bit-packed path must match exactly. Returns the logits.
std::vector<double> reference_logits(const Architecture& arch, const NetworkParams& p, const uint8_t* pixels);
// The same with the ±1 weights prepared once (for many images). Keeps a pointer to `p`.
class FloatReference {
public:
  FloatReference(const Architecture& arch, const NetworkParams& p);
  std::vector<double> logits(const uint8_t* pixels) const;

private:
  Architecture arch_;
  const NetworkParams* params_;
  std::vector<std::vector<double>> weights_;
};
int argmax(const std::vector<double>& v);

}  // namespace xbarkit::nn

#include <cmath>
inline double xbarkit::nn::bn_apply(double z, double gamma, double beta, double mean, double var, double eps) {
  return gamma * (z - mean) / std::sqrt(var + eps) + beta;
}
