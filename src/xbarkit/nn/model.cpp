#include "xbarkit/nn/model.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/toml_reader.hpp"

namespace xbarkit::nn {

const char* layer_type_name(LayerType t) { return t == LayerType::Conv3x3 ? "conv3x3" : "dense"; }

static Architecture build_architecture(const TomlSection& root) {
  const std::string& file = root.file();
  Architecture a;
  // First, so a real-valued network (xbarkit-real-1, real_model.hpp) handed to a binary-network
  // command is named as such rather than reported by its first unknown key.
  if (auto f = root.string("format"); f && *f != "xbarkit-bnn-1")
    throw root.error("format", fmt::format("unsupported format '{}' (binary-network commands read xbarkit-bnn-1{})", *f,
                                           *f == "xbarkit-real-1" ? "; this is a real-valued network, see docs/NETWORKS.md" : ""));
  a.name = root.string("name").value_or(std::filesystem::path(file).stem().string());
  if (auto v = root.number_array("input")) {
    if (v->size() != 3) throw root.error("input", "expected [channels, height, width]");
    for (double d : *v)
      if (d < 1 || d != std::floor(d) || d > 4096) throw root.error("input", "entries must be positive integers");
    a.in_channels = int((*v)[0]);
    a.in_height = int((*v)[1]);
    a.in_width = int((*v)[2]);
  } else {
    throw root.error("input", "missing required key ([channels, height, width], e.g. [1, 28, 28])");
  }
  const int64_t classes = root.require_integer("classes");  // range-checked before narrowing to int
  if (classes < 2 || classes > 65536) throw root.error("classes", fmt::format("must be in [2, 65536], got {}", classes));
  a.classes = int(classes);
  if (auto v = root.number("input_scale")) {
    if (!(*v > 0)) throw root.error("input_scale", "must be positive");
    a.input_scale = *v;
  }
  if (auto v = root.number("bn_eps")) {
    if (!(*v > 0)) throw root.error("bn_eps", "must be positive");
    a.bn_eps = *v;
  }
  if (auto t = root.table("train")) {
    auto& c = a.train;
    c.epochs = int(t->integer_in("epochs", c.epochs, 0, 1000000));
    c.seed = uint64_t(t->integer_in("seed", int64_t(c.seed), 0, INT64_MAX));
    c.batch = int(t->integer_in("batch", c.batch, 2, 1 << 20));
    if (auto v = t->number("lr")) c.lr = *v;
    if (auto v = t->number("lr_final")) c.lr_final = *v;
    if (auto v = t->boolean("recalibrate_bn")) c.recalibrate_bn = *v;
    if (c.epochs < 0) throw t->error("epochs", "must be >= 0");
    if (c.batch < 2) throw t->error("batch", "must be >= 2 (batch norm needs a batch)");
    if (!(c.lr > 0) || !(c.lr_final >= 0)) throw t->error("lr", "learning rates must be positive");
    t->reject_unknown_keys();
  }
  // Root keys: TomlSection does not read arrays of tables, so check them here.
  static const std::set<std::string> known{"name", "input", "classes", "input_scale", "bn_eps", "train", "layer", "format"};
  for (const auto& k : root.keys())
    if (!known.count(k)) throw root.error(k, "unknown key (known: name, format, input, classes, input_scale, bn_eps, [train], [[layer]])");

  const toml::node* layers_node = root.raw()->get("layer");
  const toml::array* arr = layers_node ? layers_node->as_array() : nullptr;
  if (!arr || arr->empty()) throw root.error("layer", "missing: list the layers as [[layer]] tables");
  int c = a.in_channels, h = a.in_height, w = a.in_width;
  bool flat = false;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = arr->get(i)->as_table();
    const std::string key = fmt::format("layer[{}]", i);
    if (!t) throw InputError(file, key, "each [[layer]] entry must be a table");
    TomlSection s(t, file, key);
    LayerSpec l;
    const std::string type = s.require_string("type");
    if (type == "conv3x3") l.type = LayerType::Conv3x3;
    else if (type == "dense") l.type = LayerType::Dense;
    else throw s.error("type", fmt::format("unknown layer type '{}' (conv3x3 or dense)", type));
    const int64_t out = s.require_integer("out");
    if (out < 1 || out > 65536) throw s.error("out", "must be between 1 and 65536");
    l.out = int(out);
    l.pool = s.boolean("pool").value_or(false);
    s.reject_unknown_keys();
    l.real_input = (i == 0);
    l.is_output = (i + 1 == arr->size());
    if (l.type == LayerType::Conv3x3) {
      if (flat) throw s.error("type", "a convolution cannot follow a dense layer");
      l.in_channels = c;
      l.in_height = h;
      l.in_width = w;
      l.conv_height = h;
      l.conv_width = w;
      l.fan_in = 9 * c;
      l.out_height = l.pool ? h / 2 : h;
      l.out_width = l.pool ? w / 2 : w;
      if (l.out_height < 1 || l.out_width < 1) throw s.error("pool", "the feature map is too small to pool");
      if (l.is_output) throw s.error("type", "the last layer must be dense (it produces the class logits)");
      c = l.out;
      h = l.out_height;
      w = l.out_width;
    } else {
      if (l.pool) throw s.error("pool", "pooling applies to conv3x3 layers only");
      l.in_channels = c;
      l.in_height = h;
      l.in_width = w;
      l.fan_in = c * h * w;
      flat = true;
      c = l.out;
      h = w = 1;
    }
    if (l.is_output && l.out != a.classes)
      throw s.error("out", fmt::format("the last layer must have out = classes = {}", a.classes));
    a.layers.push_back(l);
  }
  return a;
}

Architecture parse_architecture(const std::string& text, const std::string& source) {
  const auto doc = TomlDocument::from_string(text, source);
  auto a = build_architecture(doc.root());
  return a;
}

Architecture load_architecture(const std::filesystem::path& toml) {
  const auto doc = TomlDocument::from_file(toml);
  auto a = build_architecture(doc.root());
  a.file = toml;
  return a;
}

std::string tensor_name(size_t layer, const std::string& what) { return fmt::format("layer{}.{}", layer, what); }

std::vector<int64_t> weight_shape(const LayerSpec& l) {
  if (l.type == LayerType::Conv3x3) return {l.out, l.in_channels, 3, 3};
  return {l.out, l.fan_in};
}

static const char* kBnNames[4] = {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"};

NetworkParams params_from_tensors(const Architecture& arch, const TensorFile& tf, const std::string& file) {
  NetworkParams p;
  p.metadata = tf.metadata;
  std::set<std::string> used;
  auto take = [&](const std::string& name, const std::vector<int64_t>& shape) -> const Tensor& {
    auto it = tf.tensors.find(name);
    if (it == tf.tensors.end())
      throw InputError(file, name, fmt::format("missing tensor (expected shape {}; see docs/NETWORKS.md for the names)",
                                               shape_string(shape)));
    if (it->second.shape != shape)
      throw InputError(file, name, fmt::format("shape {} does not match the architecture {}: expected {}",
                                               shape_string(it->second.shape),
                                               arch.file.empty() ? arch.name : arch.file.string(), shape_string(shape)));
    for (float v : it->second.data)
      if (!std::isfinite(v)) throw InputError(file, name, "contains a non-finite value");
    used.insert(name);
    return it->second;
  };
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const auto& l = arch.layers[i];
    LayerParams lp;
    lp.weight = take(tensor_name(i, "weight"), weight_shape(l));
    std::vector<float>* dst[4] = {&lp.bn_weight, &lp.bn_bias, &lp.bn_mean, &lp.bn_var};
    for (int k = 0; k < 4; ++k) *dst[k] = take(tensor_name(i, kBnNames[k]), {l.out}).data;
    for (float v : lp.bn_var)
      if (v < 0) throw InputError(file, tensor_name(i, "bn.running_var"), "variances must be >= 0");
    const std::string gain = tensor_name(i, "psum.gain"), offset = tensor_name(i, "psum.offset");
    const bool has_gain = tf.tensors.count(gain) > 0, has_offset = tf.tensors.count(offset) > 0;
    if (has_gain || has_offset) {
      if (l.real_input)
        throw InputError(file, has_gain ? gain : offset,
                         "layer 0 sees the image and stays digital; only binary (crossbar) layers have a psum affine");
      if (!has_gain || !has_offset)
        throw InputError(file, has_gain ? offset : gain, "missing tensor: psum.gain and psum.offset come together");
      lp.psum_gain = take(gain, {l.out}).data;
      lp.psum_offset = take(offset, {l.out}).data;
    }
    p.layers.push_back(std::move(lp));
  }
  for (const auto& [name, t] : tf.tensors)
    if (!used.count(name))
      throw InputError(file, name, fmt::format("unexpected tensor: the architecture has {} layers with tensors layer<i>.weight "
                                               "and layer<i>.bn.{{weight,bias,running_mean,running_var}} (optionally "
                                               "layer<i>.psum.{{gain,offset}})",
                                               arch.layers.size()));
  return p;
}

NetworkParams read_params(const Architecture& arch, const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw InputError(path.string(), "", "weights file not found");
  return params_from_tensors(arch, read_safetensors(path), path.string());
}

TensorFile params_to_tensors(const Architecture& arch, const NetworkParams& p) {
  TensorFile tf;
  tf.metadata = p.metadata;
  tf.metadata["format"] = "xbarkit-bnn-1";
  tf.metadata["architecture"] = arch.name;
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const auto& lp = p.layers.at(i);
    tf.tensors[tensor_name(i, "weight")] = lp.weight;
    const std::vector<float>* src[4] = {&lp.bn_weight, &lp.bn_bias, &lp.bn_mean, &lp.bn_var};
    for (int k = 0; k < 4; ++k) tf.tensors[tensor_name(i, kBnNames[k])] = Tensor{{arch.layers[i].out}, *src[k]};
    if (!lp.psum_gain.empty()) {
      tf.tensors[tensor_name(i, "psum.gain")] = Tensor{{arch.layers[i].out}, lp.psum_gain};
      tf.tensors[tensor_name(i, "psum.offset")] = Tensor{{arch.layers[i].out}, lp.psum_offset};
    }
  }
  return tf;
}

void write_params(const Architecture& arch, const NetworkParams& p, const std::filesystem::path& path) {
  write_safetensors(path, params_to_tensors(arch, p));
}

int argmax(const std::vector<double>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

FloatReference::FloatReference(const Architecture& arch, const NetworkParams& p) : arch_(arch), params_(&p) {
  for (const auto& lp : p.layers) {
    std::vector<double> wb(lp.weight.data.size());
    for (size_t i = 0; i < wb.size(); ++i) wb[i] = lp.weight.data[i] >= 0.0f ? 1.0 : -1.0;
    weights_.push_back(std::move(wb));
  }
}

std::vector<double> FloatReference::logits(const uint8_t* pixels) const {
  const auto& arch = arch_;
  const auto& p = *params_;
  // Activations in (channel, row, column) order, double precision.
  int c = arch.in_channels, h = arch.in_height, w = arch.in_width;
  std::vector<double> x(static_cast<size_t>(c) * h * w);
  for (size_t i = 0; i < x.size(); ++i) x[i] = pixels[i] * arch.input_scale;
  for (size_t li = 0; li < arch.layers.size(); ++li) {
    const auto& l = arch.layers[li];
    const auto& lp = p.layers[li];
    const std::vector<double>& wb = weights_[li];  // sign(W), torch layout
    std::vector<double> z;
    if (l.type == LayerType::Conv3x3) {
      // Zero-padded (layer 0) or (-1)-padded input plane, then a direct 3×3 convolution.
      const double pad = l.real_input ? 0.0 : -1.0;
      const int ph = h + 2, pw = w + 2;
      std::vector<double> xp(static_cast<size_t>(c) * ph * pw, pad);
      for (int ci = 0; ci < c; ++ci)
        for (int y = 0; y < h; ++y)
          for (int xx = 0; xx < w; ++xx) xp[(size_t(ci) * ph + y + 1) * pw + xx + 1] = x[(size_t(ci) * h + y) * w + xx];
      std::vector<double> full(static_cast<size_t>(l.out) * h * w, 0.0);
      for (int o = 0; o < l.out; ++o) {
        double* out = full.data() + size_t(o) * h * w;
        for (int ci = 0; ci < c; ++ci)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const double wv = wb[((size_t(o) * c + ci) * 3 + ky) * 3 + kx];
              for (int y = 0; y < h; ++y) {
                const double* in = xp.data() + (size_t(ci) * ph + y + ky) * pw + kx;
                double* row = out + size_t(y) * w;
                for (int xx = 0; xx < w; ++xx) row[xx] += wv * in[xx];
              }
            }
      }
      const int oh = l.out_height, ow = l.out_width;
      z.resize(static_cast<size_t>(l.out) * oh * ow);
      for (int o = 0; o < l.out; ++o)
        for (int y = 0; y < oh; ++y)
          for (int xx = 0; xx < ow; ++xx) {
            double m;
            if (l.pool) {
              m = -INFINITY;
              for (int dy = 0; dy < 2; ++dy)
                for (int dx = 0; dx < 2; ++dx) m = std::max(m, full[(size_t(o) * h + 2 * y + dy) * w + 2 * xx + dx]);
            } else {
              m = full[(size_t(o) * h + y) * w + xx];
            }
            z[(size_t(o) * oh + y) * ow + xx] = m;
          }
      h = oh;
      w = ow;
    } else {
      z.resize(static_cast<size_t>(l.out));
      for (int o = 0; o < l.out; ++o) {
        const double* wo = wb.data() + size_t(o) * l.fan_in;
        double s = 0;
        for (int k = 0; k < l.fan_in; ++k) s += wo[k] * x[size_t(k)];
        z[size_t(o)] = s;
      }
      h = w = 1;
    }
    c = l.out;
    const size_t per = z.size() / size_t(l.out);
    for (int o = 0; o < l.out; ++o)
      for (size_t k = 0; k < per; ++k) {
        double& v = z[size_t(o) * per + k];
        v = bn_apply(v, lp.bn_weight[o], lp.bn_bias[o], lp.bn_mean[o], lp.bn_var[o], arch.bn_eps);
        if (!l.is_output) v = v >= 0.0 ? 1.0 : -1.0;
      }
    x = std::move(z);
  }
  return x;
}

std::vector<double> reference_logits(const Architecture& arch, const NetworkParams& p, const uint8_t* pixels) {
  return FloatReference(arch, p).logits(pixels);
}

}  // namespace xbarkit::nn
