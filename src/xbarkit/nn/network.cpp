#include "xbarkit/nn/network.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"

namespace xbarkit::nn {

struct Network::Packed {
  int wpp = 0;                  // 64-bit words per input pixel (channel bits, unused high bits zero)
  int taps = 0;                 // conv: 9; dense: input pixels H·W
  std::vector<uint64_t> words;  // out × taps × wpp
};

void fold_threshold(double gamma, double beta, double mean, double var, double eps, double scale, int32_t bound,
                    int32_t& threshold, int8_t& direction) {
  auto on = [&](int64_t t) { return bn_apply(double(t) * scale, gamma, beta, mean, var, eps) >= 0.0; };
  direction = 1;
  if (gamma == 0.0) {
    threshold = on(0) ? -bound : bound + 1;
    return;
  }
  if (gamma > 0) {
    // Smallest t in [-bound, bound] with on(t); none: always off.
    if (!on(bound)) { threshold = bound + 1; return; }
    int64_t lo = -bound, hi = bound;  // on(hi) holds
    if (on(lo)) { threshold = -bound; return; }
    while (hi - lo > 1) {  // invariant: !on(lo), on(hi)
      const int64_t mid = lo + (hi - lo) / 2;
      (on(mid) ? hi : lo) = mid;
    }
    threshold = int32_t(hi);
  } else {
    // Largest t in [-bound, bound] with on(t); none: always off.
    if (!on(-bound)) { threshold = bound + 1; return; }
    int64_t lo = -bound, hi = bound;  // on(lo) holds
    if (on(hi)) { threshold = -bound; return; }  // always on (direction +1, t = -bound)
    while (hi - lo > 1) {  // invariant: on(lo), !on(hi)
      const int64_t mid = lo + (hi - lo) / 2;
      (on(mid) ? lo : hi) = mid;
    }
    threshold = int32_t(lo);
    direction = -1;
  }
}

Network::Network(Architecture arch, const NetworkParams& params) : arch_(std::move(arch)) {
  if (params.layers.size() != arch_.layers.size())
    throw Error(fmt::format("network {}: {} parameter layers for {} architecture layers", arch_.name, params.layers.size(),
                            arch_.layers.size()));
  auto packed = std::make_shared<std::vector<Packed>>(arch_.layers.size());
  for (size_t li = 0; li < arch_.layers.size(); ++li) {
    const auto& s = arch_.layers[li];
    const auto& p = params.layers[li];
    BinaryLayer b;
    b.index = li;
    b.spec = s;
    b.real_input = s.real_input;
    b.is_output = s.is_output;
    b.out_channels = s.out;
    b.fan_in = s.fan_in;
    b.eps = arch_.bn_eps;
    b.weights.resize(size_t(s.out) * size_t(s.fan_in));
    for (size_t i = 0; i < b.weights.size(); ++i) b.weights[i] = p.weight.data[i] >= 0.0f ? 1 : -1;
    const int32_t bound = s.real_input ? 255 * s.fan_in : s.fan_in;
    if (s.real_input && s.fan_in > 65000)
      throw Error(fmt::format("network {}: layer 0 has {} inputs; at most 65000 keep its 8-bit sums exact in float",
                              arch_.name, s.fan_in));
    b.gamma.assign(p.bn_weight.begin(), p.bn_weight.end());
    b.beta.assign(p.bn_bias.begin(), p.bn_bias.end());
    b.mean.assign(p.bn_mean.begin(), p.bn_mean.end());
    b.var.assign(p.bn_var.begin(), p.bn_var.end());
    b.psum_gain.assign(p.psum_gain.begin(), p.psum_gain.end());
    b.psum_offset.assign(p.psum_offset.begin(), p.psum_offset.end());
    if (!s.is_output) {
      b.threshold.resize(size_t(s.out));
      b.direction.resize(size_t(s.out));
      const double scale = s.real_input ? arch_.input_scale : 1.0;
      for (int o = 0; o < s.out; ++o)
        fold_threshold(p.bn_weight[o], p.bn_bias[o], p.bn_mean[o], p.bn_var[o], arch_.bn_eps, scale, bound,
                       b.threshold[size_t(o)], b.direction[size_t(o)]);
    }
    if (s.real_input) {
      // fan_in × out, float (exact: |pixel sums| < 2^24).
      std::vector<float> w(size_t(s.fan_in) * size_t(s.out));
      for (int o = 0; o < s.out; ++o)
        for (int k = 0; k < s.fan_in; ++k) w[size_t(k) * size_t(s.out) + size_t(o)] = b.weight(o, k);
      first_weights_.push_back(std::move(w));
    } else {
      first_weights_.emplace_back();
      Packed& pk = (*packed)[li];
      const int c = s.in_channels;
      pk.wpp = (c + 63) / 64;
      pk.taps = s.type == LayerType::Conv3x3 ? 9 : s.in_height * s.in_width;
      const size_t row = size_t(pk.taps) * size_t(pk.wpp);
      pk.words.assign(size_t(s.out) * row, 0);
      // Weight-row order (col = ch · taps + t), and branch-free: the signs are random, and a branch
      // on each was mispredicted half the time (the trainer rebuilds the network every batch).
      for (int o = 0; o < s.out; ++o)
        for (int ch = 0; ch < c; ++ch)
          for (int t = 0; t < pk.taps; ++t) {
            const int col = ch * pk.taps + t;  // conv3x3: taps = 9
            pk.words[size_t(o) * row + size_t(t) * size_t(pk.wpp) + size_t(ch / 64)] |=
                uint64_t(b.weight(o, col) > 0) << (ch % 64);
          }
    }
    layers_.push_back(std::move(b));
  }
  packed_ = packed;
}

void ideal_matmul(const BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out) {
  const size_t n = size_t(layer.fan_in);
  for (size_t p = 0; p < positions; ++p) {
    const int8_t* x = inputs + p * n;
    for (int o = 0; o < layer.out_channels; ++o) {
      const int8_t* w = layer.weights.data() + size_t(o) * n;
      int32_t s = 0;
      for (size_t k = 0; k < n; ++k) s += int32_t(w[k]) * int32_t(x[k]);
      out[p * size_t(layer.out_channels) + size_t(o)] = s;
    }
  }
}

namespace {

// z[o] = N − 2·popcount(w_o XOR x) for every output o. Built twice: with the popcnt instruction and
// without, chosen at load time (runs on any x86-64).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("popcnt", "default")))
#endif
void binary_dots(const uint64_t* w, size_t words, int outs, const uint64_t* x, int n, int32_t* z) {
  for (int o = 0; o < outs; ++o) {
    const uint64_t* wo = w + size_t(o) * words;
    int mism = 0;
    for (size_t k = 0; k < words; ++k) mism += __builtin_popcountll(wo[k] ^ x[k]);
    z[o] = n - 2 * mism;
  }
}

struct Scratch {
  std::vector<int8_t> act;       // current activations, (y, x, c) order, ±1
  std::vector<uint64_t> bits;    // the same, packed: pixel-major, wpp words per pixel
  std::vector<int32_t> z;        // pre-activations at conv positions, position-major
  std::vector<int8_t> hook_in;   // im2col ±1 inputs for a hook
  std::vector<uint64_t> patch;   // one packed im2col patch
  std::vector<float> cols, zf;   // layer 0
};

}  // namespace

bool Network::stochastic_psum() const {
  return std::any_of(layers_.begin(), layers_.end(), [](const BinaryLayer& l) { return l.stochastic_psum(); });
}

std::vector<double> Network::logits(std::span<const uint8_t> pixels, const BinaryMatmulHook* hook) const {
  return forward(pixels, hook, nullptr);
}

void Network::accumulate_bn_input(std::span<const uint8_t> pixels, const BinaryMatmulHook* hook, size_t layer,
                                  std::vector<double>& sum, std::vector<double>& sum_sq, double& count) const {
  if (layer >= layers_.size()) throw Error(fmt::format("network {}: no layer {}", arch_.name, layer));
  const size_t O = size_t(layers_[layer].out_channels);
  if (sum.size() != O) sum.assign(O, 0.0);
  if (sum_sq.size() != O) sum_sq.assign(O, 0.0);
  const Probe probe{layer, &sum, &sum_sq, &count};
  forward(pixels, hook, &probe);
}

Network Network::with_bn_statistics(size_t layer, const std::vector<double>& mean, const std::vector<double>& var) const {
  if (layer >= layers_.size()) throw Error(fmt::format("network {}: no layer {}", arch_.name, layer));
  Network n = *this;
  BinaryLayer& L = n.layers_[layer];
  if (mean.size() != size_t(L.out_channels) || var.size() != size_t(L.out_channels))
    throw Error(fmt::format("network {}: layer {} has {} channels, got {} means and {} variances", arch_.name, layer,
                            L.out_channels, mean.size(), var.size()));
  L.mean = mean;
  L.var = var;
  if (!L.is_output) {
    const double scale = L.real_input ? arch_.input_scale : 1.0;
    const int32_t bound = L.real_input ? 255 * L.fan_in : L.fan_in;
    for (int o = 0; o < L.out_channels; ++o)
      fold_threshold(L.gamma[size_t(o)], L.beta[size_t(o)], L.mean[size_t(o)], L.var[size_t(o)], L.eps, scale, bound,
                     L.threshold[size_t(o)], L.direction[size_t(o)]);
  }
  return n;
}

std::vector<double> Network::forward(std::span<const uint8_t> pixels, const BinaryMatmulHook* hook,
                                     const Probe* probe) const {
  if (!hook && stochastic_psum())
    throw Error(fmt::format("network {} was trained for stochastic partial-sum conversion (layer<i>.psum tensors): "
                            "its binary layers have no software path; run it on a crossbar with a sampling "
                            "converter (xbarkit infer --converter mtj:BUNDLE:L)", arch_.name));
  const size_t expect = size_t(arch_.in_channels) * size_t(arch_.in_height) * size_t(arch_.in_width);
  if (pixels.size() != expect)
    throw Error(fmt::format("network {}: image has {} pixels, expected {}", arch_.name, pixels.size(), expect));
  thread_local Scratch s;
  std::vector<double> result;
  for (size_t li = 0; li < layers_.size(); ++li) {
    const BinaryLayer& L = layers_[li];
    const LayerSpec& sp = L.spec;
    const int P = sp.positions();
    const int O = L.out_channels;
    s.z.resize(size_t(P) * size_t(O));
    if (L.real_input) {
      // im2col of the 8-bit image (public column order), zero padding; float GEMM (exact integers).
      const int C = sp.in_channels, H = sp.in_height, W = sp.in_width;
      s.cols.assign(size_t(P) * size_t(L.fan_in), 0.0f);
      if (sp.type == LayerType::Conv3x3) {
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) {
            float* row = s.cols.data() + size_t(y * W + x) * size_t(L.fan_in);
            for (int c = 0; c < C; ++c)
              for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx) {
                  const int iy = y + ky - 1, ix = x + kx - 1;
                  if (iy >= 0 && iy < H && ix >= 0 && ix < W) row[c * 9 + ky * 3 + kx] = pixels[size_t((c * H + iy) * W + ix)];
                }
          }
      } else {
        for (int k = 0; k < L.fan_in; ++k) s.cols[size_t(k)] = pixels[size_t(k)];
      }
      using RM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      Eigen::Map<const RM> A(s.cols.data(), P, L.fan_in);
      Eigen::Map<const RM> B(first_weights_[li].data(), L.fan_in, O);
      s.zf.resize(size_t(P) * size_t(O));
      Eigen::Map<RM> Z(s.zf.data(), P, O);
      Z.noalias() = A * B;
      for (size_t i = 0; i < s.zf.size(); ++i) s.z[i] = int32_t(std::lround(s.zf[i]));
    } else if (hook) {
      // im2col of the ±1 activations in the layer's public column order.
      const int C = sp.in_channels, H = sp.in_height, W = sp.in_width;
      s.hook_in.resize(size_t(P) * size_t(L.fan_in));
      if (sp.type == LayerType::Conv3x3) {
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) {
            int8_t* row = s.hook_in.data() + size_t(y * W + x) * size_t(L.fan_in);
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx) {
                const int iy = y + ky - 1, ix = x + kx - 1;
                const bool in = iy >= 0 && iy < H && ix >= 0 && ix < W;
                const int8_t* src = in ? s.act.data() + size_t(iy * W + ix) * size_t(C) : nullptr;
                for (int c = 0; c < C; ++c) row[c * 9 + ky * 3 + kx] = in ? src[c] : int8_t(-1);
              }
          }
      } else {
        const int HW = H * W;
        for (int p = 0; p < HW; ++p)
          for (int c = 0; c < C; ++c) s.hook_in[size_t(c * HW + p)] = s.act[size_t(p) * size_t(C) + size_t(c)];
      }
      hook->matmul(L, s.hook_in.data(), size_t(P), s.z.data());
    } else {
      const Packed& pk = (*packed_)[li];
      const size_t wpp = size_t(pk.wpp);
      if (sp.type == LayerType::Conv3x3) {
        const int H = sp.in_height, W = sp.in_width;
        s.patch.resize(9 * wpp);
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) {
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx) {
                const int iy = y + ky - 1, ix = x + kx - 1;
                uint64_t* dst = s.patch.data() + size_t(ky * 3 + kx) * wpp;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                  std::copy_n(s.bits.data() + size_t(iy * W + ix) * wpp, wpp, dst);
                else
                  std::fill_n(dst, wpp, uint64_t(0));  // padding −1: all channel bits zero
              }
            binary_dots(pk.words.data(), 9 * wpp, O, s.patch.data(), L.fan_in, s.z.data() + size_t(y * W + x) * size_t(O));
          }
      } else {
        binary_dots(pk.words.data(), size_t(pk.taps) * wpp, O, s.bits.data(), L.fan_in, s.z.data());
      }
    }
    const double zscale = hook && !L.real_input ? hook->output_scale(L) : 1.0;
    auto bn = [&](int o, int32_t z) {
      return bn_apply(double(z) * zscale, L.gamma[size_t(o)], L.beta[size_t(o)], L.mean[size_t(o)], L.var[size_t(o)], L.eps);
    };
    const double probe_scale = L.real_input ? arch_.input_scale : zscale;
    if (probe && probe->layer == li && (L.is_output || !sp.pool)) {
      for (int p = 0; p < (L.is_output ? 1 : P); ++p)
        for (int o = 0; o < O; ++o) {
          const double v = double(s.z[size_t(p) * size_t(O) + size_t(o)]) * probe_scale;
          (*probe->sum)[size_t(o)] += v;
          (*probe->sum_sq)[size_t(o)] += v * v;
        }
      *probe->count += L.is_output ? 1 : P;
      return result;
    }
    if (L.is_output) {
      result.resize(size_t(O));
      for (int o = 0; o < O; ++o) result[size_t(o)] = bn(o, s.z[size_t(o)]);
      break;
    }
    // Pool (max of z), threshold, write the next activations (int8 and packed).
    const int OH = sp.out_height, OW = sp.out_width, CH = sp.conv_width;
    const size_t wpp_next = size_t((O + 63) / 64);
    s.act.resize(size_t(OH) * size_t(OW) * size_t(O));
    s.bits.assign(size_t(OH) * size_t(OW) * wpp_next, 0);
    for (int y = 0; y < OH; ++y)
      for (int x = 0; x < OW; ++x) {
        const size_t q = size_t(y * OW + x);
        for (int o = 0; o < O; ++o) {
          int32_t v;
          if (sp.pool) {
            const size_t p00 = size_t((2 * y) * CH + 2 * x);
            v = std::max(std::max(s.z[p00 * size_t(O) + size_t(o)], s.z[(p00 + 1) * size_t(O) + size_t(o)]),
                         std::max(s.z[(p00 + size_t(CH)) * size_t(O) + size_t(o)], s.z[(p00 + size_t(CH) + 1) * size_t(O) + size_t(o)]));
          } else {
            v = s.z[q * size_t(O) + size_t(o)];
          }
          if (probe && probe->layer == li) {  // pooled layer: what batch norm sees is the pooled value
            const double pv = double(v) * probe_scale;
            (*probe->sum)[size_t(o)] += pv;
            (*probe->sum_sq)[size_t(o)] += pv * pv;
            continue;
          }
          const bool on = zscale == 1.0 ? L.fires(o, v) : bn(o, v) >= 0.0;
          s.act[q * size_t(O) + size_t(o)] = on ? 1 : -1;
          if (on) s.bits[q * wpp_next + size_t(o / 64)] |= uint64_t(1) << (o % 64);
        }
      }
    if (probe && probe->layer == li) {
      *probe->count += double(OH) * double(OW);
      return result;
    }
  }
  return result;
}

int Network::predict(std::span<const uint8_t> pixels, const BinaryMatmulHook* hook) const {
  return argmax(logits(pixels, hook));
}

std::vector<int> Network::predict_all(const Dataset& data, size_t n, unsigned threads, const BinaryMatmulHook* hook) const {
  if (n == 0 || n > data.count) n = data.count;
  if (data.channels != arch_.in_channels || data.rows != arch_.in_height || data.cols != arch_.in_width)
    throw Error(fmt::format("network {} expects {}×{}×{} images, dataset {} has {}×{}×{}", arch_.name, arch_.in_channels,
                            arch_.in_height, arch_.in_width, data.name, data.channels, data.rows, data.cols));
  std::vector<int> pred(n);
  parallel_for(n, threads, [&](size_t i) { pred[i] = predict(data.image(i), hook); }, 32);
  return pred;
}

double Network::accuracy(const std::vector<int>& predictions, const Dataset& data) {
  if (predictions.empty()) return 0.0;
  size_t ok = 0;
  for (size_t i = 0; i < predictions.size(); ++i) ok += predictions[i] == int(data.labels[i]);
  return double(ok) / double(predictions.size());
}

Network load_network(const std::filesystem::path& toml, const std::filesystem::path& weights) {
  auto arch = load_architecture(toml);
  const auto params = read_params(arch, weights);
  return Network(std::move(arch), params);
}

Network load_network(const std::filesystem::path& path) {
  // Accept "net", "net.toml" and "net.safetensors" alike.
  auto base = path;
  if (base.extension() == ".toml" || base.extension() == ".safetensors") base.replace_extension();
  auto with = [&](const char* ext) { auto p = base; p += ext; return p; };
  return load_network(with(".toml"), with(".safetensors"));
}

}  // namespace xbarkit::nn
