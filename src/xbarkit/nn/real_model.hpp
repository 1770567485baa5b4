#pragma once
// Real-valued networks (issue 15): the architecture (TOML, format "xbarkit-real-1") and its parameters
// (safetensors). See docs/NETWORKS.md, section "Real-valued networks", for the file formats and the
// tensor names. The binary format of model.hpp is separate and unchanged.
//
// Layers, in file order, act on a feature map [C, H, W] (or a feature vector after a dense layer):
//  - conv:     y = W * x (+ bias), kernel k×k, stride s, zero padding p, then optional BN, optional ReLU;
//  - residual: ResNet basic block (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016):
//              relu( BN2(conv2(relu(BN1(conv1(x))))) + shortcut(x) ), conv1 3×3 stride s pad 1, conv2 3×3
//              stride 1 pad 1, shortcut = identity when s = 1 and the channel count stays, otherwise a 1×1
//              convolution with stride s followed by BN ("option B" of He et al.); no conv biases;
//  - avgpool:  global average pooling [C, H, W] -> [C];
//  - dense:    y = W · x (+ bias), optional BN, optional ReLU; after a feature map the input is flattened
//              in (channel, row, column) order like torch.flatten;
// the last layer's outputs are the logits. Batch norm is the inference form
// gamma·(z − running_mean)/sqrt(running_var + eps) + beta.
//
// Optional quantization (for bit-sliced mappings), applied identically by the trainer (forward) and by
// inference:
//  - weight_bits = n:     every weight layer's W -> s·round(W/s), s = max|W| / (2^(n−1) − 1), per layer
//                         (symmetric, 2^n − 1 levels);
//  - activation_bits = n: every weight layer's input x >= 0 -> (α/L)·round(min(x, α)·L/α), L = 2^n − 1,
//                         with α the layer's learned clip (PACT, Choi et al., arXiv 1805.06085) stored as
//                         "<unit>.input_clip"; the image input uses α = 255·input_scale, no tensor. Every
//                         weight layer's input must then be non-negative (image or after a ReLU).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "xbarkit/nn/safetensors.hpp"

namespace xbarkit::nn {

inline constexpr const char* kRealFormat = "xbarkit-real-1";

enum class RealLayerType { Conv, Residual, AvgPool, Dense };
const char* real_layer_type_name(RealLayerType t);

struct RealLayerSpec {
  RealLayerType type = RealLayerType::Dense;
  int out = 0;                               // output channels / features (avgpool: = in)
  int kernel = 3, stride = 1, padding = 1;   // conv (residual: stride of conv1 and the shortcut)
  bool bias = false, bn = true, relu = true; // conv and dense
  bool projection = false;                   // residual: 1×1 convolution shortcut (derived)
  // Derived by the reader: input and output shapes (a feature vector is [n, 1, 1]).
  int in_c = 0, in_h = 1, in_w = 1, out_c = 0, out_h = 1, out_w = 1;
};

struct RealTrainConfig {
  int epochs = 15;
  uint64_t seed = 1;
  int batch = 128;
  std::string optimizer = "sgd";   // sgd (Nesterov momentum) | adam
  double lr = 0.1;                 // at step 0, cosine decay per step ...
  double lr_final = 0.0;           // ... to this value at the end of the last epoch
  double momentum = 0.9;           // sgd
  double weight_decay = 5e-4;      // L2 on conv/dense weights (not on BN, biases, clips)
  int augment_shift = 0;           // random translation by up to this many pixels (zero fill); 0 = none
  bool augment_flip = false;       // random horizontal flip
  double weight_noise = 0.0;       // η: noise-injection training, see train/real_trainer.hpp
  bool recalibrate_bn = true;      // after training: BN statistics of the final weights over the training set
};

struct RealArchitecture {
  std::string name;
  std::filesystem::path file;  // the .toml it came from (empty for in-memory)
  int in_channels = 1, in_height = 28, in_width = 28;
  int classes = 10;
  double input_scale = 1.0 / 255.0;
  double bn_eps = 1e-5;
  int weight_bits = 0;      // 0: float weights
  int activation_bits = 0;  // 0: float activations
  std::vector<RealLayerSpec> layers;
  RealTrainConfig train;
};

// The format a TOML architecture file declares: "xbarkit-real-1" for real-valued networks, otherwise
// the binary format of model.hpp ("xbarkit-bnn-1" or no key). Reads only the root key "format".
bool is_real_architecture_file(const std::filesystem::path& toml);

RealArchitecture load_real_architecture(const std::filesystem::path& toml);
RealArchitecture parse_real_architecture(const std::string& toml_text, const std::string& source_name);

// One weight layer ("unit") of the network in forward order: the conv of a conv layer, a residual
// block's conv1, conv2 and projection shortcut (in that order), a dense layer.
struct WeightUnit {
  std::string name;       // tensor prefix: "layer3", "layer3.conv1", "layer3.conv2", "layer3.shortcut"
  std::string bn;         // its batch norm's tensor prefix ("layer3.bn", "layer3.bn1", ...), empty if none
  size_t layer = 0;       // index of the [[layer]] it belongs to
  bool dense = false;
  int kernel = 1, stride = 1, padding = 0;
  bool bias = false;
  bool image_input = false;  // reads the image (activation quantization uses α = 255·input_scale)
  int in_c = 0, in_h = 1, in_w = 1, out_c = 0, out_h = 1, out_w = 1;
  int fan_in() const { return dense ? in_c * in_h * in_w : in_c * kernel * kernel; }
  int positions() const { return dense ? 1 : out_h * out_w; }
  std::vector<int64_t> weight_shape() const {
    if (dense) return {out_c, int64_t(in_c) * in_h * in_w};
    return {out_c, in_c, kernel, kernel};
  }
};
std::vector<WeightUnit> weight_units(const RealArchitecture& arch);

// Every tensor the architecture needs, name -> shape, in a stable order.
std::vector<std::pair<std::string, std::vector<int64_t>>> real_tensor_shapes(const RealArchitecture& arch);

struct RealParams {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
  const Tensor& at(const std::string& name) const;
};

// Checks every tensor against the architecture (names, shapes, finite values, running_var >= 0,
// input_clip > 0; no extra tensors) and names the file and tensor in every error.
RealParams real_params_from_tensors(const RealArchitecture& arch, const TensorFile& tf, const std::string& file);
RealParams read_real_params(const RealArchitecture& arch, const std::filesystem::path& safetensors);
void write_real_params(const RealArchitecture& arch, const RealParams& p, const std::filesystem::path& safetensors);

// Quantization helpers shared by inference and the trainer's tests.
float weight_quant_scale(const float* w, size_t n, int bits);  // max|W| / (2^(bits−1) − 1); 0 if W = 0
void quantize_weights(std::vector<float>& w, int bits);         // in place; bits = 0: unchanged

}  // namespace xbarkit::nn
