#include "xbarkit/nn/real_model.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/toml_reader.hpp"

namespace xbarkit::nn {

const char* real_layer_type_name(RealLayerType t) {
  switch (t) {
    case RealLayerType::Conv: return "conv";
    case RealLayerType::Residual: return "residual";
    case RealLayerType::AvgPool: return "avgpool";
    case RealLayerType::Dense: return "dense";
  }
  return "?";
}

bool is_real_architecture_file(const std::filesystem::path& toml) {
  const auto doc = TomlDocument::from_file(toml);
  const auto* f = doc.root().raw()->get("format");
  return f && f->is_string() && f->value<std::string>().value_or("") == kRealFormat;
}

static int conv_out(int n, int k, int s, int p) { return (n + 2 * p - k) / s + 1; }

static RealArchitecture build(const TomlSection& root) {
  const std::string& file = root.file();
  RealArchitecture a;
  static const std::set<std::string> known{"format", "name", "input", "classes", "input_scale", "bn_eps",
                                           "weight_bits", "activation_bits", "train", "layer"};
  for (const auto& k : root.keys())
    if (!known.count(k))
      throw root.error(k, "unknown key (known: format, name, input, classes, input_scale, bn_eps, weight_bits, "
                          "activation_bits, [train], [[layer]])");
  const auto fmt_key = root.require_string("format");
  if (fmt_key != kRealFormat)
    throw root.error("format", fmt::format("expected '{}' for a real-valued network, got '{}'", kRealFormat, fmt_key));
  a.name = root.string("name").value_or(std::filesystem::path(file).stem().string());
  if (auto v = root.number_array("input")) {
    if (v->size() != 3) throw root.error("input", "expected [channels, height, width]");
    for (double d : *v)
      if (d < 1 || d != std::floor(d) || d > 4096) throw root.error("input", "entries must be positive integers <= 4096");
    a.in_channels = int((*v)[0]);
    a.in_height = int((*v)[1]);
    a.in_width = int((*v)[2]);
  } else {
    throw root.error("input", "missing required key ([channels, height, width], e.g. [1, 28, 28])");
  }
  a.classes = int(root.integer_in("classes", -1, 2, 65536));
  if (auto v = root.number("input_scale")) {
    if (!(*v > 0)) throw root.error("input_scale", "must be positive");
    a.input_scale = *v;
  }
  if (auto v = root.number("bn_eps")) {
    if (!(*v > 0)) throw root.error("bn_eps", "must be positive");
    a.bn_eps = *v;
  }
  a.weight_bits = int(root.integer_in("weight_bits", 0, 0, 16));
  if (a.weight_bits == 1) throw root.error("weight_bits", "must be 0 (float) or 2..16 (binary networks use the xbarkit-bnn-1 format)");
  a.activation_bits = int(root.integer_in("activation_bits", 0, 0, 16));
  if (auto t = root.table("train")) {
    auto& c = a.train;
    c.epochs = int(t->integer_in("epochs", c.epochs, 0, 1000000));
    c.seed = uint64_t(t->integer_in("seed", int64_t(c.seed), 0, INT64_MAX));
    c.batch = int(t->integer_in("batch", c.batch, 2, 1 << 20));
    if (auto v = t->string("optimizer")) {
      if (*v != "sgd" && *v != "adam") throw t->error("optimizer", fmt::format("'{}': expected sgd or adam", *v));
      c.optimizer = *v;
    }
    if (auto v = t->number("lr")) c.lr = *v;
    if (!(c.lr > 0)) throw t->error("lr", "must be positive");
    if (auto v = t->number("lr_final")) c.lr_final = *v;
    if (!(c.lr_final >= 0)) throw t->error("lr_final", "must be >= 0");
    if (auto v = t->number("momentum")) c.momentum = *v;
    if (!(c.momentum >= 0 && c.momentum < 1)) throw t->error("momentum", "must be in [0, 1)");
    if (auto v = t->number("weight_decay")) c.weight_decay = *v;
    if (!(c.weight_decay >= 0)) throw t->error("weight_decay", "must be >= 0");
    c.augment_shift = int(t->integer_in("augment_shift", 0, 0, 64));
    c.augment_flip = t->boolean("augment_flip").value_or(false);
    if (auto v = t->number("weight_noise")) c.weight_noise = *v;
    if (!(c.weight_noise >= 0 && c.weight_noise <= 1)) throw t->error("weight_noise", "must be in [0, 1] (η relative to max|W|)");
    c.recalibrate_bn = t->boolean("recalibrate_bn").value_or(true);
    t->reject_unknown_keys();
  }

  const toml::node* layers_node = root.raw()->get("layer");
  const toml::array* arr = layers_node ? layers_node->as_array() : nullptr;
  if (!arr || arr->empty()) throw root.error("layer", "missing: list the layers as [[layer]] tables");
  int c = a.in_channels, h = a.in_height, w = a.in_width;
  bool flat = false, nonneg = true;  // nonneg: the current activations are >= 0 (image or after ReLU)
  bool any_weight = false;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = arr->get(i)->as_table();
    const std::string key = fmt::format("layer[{}]", i);
    if (!t) throw InputError(file, key, "each [[layer]] entry must be a table");
    TomlSection s(t, file, key);
    RealLayerSpec l;
    const std::string type = s.require_string("type");
    const bool last = i + 1 == arr->size();
    l.in_c = c;
    l.in_h = h;
    l.in_w = w;
    auto need_nonneg = [&](const char* what) {
      if (a.activation_bits > 0 && !nonneg)
        throw s.error("type", fmt::format("activation_bits needs a non-negative input to every weight layer, but this "
                                          "{} follows a layer without ReLU", what));
    };
    if (type == "conv") {
      l.type = RealLayerType::Conv;
      if (flat) throw s.error("type", "a convolution cannot follow a dense or avgpool layer");
      l.out = int(s.integer_in("out", -1, 1, 65536));
      l.kernel = int(s.integer_in("kernel", 3, 1, 64));
      l.stride = int(s.integer_in("stride", 1, 1, 64));
      l.padding = int(s.integer_in("padding", (l.kernel - 1) / 2, 0, 64));
      l.bias = s.boolean("bias").value_or(false);
      l.bn = s.boolean("bn").value_or(true);
      l.relu = s.boolean("relu").value_or(true);
      need_nonneg("conv");
      l.out_c = l.out;
      l.out_h = conv_out(h, l.kernel, l.stride, l.padding);
      l.out_w = conv_out(w, l.kernel, l.stride, l.padding);
      if (h + 2 * l.padding < l.kernel || w + 2 * l.padding < l.kernel || l.out_h < 1 || l.out_w < 1)
        throw s.error("kernel", fmt::format("a {}×{} kernel does not fit the {}×{} input with padding {}", l.kernel, l.kernel,
                                            h, w, l.padding));
      nonneg = l.relu;
      any_weight = true;
    } else if (type == "residual") {
      l.type = RealLayerType::Residual;
      if (flat) throw s.error("type", "a residual block cannot follow a dense or avgpool layer");
      l.out = int(s.integer_in("out", c, 1, 65536));
      l.stride = int(s.integer_in("stride", 1, 1, 64));
      l.kernel = 3;
      l.padding = 1;
      need_nonneg("residual block");
      l.projection = l.stride != 1 || l.out != c;
      l.out_c = l.out;
      l.out_h = conv_out(h, 3, l.stride, 1);
      l.out_w = conv_out(w, 3, l.stride, 1);
      if (l.out_h < 1 || l.out_w < 1) throw s.error("stride", "the feature map is too small for this stride");
      nonneg = true;
      any_weight = true;
    } else if (type == "avgpool") {
      l.type = RealLayerType::AvgPool;
      if (flat) throw s.error("type", "global average pooling needs a feature map (it cannot follow dense/avgpool)");
      l.bn = l.relu = false;
      l.out = l.out_c = c;
      l.out_h = l.out_w = 1;
      flat = true;
    } else if (type == "dense") {
      l.type = RealLayerType::Dense;
      l.out = int(s.integer_in("out", -1, 1, 65536));
      l.bias = s.boolean("bias").value_or(true);
      l.bn = s.boolean("bn").value_or(false);
      l.relu = s.boolean("relu").value_or(!last);
      need_nonneg("dense layer");
      l.out_c = l.out;
      l.out_h = l.out_w = 1;
      flat = true;
      nonneg = l.relu;
      any_weight = true;
    } else {
      throw s.error("type", fmt::format("unknown layer type '{}' (conv, residual, avgpool or dense)", type));
    }
    s.reject_unknown_keys();
    if (last) {
      if (l.type != RealLayerType::Dense) throw s.error("type", "the last layer must be dense (it produces the class logits)");
      if (l.out != a.classes) throw s.error("out", fmt::format("the last layer must have out = classes = {}", a.classes));
      if (l.relu) throw s.error("relu", "the last layer produces the logits: relu must be false");
    }
    c = l.out_c;
    h = l.out_h;
    w = l.out_w;
    a.layers.push_back(l);
  }
  if (!any_weight) throw root.error("layer", "the network has no weight layer");
  return a;
}

RealArchitecture parse_real_architecture(const std::string& text, const std::string& source) {
  const auto doc = TomlDocument::from_string(text, source);
  return build(doc.root());
}

RealArchitecture load_real_architecture(const std::filesystem::path& toml) {
  const auto doc = TomlDocument::from_file(toml);
  auto a = build(doc.root());
  a.file = toml;
  return a;
}

std::vector<WeightUnit> weight_units(const RealArchitecture& arch) {
  std::vector<WeightUnit> units;
  bool image = true;
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const auto& l = arch.layers[i];
    const std::string p = fmt::format("layer{}", i);
    auto conv = [&](const std::string& name, const std::string& bn, int in_c, int in_h, int in_w, int k, int s, int pad) {
      WeightUnit u;
      u.name = name;
      u.bn = bn;
      u.layer = i;
      u.kernel = k;
      u.stride = s;
      u.padding = pad;
      u.in_c = in_c;
      u.in_h = in_h;
      u.in_w = in_w;
      u.out_c = l.out_c;
      u.out_h = conv_out(in_h, k, s, pad);
      u.out_w = conv_out(in_w, k, s, pad);
      return u;
    };
    switch (l.type) {
      case RealLayerType::Conv: {
        auto u = conv(p, l.bn ? p + ".bn" : "", l.in_c, l.in_h, l.in_w, l.kernel, l.stride, l.padding);
        u.bias = l.bias;
        u.image_input = image;
        units.push_back(u);
        break;
      }
      case RealLayerType::Residual: {
        auto c1 = conv(p + ".conv1", p + ".bn1", l.in_c, l.in_h, l.in_w, 3, l.stride, 1);
        c1.image_input = image;
        units.push_back(c1);
        units.push_back(conv(p + ".conv2", p + ".bn2", l.out_c, l.out_h, l.out_w, 3, 1, 1));
        if (l.projection) {
          auto sc = conv(p + ".shortcut", p + ".shortcut_bn", l.in_c, l.in_h, l.in_w, 1, l.stride, 0);
          sc.image_input = image;
          units.push_back(sc);
        }
        break;
      }
      case RealLayerType::AvgPool: break;
      case RealLayerType::Dense: {
        WeightUnit u;
        u.name = p;
        u.bn = l.bn ? p + ".bn" : "";
        u.layer = i;
        u.dense = true;
        u.bias = l.bias;
        u.image_input = image;
        u.in_c = l.in_c;
        u.in_h = l.in_h;
        u.in_w = l.in_w;
        u.out_c = l.out_c;
        units.push_back(u);
        break;
      }
    }
    image = false;
  }
  return units;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> real_tensor_shapes(const RealArchitecture& arch) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> v;
  for (const auto& u : weight_units(arch)) {
    v.emplace_back(u.name + ".weight", u.weight_shape());
    if (u.bias) v.emplace_back(u.name + ".bias", std::vector<int64_t>{u.out_c});
    if (!u.bn.empty())
      for (const char* what : {".weight", ".bias", ".running_mean", ".running_var"})
        v.emplace_back(u.bn + what, std::vector<int64_t>{u.out_c});
    if (arch.activation_bits > 0 && !u.image_input) v.emplace_back(u.name + ".input_clip", std::vector<int64_t>{1});
  }
  return v;
}

const Tensor& RealParams::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error("real network parameters: missing tensor " + name);
  return it->second;
}

RealParams real_params_from_tensors(const RealArchitecture& arch, const TensorFile& tf, const std::string& file) {
  RealParams p;
  p.metadata = tf.metadata;
  std::set<std::string> expected;
  for (const auto& [name, shape] : real_tensor_shapes(arch)) {
    expected.insert(name);
    auto it = tf.tensors.find(name);
    if (it == tf.tensors.end())
      throw InputError(file, name, fmt::format("missing tensor (expected shape {}; see docs/NETWORKS.md, real-valued networks)",
                                               shape_string(shape)));
    if (it->second.shape != shape)
      throw InputError(file, name, fmt::format("shape {} does not match the architecture {}: expected {}",
                                               shape_string(it->second.shape), arch.name, shape_string(shape)));
    for (float v : it->second.data)
      if (!std::isfinite(v)) throw InputError(file, name, "contains a non-finite value");
    const bool var = name.size() > 12 && name.compare(name.size() - 12, 12, ".running_var") == 0;
    const bool clip = name.size() > 11 && name.compare(name.size() - 11, 11, ".input_clip") == 0;
    for (float v : it->second.data) {
      if (var && v < 0) throw InputError(file, name, "variances must be >= 0");
      if (clip && !(v > 0)) throw InputError(file, name, "the activation clip must be > 0");
    }
    p.tensors[name] = it->second;
  }
  for (const auto& [name, t] : tf.tensors)
    if (!expected.count(name))
      throw InputError(file, name, fmt::format("unexpected tensor: architecture {} has no such parameter (see "
                                               "docs/NETWORKS.md for the names)", arch.name));
  return p;
}

RealParams read_real_params(const RealArchitecture& arch, const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw InputError(path.string(), "", "weights file not found");
  return real_params_from_tensors(arch, read_safetensors(path), path.string());
}

void write_real_params(const RealArchitecture& arch, const RealParams& p, const std::filesystem::path& path) {
  TensorFile tf;
  tf.metadata = p.metadata;
  tf.metadata["format"] = kRealFormat;
  tf.metadata["architecture"] = arch.name;
  for (const auto& [name, shape] : real_tensor_shapes(arch)) {
    const auto& t = p.at(name);
    if (t.shape != shape) throw Error(fmt::format("write_real_params: {} has shape {}, expected {}", name, shape_string(t.shape), shape_string(shape)));
    tf.tensors[name] = t;
  }
  write_safetensors(path, tf);
}

float weight_quant_scale(const float* w, size_t n, int bits) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(w[i]));
  return m / float((1 << (bits - 1)) - 1);
}

void quantize_weights(std::vector<float>& w, int bits) {
  if (bits <= 0) return;
  const float s = weight_quant_scale(w.data(), w.size(), bits);
  if (s == 0) return;
  for (auto& v : w) v = s * std::nearbyint(v / s);
}

}  // namespace xbarkit::nn
