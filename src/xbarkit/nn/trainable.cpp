#include "xbarkit/nn/trainable.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/nn/gemm.hpp"

namespace xbarkit::nn {

namespace {

// C = op(A)·op(B) split into a fixed number of independent output blocks (no reductions across
// blocks), so the result is the same whatever the thread count.
template <class S>
void pgemm(unsigned threads, bool ta, bool tb, int m, int n, int k, const S* a, int lda, const S* b, int ldb, S* c,
           int ldc) {
  constexpr int kChunks = 4;
  if (m >= n && m >= 16 * kChunks) {
    parallel_for(kChunks, threads, [&](size_t ci) {
      const int r0 = int(int64_t(m) * int64_t(ci) / kChunks), r1 = int(int64_t(m) * int64_t(ci + 1) / kChunks);
      const S* a0 = ta ? a + r0 : a + size_t(r0) * size_t(lda);
      gemm(ta, tb, r1 - r0, n, k, a0, lda, b, ldb, c + size_t(r0) * size_t(ldc), ldc);
    });
  } else if (n >= 16 * kChunks) {
    parallel_for(kChunks, threads, [&](size_t ci) {
      const int c0 = int(int64_t(n) * int64_t(ci) / kChunks), c1 = int(int64_t(n) * int64_t(ci + 1) / kChunks);
      const S* b0 = tb ? b + size_t(c0) * size_t(ldb) : b + c0;
      gemm(ta, tb, m, c1 - c0, k, a, lda, b0, ldb, c + c0, ldc);
    });
  } else {
    gemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
  }
}

// Public (PyTorch) column of internal weight row r.
int public_column(const LayerSpec& s, int r) {
  const int C = s.in_channels;
  if (s.type == LayerType::Conv3x3) return (r % C) * 9 + r / C;  // r = t·C + c  ->  c·9 + t
  const int P = s.in_height * s.in_width;
  return (r % C) * P + r / C;  // r = p·C + c  ->  c·P + p
}

}  // namespace

template <class S>
Trainable<S>::Trainable(const Architecture& arch, uint64_t seed) : arch_(arch) {
  for (size_t li = 0; li < arch.layers.size(); ++li) {
    const auto& s = arch.layers[li];
    Layer L;
    L.spec = s;
    const size_t nw = size_t(s.fan_in) * size_t(s.out);
    L.w.resize(nw);
    Rng rng(seed, 1000 + li);
    const double limit = std::sqrt(6.0 / double(s.fan_in + s.out));  // Glorot uniform
    for (auto& v : L.w) v = S((2.0 * rng.uniform() - 1.0) * limit);
    L.gamma.assign(size_t(s.out), S(1));
    L.beta.assign(size_t(s.out), S(0));
    L.run_mean.assign(size_t(s.out), 0.0);
    L.run_var.assign(size_t(s.out), 1.0);
    layers_.push_back(std::move(L));
  }
  for (auto& L : layers_) {
    L.gw.assign(L.w.size(), 0);
    L.mw.assign(L.w.size(), 0);
    L.vw.assign(L.w.size(), 0);
    for (auto* v : {&L.ggamma, &L.gbeta, &L.mg, &L.vg, &L.mb, &L.vb}) v->assign(L.gamma.size(), 0);
  }
}

template <class S>
Trainable<S>::Trainable(const Architecture& arch, const NetworkParams& p) : Trainable(arch, 0) {
  for (size_t li = 0; li < layers_.size(); ++li) {
    auto& L = layers_[li];
    const auto& s = L.spec;
    const auto& lp = p.layers.at(li);
    for (int r = 0; r < s.fan_in; ++r)
      for (int o = 0; o < s.out; ++o)
        L.w[size_t(r) * size_t(s.out) + size_t(o)] = S(lp.weight.data[size_t(o) * size_t(s.fan_in) + size_t(public_column(s, r))]);
    for (int o = 0; o < s.out; ++o) {
      L.gamma[size_t(o)] = S(lp.bn_weight[size_t(o)]);
      L.beta[size_t(o)] = S(lp.bn_bias[size_t(o)]);
      L.run_mean[size_t(o)] = lp.bn_mean[size_t(o)];
      L.run_var[size_t(o)] = lp.bn_var[size_t(o)];
    }
  }
}

template <class S>
NetworkParams Trainable<S>::export_params() const {
  NetworkParams p;
  for (const auto& L : layers_) {
    const auto& s = L.spec;
    LayerParams lp;
    lp.weight.shape = weight_shape(s);
    lp.weight.data.resize(L.w.size());
    for (int r = 0; r < s.fan_in; ++r)
      for (int o = 0; o < s.out; ++o)
        lp.weight.data[size_t(o) * size_t(s.fan_in) + size_t(public_column(s, r))] = float(L.w[size_t(r) * size_t(s.out) + size_t(o)]);
    for (int o = 0; o < s.out; ++o) {
      lp.bn_weight.push_back(float(L.gamma[size_t(o)]));
      lp.bn_bias.push_back(float(L.beta[size_t(o)]));
      lp.bn_mean.push_back(float(L.run_mean[size_t(o)]));
      lp.bn_var.push_back(float(L.run_var[size_t(o)]));
    }
    p.layers.push_back(std::move(lp));
  }
  return p;
}

template <class S>
void Trainable<S>::forward_layer(size_t li, int B, bool update_stats) {
  Layer& L = layers_[li];
  const LayerSpec& s = L.spec;
  const std::vector<S>& X = li == 0 ? input_ : layers_[li - 1].out;
  const int O = s.out, K = s.fan_in;
  L.wb.resize(L.w.size());
  if (binarize)
    for (size_t i = 0; i < L.w.size(); ++i) L.wb[i] = L.w[i] >= S(0) ? S(1) : S(-1);
  else
    L.wb = L.w;
  if (s.type == LayerType::Conv3x3) {
    const int H = s.in_height, W = s.in_width, C = s.in_channels, HW = H * W;
    const S pad = s.real_input ? S(0) : S(-1);
    L.rows_in = B * HW;
    L.cols.resize(size_t(L.rows_in) * size_t(K));
    parallel_for(size_t(B), threads, [&](size_t b) {
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
          S* row = L.cols.data() + (b * size_t(HW) + size_t(y * W + x)) * size_t(K);
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = y + ky - 1, ix = x + kx - 1;
              S* dst = row + (ky * 3 + kx) * C;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) std::fill_n(dst, C, pad);
              else std::copy_n(X.data() + (b * size_t(HW) + size_t(iy * W + ix)) * size_t(C), C, dst);
            }
        }
    });
    L.z.resize(size_t(L.rows_in) * size_t(O));
    pgemm<S>(threads, false, false, L.rows_in, O, K, L.cols.data(), K, L.wb.data(), O, L.z.data(), O);
  } else {
    L.rows_in = B;
    L.z.resize(size_t(B) * size_t(O));
    pgemm<S>(threads, false, false, B, O, K, X.data(), K, L.wb.data(), O, L.z.data(), O);
  }
  // 2×2 max-pool
  if (s.pool) {
    const int H = s.conv_height, W = s.conv_width, OH = s.out_height, OW = s.out_width;
    L.rows_out = B * OH * OW;
    L.zp.resize(size_t(L.rows_out) * size_t(O));
    L.pool_idx.resize(L.zp.size());
    for (int b = 0; b < B; ++b)
      for (int y = 0; y < OH; ++y)
        for (int x = 0; x < OW; ++x) {
          const size_t q = size_t((b * OH + y) * OW + x);
          const int r00 = (b * H + 2 * y) * W + 2 * x;
          const int rs[4] = {r00, r00 + 1, r00 + W, r00 + W + 1};
          for (int o = 0; o < O; ++o) {
            int best = rs[0];
            S bv = L.z[size_t(rs[0]) * size_t(O) + size_t(o)];
            for (int t = 1; t < 4; ++t) {
              const S v = L.z[size_t(rs[t]) * size_t(O) + size_t(o)];
              if (v > bv) { bv = v; best = rs[t]; }
            }
            L.zp[q * size_t(O) + size_t(o)] = bv;
            L.pool_idx[q * size_t(O) + size_t(o)] = best;
          }
        }
  } else {
    L.rows_out = L.rows_in;
    L.zp = L.z;
  }
  // Batch norm (training mode: batch statistics, biased variance for normalization).
  const int m = L.rows_out;
  std::vector<double> mean(size_t(O), 0.0), var(size_t(O), 0.0);
  for (int r = 0; r < m; ++r) {
    const S* row = L.zp.data() + size_t(r) * size_t(O);
    for (int o = 0; o < O; ++o) mean[size_t(o)] += double(row[o]);
  }
  for (auto& v : mean) v /= m;
  for (int r = 0; r < m; ++r) {
    const S* row = L.zp.data() + size_t(r) * size_t(O);
    for (int o = 0; o < O; ++o) {
      const double d = double(row[o]) - mean[size_t(o)];
      var[size_t(o)] += d * d;
    }
  }
  for (auto& v : var) v /= m;
  L.invstd.resize(size_t(O));
  for (int o = 0; o < O; ++o) L.invstd[size_t(o)] = S(1.0 / std::sqrt(var[size_t(o)] + arch_.bn_eps));
  const double unbias = m > 1 ? double(m) / double(m - 1) : 1.0;
  if (update_stats) {
    for (int o = 0; o < O; ++o) {
      L.run_mean[size_t(o)] = (1 - bn_momentum) * L.run_mean[size_t(o)] + bn_momentum * mean[size_t(o)];
      L.run_var[size_t(o)] = (1 - bn_momentum) * L.run_var[size_t(o)] + bn_momentum * var[size_t(o)] * unbias;
    }
  }
  if (recalibrating_) {
    L.acc_mean.resize(size_t(O), 0.0);
    L.acc_var.resize(size_t(O), 0.0);
    for (int o = 0; o < O; ++o) {
      L.acc_mean[size_t(o)] += mean[size_t(o)];
      L.acc_var[size_t(o)] += var[size_t(o)] + mean[size_t(o)] * mean[size_t(o)];  // E[z^2] of the batch
    }
    ++L.acc_batches;
  }
  L.xhat.resize(L.zp.size());
  L.y.resize(L.zp.size());
  L.out.resize(L.zp.size());
  std::vector<S> mf(static_cast<size_t>(O));
  for (int o = 0; o < O; ++o) mf[size_t(o)] = S(mean[size_t(o)]);
  for (int r = 0; r < m; ++r) {
    const size_t base = size_t(r) * size_t(O);
    for (int o = 0; o < O; ++o) {
      const S xh = (L.zp[base + size_t(o)] - mf[size_t(o)]) * L.invstd[size_t(o)];
      L.xhat[base + size_t(o)] = xh;
      const S y = L.gamma[size_t(o)] * xh + L.beta[size_t(o)];
      L.y[base + size_t(o)] = y;
      if (s.is_output) L.out[base + size_t(o)] = y;
      else if (binarize) L.out[base + size_t(o)] = y >= S(0) ? S(1) : S(-1);
      else L.out[base + size_t(o)] = std::clamp(y, S(-1), S(1));
    }
  }
}

template <class S>
void Trainable<S>::backward_layer(size_t li, int B, std::vector<S>& grad_out, std::vector<S>& grad_in) {
  Layer& L = layers_[li];
  const LayerSpec& s = L.spec;
  const int O = s.out, K = s.fan_in, m = L.rows_out;
  // Through sign (straight-through, clipped) / hardtanh: gradient passes where |y| <= 1.
  if (!s.is_output)
    for (size_t i = 0; i < grad_out.size(); ++i)
      if (std::abs(L.y[i]) > S(1)) grad_out[i] = S(0);
  // Batch norm backward.
  std::vector<double> sdy(size_t(O), 0.0), sdyx(size_t(O), 0.0);
  for (int r = 0; r < m; ++r) {
    const size_t base = size_t(r) * size_t(O);
    for (int o = 0; o < O; ++o) {
      sdy[size_t(o)] += double(grad_out[base + size_t(o)]);
      sdyx[size_t(o)] += double(grad_out[base + size_t(o)]) * double(L.xhat[base + size_t(o)]);
    }
  }
  for (int o = 0; o < O; ++o) {
    L.gbeta[size_t(o)] = S(sdy[size_t(o)]);
    L.ggamma[size_t(o)] = S(sdyx[size_t(o)]);
  }
  std::vector<S> dzp(size_t(m) * size_t(O));
  {
    const size_t nO = static_cast<size_t>(O);
    std::vector<S> k1(nO), k2(nO), k3(nO);
    for (int o = 0; o < O; ++o) {
      const double g = double(L.gamma[size_t(o)]) * double(L.invstd[size_t(o)]);
      k1[size_t(o)] = S(g);
      k2[size_t(o)] = S(g * sdy[size_t(o)] / m);
      k3[size_t(o)] = S(g * sdyx[size_t(o)] / m);
    }
    for (int r = 0; r < m; ++r) {
      const size_t base = size_t(r) * size_t(O);
      for (int o = 0; o < O; ++o)
        dzp[base + size_t(o)] = k1[size_t(o)] * grad_out[base + size_t(o)] - k2[size_t(o)] - k3[size_t(o)] * L.xhat[base + size_t(o)];
    }
  }
  // Pool backward.
  std::vector<S> dz;
  if (s.pool) {
    dz.assign(size_t(L.rows_in) * size_t(O), S(0));
    for (size_t i = 0; i < dzp.size(); ++i) dz[size_t(L.pool_idx[i]) * size_t(O) + i % size_t(O)] += dzp[i];
  } else {
    dz.swap(dzp);
  }
  // Weight gradient (straight-through: d/dw = d/dw_b).
  const std::vector<S>& X = li == 0 ? input_ : layers_[li - 1].out;
  const S* A = s.type == LayerType::Conv3x3 ? L.cols.data() : X.data();
  pgemm<S>(threads, true, false, K, O, L.rows_in, A, K, dz.data(), O, L.gw.data(), O);
  if (li == 0) return;
  // Input gradient.
  if (s.type == LayerType::Conv3x3) {
    const int H = s.in_height, W = s.in_width, C = s.in_channels, HW = H * W;
    std::vector<S> dcols(size_t(L.rows_in) * size_t(K));
    pgemm<S>(threads, false, true, L.rows_in, K, O, dz.data(), O, L.wb.data(), O, dcols.data(), K);
    grad_in.assign(size_t(L.rows_in) * size_t(C), S(0));
    parallel_for(size_t(B), threads, [&](size_t b) {
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
          const S* row = dcols.data() + (b * size_t(HW) + size_t(y * W + x)) * size_t(K);
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = y + ky - 1, ix = x + kx - 1;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              S* dst = grad_in.data() + (b * size_t(HW) + size_t(iy * W + ix)) * size_t(C);
              const S* src = row + (ky * 3 + kx) * C;
              for (int c = 0; c < C; ++c) dst[c] += src[c];
            }
        }
    });
  } else {
    grad_in.resize(size_t(B) * size_t(K));
    pgemm<S>(threads, false, true, B, K, O, dz.data(), O, L.wb.data(), O, grad_in.data(), K);
  }
}

template <class S>
double Trainable<S>::step(const uint8_t* const* images, const uint8_t* labels, int B, bool backward, bool update_stats,
                          int* correct) {
  const int C = arch_.in_channels, H = arch_.in_height, W = arch_.in_width, HW = H * W;
  input_.resize(size_t(B) * size_t(HW) * size_t(C));
  const S scale = S(arch_.input_scale);
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c)
      for (int p = 0; p < HW; ++p)
        input_[(size_t(b) * size_t(HW) + size_t(p)) * size_t(C) + size_t(c)] = S(images[b][size_t(c * HW + p)]) * scale;
  for (size_t li = 0; li < layers_.size(); ++li) forward_layer(li, B, update_stats);
  // Softmax cross-entropy.
  const auto& Y = layers_.back().y;
  const int K = arch_.classes;
  double loss = 0;
  std::vector<S> grad(size_t(B) * size_t(K));
  for (int b = 0; b < B; ++b) {
    const S* y = Y.data() + size_t(b) * size_t(K);
    const int label = labels[b];
    double mx = double(y[0]);
    int best = 0;
    for (int k = 1; k < K; ++k)
      if (double(y[k]) > mx) { mx = double(y[k]); best = k; }
    if (correct && best == label) ++*correct;
    double sum = 0;
    for (int k = 0; k < K; ++k) sum += std::exp(double(y[k]) - mx);
    loss += -(double(y[label]) - mx - std::log(sum));
    for (int k = 0; k < K; ++k)
      grad[size_t(b) * size_t(K) + size_t(k)] = S((std::exp(double(y[k]) - mx) / sum - (k == label ? 1.0 : 0.0)) / B);
  }
  if (backward) {
    std::vector<S> grad_in;
    for (size_t li = layers_.size(); li-- > 0;) {
      backward_layer(li, B, grad, grad_in);
      grad.swap(grad_in);
    }
  }
  return loss / B;
}

template <class S>
void Trainable<S>::adam(double lr, int64_t t) {
  constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const double c1 = 1.0 - std::pow(b1, double(t)), c2 = 1.0 - std::pow(b2, double(t));
  auto update = [&](std::vector<S>& p, const std::vector<S>& g, std::vector<S>& m, std::vector<S>& v, bool clip) {
    for (size_t i = 0; i < p.size(); ++i) {
      m[i] = S(b1 * m[i] + (1 - b1) * g[i]);
      v[i] = S(b2 * v[i] + (1 - b2) * g[i] * g[i]);
      const double step = lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
      S np = S(p[i] - step);
      if (clip) np = std::clamp(np, S(-1), S(1));
      p[i] = np;
    }
  };
  for (auto& L : layers_) {
    update(L.w, L.gw, L.mw, L.vw, true);
    update(L.gamma, L.ggamma, L.mg, L.vg, false);
    update(L.beta, L.gbeta, L.mb, L.vb, false);
  }
}

template <class S>
void Trainable<S>::begin_recalibration() {
  recalibrating_ = true;
  for (auto& L : layers_) {
    L.acc_mean.assign(L.gamma.size(), 0.0);
    L.acc_var.assign(L.gamma.size(), 0.0);
    L.acc_batches = 0;
  }
}

template <class S>
void Trainable<S>::finish_recalibration() {
  recalibrating_ = false;
  for (auto& L : layers_) {
    if (L.acc_batches == 0) continue;
    for (size_t o = 0; o < L.gamma.size(); ++o) {
      // Population statistics over every recalibration sample (batches of equal size).
      L.run_mean[o] = L.acc_mean[o] / double(L.acc_batches);
      L.run_var[o] = std::max(0.0, L.acc_var[o] / double(L.acc_batches) - L.run_mean[o] * L.run_mean[o]);
    }
  }
}

template class Trainable<float>;
template class Trainable<double>;

}  // namespace xbarkit::nn
