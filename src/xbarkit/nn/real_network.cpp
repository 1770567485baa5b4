#include "xbarkit/nn/real_network.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <Eigen/Core>
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"

namespace xbarkit::nn {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

RealNetwork::RealNetwork(RealArchitecture arch, RealParams params)
    : arch_(std::move(arch)), params_(std::move(params)), units_(weight_units(arch_)) {
  // Validate (shapes, names) even for in-memory parameters.
  {
    TensorFile tf;
    tf.tensors = params_.tensors;
    tf.metadata = params_.metadata;
    params_ = real_params_from_tensors(arch_, tf, arch_.file.empty() ? arch_.name : arch_.file.string());
  }
  layers_.resize(units_.size());
  for (size_t k = 0; k < units_.size(); ++k) {
    const auto& u = units_[k];
    auto& L = layers_[k];
    L.w = params_.at(u.name + ".weight").data;
    if (arch_.weight_bits > 0) {
      L.w_scale = weight_quant_scale(L.w.data(), L.w.size(), arch_.weight_bits);
      quantize_weights(L.w, arch_.weight_bits);
    }
    if (u.bias) L.bias = params_.at(u.name + ".bias").data;
    if (arch_.activation_bits > 0)
      L.clip = u.image_input ? float(255.0 * arch_.input_scale) : params_.at(u.name + ".input_clip").data[0];
    prepare_bn(k);
  }
  // The program: the same order of operations as the trainer's forward.
  size_t k = 0;
  for (const auto& l : arch_.layers) {
    switch (l.type) {
      case RealLayerType::Conv:
      case RealLayerType::Dense:
        ops_.push_back({OpKind::Product, k, 0});
        if (l.bn) ops_.push_back({OpKind::Bn, k, 0});
        if (l.relu) ops_.push_back({OpKind::Relu, 0, 0});
        ++k;
        break;
      case RealLayerType::Residual:
        ops_.push_back({OpKind::Save, 0, 1});
        ops_.push_back({OpKind::Product, k, 0});
        ops_.push_back({OpKind::Bn, k, 0});
        ops_.push_back({OpKind::Relu, 0, 0});
        ops_.push_back({OpKind::Product, k + 1, 0});
        ops_.push_back({OpKind::Bn, k + 1, 0});
        k += 2;
        if (l.projection) {
          ops_.push_back({OpKind::Product, k, 1});
          ops_.push_back({OpKind::Bn, k, 1});
          ++k;
        }
        ops_.push_back({OpKind::Add, 0, 0});
        ops_.push_back({OpKind::Relu, 0, 0});
        break;
      case RealLayerType::AvgPool: ops_.push_back({OpKind::AvgPool, 0, 0}); break;
    }
  }
}

RealNetwork RealNetwork::load(const std::filesystem::path& toml, const std::filesystem::path& weights) {
  auto arch = load_real_architecture(toml);
  auto w = weights.empty() ? std::filesystem::path(toml).replace_extension(".safetensors") : weights;
  auto p = read_real_params(arch, w);
  return RealNetwork(std::move(arch), std::move(p));
}

void RealNetwork::prepare_bn(size_t k) {
  const auto& u = units_[k];
  auto& L = layers_[k];
  if (u.bn.empty()) return;
  const auto& g = params_.at(u.bn + ".weight").data;
  const auto& b = params_.at(u.bn + ".bias").data;
  const auto& m = params_.at(u.bn + ".running_mean").data;
  const auto& v = params_.at(u.bn + ".running_var").data;
  L.bn_a.resize(size_t(u.out_c));
  L.bn_b.resize(size_t(u.out_c));
  for (int o = 0; o < u.out_c; ++o) {
    const double a = double(g[o]) / std::sqrt(double(v[o]) + arch_.bn_eps);
    L.bn_a[o] = float(a);
    L.bn_b[o] = float(double(b[o]) - a * double(m[o]));
  }
}

std::vector<WeightMatrix> RealNetwork::weight_matrices() const {
  std::vector<WeightMatrix> v;
  for (size_t k = 0; k < units_.size(); ++k) {
    const auto& u = units_[k];
    WeightMatrix m;
    m.name = u.name;
    m.out = u.out_c;
    m.fan_in = u.fan_in();
    m.positions = u.positions();
    m.w = layers_[k].w;
    v.push_back(std::move(m));
  }
  return v;
}

void RealNetwork::product(size_t k, const Act& x, Act& y, const MatmulEngine* engine, uint64_t key) const {
  const auto& u = units_[k];
  const auto& L = layers_[k];
  const int N = u.fan_in(), P = u.positions(), O = u.out_c;
  // The product's input: im2col patches [P][N] (a dense layer: the flattened input, P = 1), activation-
  // quantized if the architecture says so.
  thread_local std::vector<float> X, Y;
  X.assign(size_t(P) * N, 0.f);
  if (u.dense) {
    if (int(x.v.size()) != N) throw Error(fmt::format("{}: input has {} values, expected {}", u.name, x.v.size(), N));
    std::copy(x.v.begin(), x.v.end(), X.begin());
  } else {
    const int K = u.kernel, S = u.stride, Pd = u.padding;
    for (int oy = 0; oy < u.out_h; ++oy)
      for (int ox = 0; ox < u.out_w; ++ox) {
        float* row = X.data() + size_t(oy * u.out_w + ox) * N;
        for (int c = 0; c < u.in_c; ++c)
          for (int ky = 0; ky < K; ++ky) {
            const int iy = oy * S - Pd + ky;
            if (iy < 0 || iy >= x.h) continue;
            const float* src = x.v.data() + (size_t(c) * x.h + iy) * x.w;
            float* dst = row + (c * K + ky) * K;
            for (int kx = 0; kx < K; ++kx) {
              const int ix = ox * S - Pd + kx;
              if (ix >= 0 && ix < x.w) dst[kx] = src[ix];
            }
          }
      }
  }
  if (L.clip > 0) {
    const float Lq = float((1 << arch_.activation_bits) - 1), a = L.clip;
    for (auto& v : X) v = std::nearbyint(std::clamp(v, 0.f, a) * (Lq / a)) * (a / Lq);
  }
  Y.resize(size_t(P) * O);
  if (engine) {
    engine->matmul(k, X.data(), size_t(P), Y.data(), key);
  } else {
    Eigen::Map<const RowMat> Xm(X.data(), P, N);
    Eigen::Map<const RowMat> Wm(L.w.data(), O, N);
    Eigen::Map<RowMat> Ym(Y.data(), P, O);
    Ym.noalias() = Xm * Wm.transpose();
  }
  // Back to channel-major [O, out_h, out_w] with the bias.
  y.c = O;
  y.h = u.dense ? 1 : u.out_h;
  y.w = u.dense ? 1 : u.out_w;
  y.v.resize(size_t(P) * O);
  for (int o = 0; o < O; ++o) {
    const float b = L.bias.empty() ? 0.f : L.bias[o];
    for (int p = 0; p < P; ++p) y.v[size_t(o) * P + p] = Y[size_t(p) * O + o] + b;
  }
}

void RealNetwork::run(const Op& op, Act* regs, const MatmulEngine* engine, uint64_t key) const {
  Act& r = regs[op.reg];
  switch (op.kind) {
    case OpKind::Save: regs[1] = regs[0]; break;
    case OpKind::Product: {
      Act y;
      product(op.unit, r, y, engine, key);
      r = std::move(y);
      break;
    }
    case OpKind::Bn: {
      const auto& L = layers_[op.unit];
      const size_t P = size_t(r.h) * r.w;
      for (int c = 0; c < r.c; ++c)
        for (size_t p = 0; p < P; ++p) {
          float& v = r.v[size_t(c) * P + p];
          v = L.bn_a[c] * v + L.bn_b[c];
        }
      break;
    }
    case OpKind::Relu:
      for (auto& v : r.v) v = std::max(v, 0.f);
      break;
    case OpKind::Add:
      if (regs[0].v.size() != regs[1].v.size()) throw Error("residual add: shapes differ");
      for (size_t i = 0; i < regs[0].v.size(); ++i) regs[0].v[i] += regs[1].v[i];
      break;
    case OpKind::AvgPool: {
      Act y;
      y.c = r.c;
      const size_t P = size_t(r.h) * r.w;
      y.v.resize(size_t(r.c));
      for (int c = 0; c < r.c; ++c) {
        double s = 0;
        for (size_t p = 0; p < P; ++p) s += r.v[size_t(c) * P + p];
        y.v[c] = float(s / double(P));
      }
      r = std::move(y);
      break;
    }
  }
}

static RealNetwork::Act image_act(const RealArchitecture& a, const uint8_t* pixels) {
  RealNetwork::Act x;
  x.c = a.in_channels;
  x.h = a.in_height;
  x.w = a.in_width;
  x.v.resize(size_t(x.c) * x.h * x.w);
  for (size_t i = 0; i < x.v.size(); ++i) x.v[i] = float(double(pixels[i]) * a.input_scale);
  return x;
}

std::vector<float> RealNetwork::logits(const uint8_t* pixels, const MatmulEngine* engine, uint64_t key) const {
  Act regs[2];
  regs[0] = image_act(arch_, pixels);
  for (const auto& op : ops_) run(op, regs, engine, key);
  return regs[0].v;
}

int RealNetwork::predict(const uint8_t* pixels, const MatmulEngine* engine, uint64_t key) const {
  const auto y = logits(pixels, engine, key);
  return int(std::max_element(y.begin(), y.end()) - y.begin());
}

static void check_dataset(const RealArchitecture& a, const Dataset& d) {
  if (d.channels != a.in_channels || d.rows != a.in_height || d.cols != a.in_width)
    throw InputError(d.name, "", fmt::format("images are {}×{}×{} but the network {} expects input [{}, {}, {}]", d.channels,
                                             d.rows, d.cols, a.name, a.in_channels, a.in_height, a.in_width));
}

std::vector<int> RealNetwork::predict_all(const Dataset& data, size_t n, unsigned threads, const MatmulEngine* engine,
                                          uint64_t key_base) const {
  check_dataset(arch_, data);
  n = n == 0 ? data.count : std::min(n, data.count);
  std::vector<int> pred(n);
  parallel_for(n, threads, [&](size_t i) { pred[i] = predict(data.image(i).data(), engine, key_base + i); }, 8);
  return pred;
}

double RealNetwork::accuracy(const Dataset& data, size_t n, unsigned threads, const MatmulEngine* engine,
                             uint64_t key_base) const {
  const auto pred = predict_all(data, n, threads, engine, key_base);
  size_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == int(data.labels[i]);
  return pred.empty() ? 0.0 : double(correct) / double(pred.size());
}

RealNetwork RealNetwork::with_updated_bn(const Dataset& data, size_t n, const MatmulEngine* engine, unsigned threads,
                                         uint64_t key_base) const {
  check_dataset(arch_, data);
  n = n == 0 ? data.count : std::min(n, data.count);
  if (n < 2) throw InputError(data.name, "", "the batch-norm statistics update needs at least 2 images");
  RealNetwork net = *this;
  std::vector<std::array<Act, 2>> states(n);
  parallel_for(n, threads, [&](size_t i) { states[i][0] = image_act(arch_, data.image(i).data()); }, 64);
  for (const auto& op : ops_) {
    if (op.kind == OpKind::Bn) {
      // Per-channel statistics of the BN's input over all images and positions (double accumulation).
      const auto& u = units_[op.unit];
      const size_t C = size_t(u.out_c), P = size_t(states[0][op.reg].h) * states[0][op.reg].w;
      std::vector<double> sum(C, 0.0), sq(C, 0.0);
      for (size_t c = 0; c < C; ++c) {
        double s = 0;
        for (size_t i = 0; i < n; ++i)
          for (size_t p = 0; p < P; ++p) s += states[i][op.reg].v[c * P + p];
        const double mean = s / double(n * P);
        double q = 0;
        for (size_t i = 0; i < n; ++i)
          for (size_t p = 0; p < P; ++p) {
            const double d = states[i][op.reg].v[c * P + p] - mean;
            q += d * d;
          }
        sum[c] = mean;
        sq[c] = q / double(n * P - 1);
      }
      auto& tm = net.params_.tensors.at(u.bn + ".running_mean").data;
      auto& tv = net.params_.tensors.at(u.bn + ".running_var").data;
      for (size_t c = 0; c < C; ++c) {
        tm[c] = float(sum[c]);
        tv[c] = float(sq[c]);
      }
      net.prepare_bn(op.unit);
    }
    parallel_for(n, threads, [&](size_t i) { net.run(op, states[i].data(), engine, key_base + i); }, 8);
  }
  net.params_.metadata["bn_updated"] = fmt::format("{} images of {}{}", n, data.name, engine ? ", engine products" : ", float products");
  return net;
}

}  // namespace xbarkit::nn
