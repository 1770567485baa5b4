// The stochastic layer's surrogate as one autograd function (see stochastic_surrogate.hpp).
#include "xbarkit/train/stochastic_surrogate.hpp"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/nn/network.hpp"
#include "xbarkit/train/trainer.hpp"

namespace xbarkit::train {

namespace stochastic_surrogate {
namespace {

std::vector<double> doubles(const torch::Tensor& t) {
  const auto d = t.detach().to(torch::kFloat64).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// A partial sum is ps = 2c − n_t for the count c ∈ [0, n_t] of matching inputs of tile slice t; any
// other value (not finite, not an integer, out of range, wrong parity) is an internal error. (The
// convolutions that compute ps add ±1 products exactly in float: libtorch's direct oneDNN kernels
// do; a transform-based convolution, e.g. Winograd, would not, and would stop here.)
bool is_partial_sum(float ps, int64_t n_t) {
  if (!(std::fabs(ps) <= float(n_t))) return false;  // also NaN, before the integer conversion
  const int64_t k = int64_t(ps);
  return float(k) == ps && ((k + n_t) & 1) == 0;
}
void check_partial_sums(const float* ps, int64_t rows, int64_t T, int64_t columns, const std::vector<int64_t>& slices) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < columns; ++i) {
      const float v = ps[r * columns + i];
      const int64_t n = slices[size_t(r % T)];
      if (!is_partial_sum(v, n))
        throw Error(fmt::format("stochastic surrogate: tile {} partial sum {} is not 2c - {} for a count c in 0..{}",
                                r % T, v, n, n));
    }
}

// The argument of y = tanh(k_A (g x + b)) with x = (ps + n_t)/n_tile − 1 is α_o ps + β_t,o:
// α_o = k_A g_o / n_tile, β_t,o = k_A (g_o (n_t / n_tile − 1) + b_o).
struct Affine {
  std::vector<double> alpha, beta;  // [O], [T · O]
  Affine(const std::vector<double>& g, const std::vector<double>& b, const std::vector<int64_t>& slices, int64_t per_tile) {
    const size_t O = g.size(), T = slices.size();
    alpha.resize(O);
    beta.resize(T * O);
    for (size_t o = 0; o < O; ++o) {
      alpha[o] = imc::kMtjLogisticA * g[o] / double(per_tile);
      for (size_t t = 0; t < T; ++t)
        beta[t * O + o] = imc::kMtjLogisticA * (g[o] * (double(slices[t]) / double(per_tile) - 1.0) + b[o]);
    }
  }
};

// The per-element loops, built for AVX2 (gathers, 8 float lanes) and baseline x86-64, chosen at load
// time. No FMA in the AVX2 clone: every product is rounded as in the baseline build, so both give the
// same bits.
#if defined(__x86_64__) && defined(__GNUC__)
#define XBK_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define XBK_SIMD_CLONES
#endif

// The kernels take the partial sums as stored, float or int16 (T), and convert in registers.

// dst[p] = row[ps[p]] (first tile) or dst[p] + row[ps[p]]; returns how many ps are not integers
// within ±limit (those read row[0]).
template <class T>
XBK_SIMD_CLONES int64_t lookup_row(const T* __restrict src, const float* __restrict row, float* __restrict dst,
                                   int64_t P, float limit, bool first) {
  int64_t bad = 0;
  for (int64_t p = 0; p < P; ++p) {
    const float v = float(src[p]);
    const bool in_range = std::fabs(v) <= limit;  // false for NaN
    const int k = in_range ? int(v) : 0;
    bad += !(in_range && float(k) == v);
    dst[p] = first ? row[k] : dst[p] + row[k];
  }
  return bad;
}

// y[p] = row[ps[p]] (the forward pass checked every ps).
template <class T>
XBK_SIMD_CLONES void gather_row(const T* __restrict src, const float* __restrict row, float* __restrict y, int64_t P) {
  for (int64_t p = 0; p < P; ++p) y[p] = row[int(src[p])];
}

// One (image, tile, output) row of the backward pass: dr = gs · to_ps with gs = gout (1 − y²), and
// Σ gs, Σ gs · ps over 8 float lanes, then in double.
template <class T>
XBK_SIMD_CLONES void backward_row(const float* __restrict gop, const T* __restrict pr, const float* __restrict yr,
                                  float* __restrict dr, int64_t P, float to_ps, double& row_gs, double& row_gs_ps) {
  row_gs = 0;
  row_gs_ps = 0;
  int64_t p = 0;
  if (P >= 8) {
    float lane_gs[8] = {}, lane_gs_ps[8] = {};
    for (; p + 8 <= P; p += 8)
      for (int j = 0; j < 8; ++j) {
        const float gs = gop[p + j] * (1.0f - yr[p + j] * yr[p + j]);
        dr[p + j] = gs * to_ps;
        lane_gs[j] += gs;
        lane_gs_ps[j] += gs * float(pr[p + j]);
      }
    for (int j = 0; j < 8; ++j) {
      row_gs += lane_gs[j];
      row_gs_ps += lane_gs_ps[j];
    }
  }
  for (; p < P; ++p) {
    const float gs = gop[p] * (1.0f - yr[p] * yr[p]);
    dr[p] = gs * to_ps;
    row_gs += gs;
    row_gs_ps += double(gs) * float(pr[p]);
  }
}

// Calls f with ps's data pointer as float* or int16_t*.
template <class F>
void with_ps_data(const torch::Tensor& ps, F&& f) {
  if (ps.scalar_type() == torch::kFloat32)
    f(ps.data_ptr<float>());
  else
    f(ps.data_ptr<int16_t>());
}

// The surrogate's two passes, for partial sums ps [B, T, O, P] (contiguous, float or int16; the
// crossbar hands int16, a quarter of float's memory traffic in these memory-bound passes).
//
// Forward: e = Σ_t y. y depends on (t, o, ps) only, and ps takes n_t + 1 values: a convolution reads
// B·H·W partial sums per tile column, far more, so y is tabulated per (t, o, ps) once per call (the
// table is what the backward pass keeps, and it looks y up again instead of storing it per element);
// a dense layer reads B per column, fewer, so y is evaluated and kept per element. Both by libtorch's
// vectorized float tanh of the same argument, so the choice changes no value, and the backward pass
// needs no transcendental.
struct SurrogateForward {
  torch::Tensor e, y_or_table;
  bool tabulated = false;
};

SurrogateForward surrogate_forward(const torch::Tensor& ps, const torch::Tensor& gain, const torch::Tensor& offset,
                                   const std::vector<int64_t>& slices, int64_t per_tile) {
  if (ps.dim() != 4 || !(ps.scalar_type() == torch::kFloat32 || ps.scalar_type() == torch::kInt16) ||
      !ps.is_contiguous() || ps.size(1) != int64_t(slices.size()) || gain.numel() != ps.size(2) ||
      offset.numel() != ps.size(2))
    throw Error(fmt::format("stochastic surrogate: partial sums [{}] (contiguous float or int16 [B, T, O, P] expected) "
                            "do not match {} tiles, {} gains and {} offsets", fmt::join(ps.sizes().vec(), ", "),
                            slices.size(), gain.numel(), offset.numel()));
  const int64_t B = ps.size(0), T = ps.size(1), O = ps.size(2), P = ps.size(3);
  const Affine aff(doubles(gain), doubles(offset), slices, per_tile);
  torch::Tensor y, table, e;
  bool wrong = false;
  if (B * P >= 4 * (per_tile + 1)) {
    // table[t, o, ps + n_tile]; entries no partial sum of tile t can take are NaN, and show in e.
    const int64_t width = 2 * per_tile + 1;
    auto arg = torch::empty({T, O, width}, torch::kFloat32);
    float* a = arg.data_ptr<float>();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < O; ++o)
        for (int64_t k = 0; k < width; ++k)
          a[(t * O + o) * width + k] = is_partial_sum(float(k - per_tile), slices[size_t(t)])
                                           ? float(aff.alpha[size_t(o)] * double(k - per_tile) + aff.beta[size_t(t * O + o)])
                                           : std::nanf("");
    table = torch::tanh(arg);
    const float* tab = table.data_ptr<float>();
    e = torch::empty({B, O, P}, torch::kFloat32);
    float* ep = e.data_ptr<float>();
    // e summed over tiles in the lookup pass; y is not stored (backward looks it up again).
    std::atomic<bool> bad{false};
    with_ps_data(ps, [&](const auto* in) {
      at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
        bool w = false;
        for (int64_t bi = b0; bi < b1; ++bi)
          for (int64_t o = 0; o < O; ++o) {
            float* __restrict dst = ep + (bi * O + o) * P;
            for (int64_t t = 0; t < T; ++t)
              w |= lookup_row(in + ((bi * T + t) * O + o) * P, tab + (t * O + o) * width + per_tile, dst, P,
                              float(per_tile), t == 0) != 0;
          }
        if (w) bad = true;
      });
    });
    wrong = bad;
  } else {
    const auto psf = ps.to(torch::kFloat32);
    const float* in = psf.data_ptr<float>();
    auto arg = torch::empty_like(psf);
    float* a = arg.data_ptr<float>();
    for (int64_t r = 0; r < B * T; ++r) {
      const int64_t t = r % T, n = slices[size_t(t)];
      for (int64_t o = 0; o < O; ++o) {
        const double al = aff.alpha[size_t(o)], be = aff.beta[size_t(t * O + o)];
        for (int64_t p = 0; p < P; ++p) {
          const int64_t i = (r * O + o) * P + p;
          const bool ok = is_partial_sum(in[i], n);
          wrong |= !ok;
          a[i] = float(al * double(ok ? int64_t(in[i]) : 0) + be);
        }
      }
    }
    y = torch::tanh(arg);
    e = y.sum(1);  // [B, O, P]
  }
  const float* ep = e.data_ptr<float>();
  for (int64_t i = 0; i < e.numel(); ++i) wrong |= ep[i] != ep[i];  // NaN: a partial sum of the wrong parity
  if (wrong) {
    const auto psf = ps.to(torch::kFloat32);
    check_partial_sums(psf.data_ptr<float>(), B * T, T, O * P, slices);
  }
  return {e, y.defined() ? y : table, !y.defined()};
}

// ∂y/∂ps = k_A (1 − y²) g / n_tile, ∂y/∂g = k_A (1 − y²) x, ∂y/∂b = k_A (1 − y²), with
// x = ps / n_tile + (n_t / n_tile − 1): per (image, tile, output) row of positions, the sums
// Σ gout (1 − y²) and Σ gout (1 − y²) ps in float over 8 lanes (vectorized), then in double.
struct SurrogateGrads {
  torch::Tensor d_ps, d_gain, d_offset;
};
SurrogateGrads surrogate_backward(const torch::Tensor& ps, const torch::Tensor& y_or_table, bool tabulated,
                                  const torch::Tensor& gain, const torch::Tensor& offset,
                                  const std::vector<int64_t>& slices, int64_t per_tile, const torch::Tensor& g_out) {
  const int64_t B = ps.size(0), T = ps.size(1), O = ps.size(2), P = ps.size(3);
  const auto g = doubles(gain);
  const auto go_c = g_out.contiguous();
  // Stored tile-major, [T, B, O, P], and returned as the [B, T, O, P] view: the backward pass of the
  // tile partial sums reads one tile at a time, which is then contiguous (no copy per tile).
  auto d_ps = torch::empty({T, B, O, P}, torch::kFloat32).permute({1, 0, 2, 3});
  // ∂/∂g and ∂/∂b per image, summed over images in order afterwards: the same sums on any thread count.
  std::vector<double> d_gain_b(size_t(B * O)), d_offset_b(size_t(B * O));
  const float* yp = y_or_table.data_ptr<float>();  // y [B, T, O, P], or table [T, O, 2 n_tile + 1]
  const int64_t width = 2 * per_tile + 1;
  const float* go = go_c.data_ptr<float>();
  float* dp = d_ps.data_ptr<float>();
  const double k = imc::kMtjLogisticA, inv_tile = 1.0 / double(per_tile);
  std::vector<double> shift(static_cast<size_t>(T));  // x = ps / n_tile + shift_t
  for (int64_t t = 0; t < T; ++t) shift[size_t(t)] = double(slices[size_t(t)]) * inv_tile - 1.0;
  with_ps_data(ps, [&](const auto* in) {
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      std::vector<float> looked_up;
      for (int64_t bi = b0; bi < b1; ++bi)
        for (int64_t o = 0; o < O; ++o) {
          const float* __restrict gop = go + (bi * O + o) * P;
          const float to_ps = float(k * g[size_t(o)] * inv_tile);
          double sum_gs = 0, sum_gs_x = 0;
          for (int64_t t = 0; t < T; ++t) {
            const size_t at = size_t(((bi * T + t) * O + o) * P);
            const float* yr;  // y of the row: stored, or looked up in table[t, o, ps]
            if (tabulated) {
              looked_up.resize(size_t(P));
              gather_row(in + at, yp + (t * O + o) * width + per_tile, looked_up.data(), P);
              yr = looked_up.data();
            } else {
              yr = yp + at;
            }
            double row_gs, row_gs_ps;
            backward_row(gop, in + at, yr, dp + ((t * B + bi) * O + o) * P, P, to_ps, row_gs, row_gs_ps);
            sum_gs += row_gs;
            sum_gs_x += row_gs_ps * inv_tile + shift[size_t(t)] * row_gs;
          }
          d_gain_b[size_t(bi * O + o)] = k * sum_gs_x;
          d_offset_b[size_t(bi * O + o)] = k * sum_gs;
        }
    });
  });
  std::vector<double> d_gain(size_t(O), 0.0), d_offset(size_t(O), 0.0);
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t o = 0; o < O; ++o) {
      d_gain[size_t(o)] += d_gain_b[size_t(bi * O + o)];
      d_offset[size_t(o)] += d_offset_b[size_t(bi * O + o)];
    }
  auto as_tensor = [&](const std::vector<double>& v, const torch::Tensor& like) {
    return torch::from_blob(const_cast<double*>(v.data()), {O}, torch::kFloat64).to(like.scalar_type()).clone();
  };
  return {d_ps, as_tensor(d_gain, gain), as_tensor(d_offset, offset)};
}

// The surrogate on float partial sums, differentiable in them (the reference and probe path).
struct ExpectedMtj : torch::autograd::Function<ExpectedMtj> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& ps_in,
                               const torch::Tensor& gain, const torch::Tensor& offset, std::vector<int64_t> slices,
                               int64_t per_tile) {
    if (ps_in.scalar_type() != torch::kFloat32)
      throw Error("stochastic surrogate: differentiable partial sums must be float");
    const auto ps = ps_in.contiguous();
    const auto f = surrogate_forward(ps, gain, offset, slices, per_tile);
    ctx->save_for_backward({ps, f.y_or_table, gain, offset});
    ctx->saved_data["tabulated"] = f.tabulated;
    ctx->saved_data["slices"] = slices;
    ctx->saved_data["per_tile"] = per_tile;
    return f.e;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const auto r = surrogate_backward(saved[0], saved[1], ctx->saved_data["tabulated"].toBool(), saved[2], saved[3],
                                      ctx->saved_data["slices"].toIntVector(), ctx->saved_data["per_tile"].toInt(),
                                      grad[0]);
    return {r.d_ps, r.d_gain, r.d_offset, torch::Tensor(), torch::Tensor()};
  }
};

std::vector<int64_t> slice_sizes(const imc::LayerMapping& m) {
  std::vector<int64_t> s(size_t(m.tiles()));
  for (int t = 0; t < m.tiles(); ++t) s[size_t(t)] = m.slice_size(t);
  return s;
}

}  // namespace
}  // namespace stochastic_surrogate

namespace {

// Tile t holds inputs [begin, begin + n_t) of the (c, ky, kx) order, i.e. parts of channels
// begin/9 … (begin + n_t − 1)/9 =: [c0, c0 + channels): its partial sums are a convolution over those
// channels only, with the weights outside the slice zeroed (sums of ±1 are exact in float).
struct ConvSlice {
  int64_t c0 = 0, channels = 0;
  torch::Tensor mask;  // [1, C, 3, 3] narrowed to the slice's channels: 1 inside the slice
};
ConvSlice conv_slice(int64_t begin, int64_t n, int64_t C) {
  const int64_t c0 = begin / 9, c1 = (begin + n - 1) / 9;
  auto mask = torch::zeros({1, C * 9});
  mask.narrow(1, begin, n).fill_(1.0);
  return {c0, c1 - c0 + 1, mask.view({1, C, 3, 3}).narrow(1, c0, c1 - c0 + 1)};
}

// The input and weight gradients of the tile partial sums from their gradient g [B, T, O, P] (each
// tile's slice contiguous: tile-major storage): what autograd computes through
// tile_partial_sums_conv/dense, by each tile's convolution backward (or products, dense).
std::pair<torch::Tensor, torch::Tensor> tile_sum_grads(const torch::Tensor& g, const torch::Tensor& x, const torch::Tensor& wb,
                                                       const std::vector<int64_t>& begins, const std::vector<int64_t>& sizes,
                                                       bool conv, bool need_x, bool need_w) {
  const int64_t B = x.size(0), O = wb.size(0), T = int64_t(sizes.size());
  torch::Tensor gx = need_x ? torch::zeros_like(x) : torch::Tensor(), gw = need_w ? torch::zeros_like(wb) : torch::Tensor();
  for (int64_t t = 0; t < T; ++t) {
    if (conv) {
      const int64_t H = x.size(2) - 2, W = x.size(3) - 2;
      const auto s = conv_slice(begins[size_t(t)], sizes[size_t(t)], wb.size(1));
      const auto w = (wb.narrow(1, s.c0, s.channels) * s.mask).contiguous();
      const auto go = g.select(1, t).reshape({B, O, H, W}).contiguous();
      const auto r = at::convolution_backward(go, x.narrow(1, s.c0, s.channels), w, c10::nullopt, {1, 1}, {0, 0},
                                              {1, 1}, false, {0, 0}, 1, {need_x, need_w, false});
      if (need_x) gx.narrow(1, s.c0, s.channels).add_(std::get<0>(r));
      if (need_w) gw.narrow(1, s.c0, s.channels).add_(std::get<1>(r) * s.mask);
    } else {
      const int64_t begin = begins[size_t(t)], n = sizes[size_t(t)];
      const auto go = g.select(1, t).select(2, 0);  // [B, O]
      if (need_x) gx.narrow(1, begin, n).add_(go.mm(wb.narrow(1, begin, n)));
      if (need_w) gw.narrow(1, begin, n).add_(go.t().mm(x.narrow(1, begin, n)));
    }
  }
  return {gx, gw};
}

// The expected MTJ output from the crossbar's int16 partial sums: forward the surrogate's lookup,
// backward its gradients to the partial sums, then on through the tiles' products to x and wb.
struct CrossbarExpectedMtj : torch::autograd::Function<CrossbarExpectedMtj> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& ps, const torch::Tensor& x,
                               const torch::Tensor& wb, const torch::Tensor& gain, const torch::Tensor& offset,
                               std::vector<int64_t> begins, std::vector<int64_t> sizes, int64_t per_tile, bool conv) {
    const int64_t B = x.size(0), O = wb.size(0), P = conv ? (x.size(2) - 2) * (x.size(3) - 2) : 1;
    if (ps.dim() != 4 || ps.scalar_type() != torch::kInt16 || ps.size(0) != B || ps.size(1) != int64_t(sizes.size()) ||
        ps.size(2) != O || ps.size(3) != P)
      throw Error(fmt::format("trainer: the crossbar's tile partial sums [{}] do not match int16 [{}, {}, {}, {}]",
                              fmt::join(ps.sizes().vec(), ", "), B, sizes.size(), O, P));
    const auto f = stochastic_surrogate::surrogate_forward(ps, gain, offset, sizes, per_tile);
    ctx->save_for_backward({ps, f.y_or_table, gain, offset, x, wb});
    ctx->saved_data["tabulated"] = f.tabulated;
    ctx->saved_data["begins"] = begins;
    ctx->saved_data["sizes"] = sizes;
    ctx->saved_data["per_tile"] = per_tile;
    ctx->saved_data["conv"] = conv;
    return f.e;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto r = stochastic_surrogate::surrogate_backward(saved[0], saved[1], ctx->saved_data["tabulated"].toBool(),
                                                            saved[2], saved[3], sizes, ctx->saved_data["per_tile"].toInt(),
                                                            grad[0]);
    const auto [gx, gw] = tile_sum_grads(r.d_ps, saved[4], saved[5], ctx->saved_data["begins"].toIntVector(), sizes,
                                         ctx->saved_data["conv"].toBool(), ctx->needs_input_grad(1),
                                         ctx->needs_input_grad(2));
    return {torch::Tensor(), gx, gw, r.d_gain, r.d_offset, torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor tile_partial_sums_conv(const torch::Tensor& padded, const torch::Tensor& wb, const imc::LayerMapping& m) {
  // In all, about one convolution's multiply-adds through libtorch's convolution kernel.
  const int64_t O = wb.size(0), C = wb.size(1);
  std::vector<torch::Tensor> ps;
  for (int t = 0; t < m.tiles(); ++t) {
    const auto s = conv_slice(m.slice_begin(t), m.slice_size(t), C);
    const auto w = wb.narrow(1, s.c0, s.channels) * s.mask;
    ps.push_back(torch::nn::functional::conv2d(padded.narrow(1, s.c0, s.channels), w));  // [B, O, H, W]
  }
  const auto all = torch::stack(ps, 1);  // [B, T, O, H, W]
  return all.view({all.size(0), all.size(1), O, all.size(3) * all.size(4)});
}

torch::Tensor crossbar_expected_mtj_output(const torch::Tensor& ps, const torch::Tensor& x, const torch::Tensor& wb,
                                          const torch::Tensor& gain, const torch::Tensor& offset,
                                          const imc::LayerMapping& m, bool conv) {
  std::vector<int64_t> begins, sizes;
  for (int t = 0; t < m.tiles(); ++t) {
    begins.push_back(m.slice_begin(t));
    sizes.push_back(m.slice_size(t));
  }
  return CrossbarExpectedMtj::apply(ps, x, wb, gain, offset, begins, sizes, int64_t(m.inputs_per_tile()), conv);
}

torch::Tensor tile_partial_sums_dense(const torch::Tensor& flat, const torch::Tensor& wb, const imc::LayerMapping& m) {
  std::vector<torch::Tensor> ps;
  for (int t = 0; t < m.tiles(); ++t)
    ps.push_back(torch::nn::functional::linear(flat.narrow(1, m.slice_begin(t), m.slice_size(t)),
                                               wb.narrow(1, m.slice_begin(t), m.slice_size(t))));
  return torch::stack(ps, 1).unsqueeze(3);  // [B, T, O, 1]
}

torch::Tensor expected_mtj_output(const torch::Tensor& ps, const torch::Tensor& gain, const torch::Tensor& offset,
                                  const imc::LayerMapping& m) {
  return stochastic_surrogate::ExpectedMtj::apply(ps, gain, offset, stochastic_surrogate::slice_sizes(m),
                                                  int64_t(m.inputs_per_tile()));
}

SurrogateProbe probe_stochastic_surrogate(const std::vector<float>& ps, const std::vector<int64_t>& shape_btop,
                                          const std::vector<float>& gain, const std::vector<float>& offset,
                                          const std::vector<int64_t>& slices, int64_t per_tile,
                                          const std::vector<float>& grad_e, unsigned threads) {
  torch::set_num_threads(int(std::max(1u, threads)));
  auto tensor = [](const std::vector<float>& v, std::vector<int64_t> shape) {
    return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
  };
  if (shape_btop.size() != 4) throw Error("probe_stochastic_surrogate: shape must be [B, T, O, P]");
  const int64_t B = shape_btop[0], T = shape_btop[1], O = shape_btop[2], P = shape_btop[3];
  if (ps.size() != size_t(B * T * O * P) || grad_e.size() != size_t(B * O * P) || gain.size() != size_t(O) ||
      offset.size() != size_t(O) || slices.size() != size_t(T))
    throw Error("probe_stochastic_surrogate: array sizes do not match the shape");
  auto ps_t = tensor(ps, {B, T, O, P}).set_requires_grad(true);
  auto g_t = tensor(gain, {O}).set_requires_grad(true), b_t = tensor(offset, {O}).set_requires_grad(true);
  const auto e = stochastic_surrogate::ExpectedMtj::apply(ps_t, g_t, b_t, slices, per_tile);
  e.backward(tensor(grad_e, {B, O, P}));
  auto floats = [](const torch::Tensor& t) {
    const auto c = t.detach().contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  return {floats(e), floats(ps_t.grad()), floats(g_t.grad()), floats(b_t.grad())};
}

TilePartialSumProbe probe_tile_partial_sums(bool conv, int64_t C, int64_t H, int64_t W, int64_t O, int rows,
                                            uint64_t seed) {
  Rng rng(seed, 0x7E57);
  const int64_t B = 2, N = conv ? C * 9 : C * H * W;
  auto pm1 = [&](std::vector<int64_t> shape) {
    auto t = torch::empty(shape);
    float* p = t.data_ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng.uniform() < 0.5 ? -1.0f : 1.0f;
    return t;
  };
  const auto x0 = conv ? pm1({B, C, H + 2, W + 2}) : pm1({B, N});
  const auto w0 = conv ? pm1({O, C, 3, 3}) : pm1({O, N});
  nn::BinaryLayer layer;
  layer.out_channels = int(O);
  layer.fan_in = int(N);
  layer.weights.resize(size_t(O * N));
  const float* wp = w0.data_ptr<float>();
  for (size_t i = 0; i < layer.weights.size(); ++i) layer.weights[i] = wp[i] > 0 ? 1 : -1;
  const imc::LayerMapping m(layer, imc::Mapping::Xnor, rows, false);
  const int64_t T = m.tiles(), P = conv ? H * W : 1;
  const auto upstream = torch::randn({B, T, O, P}, torch::TensorOptions().dtype(torch::kFloat32)).mul_(0.1) +
                        pm1({B, T, O, P});  // not symmetric in sign, so no gradient cancels to zero by chance
  auto run = [&](bool sliced) {
    auto x = x0.clone().set_requires_grad(true), w = w0.clone().set_requires_grad(true);
    torch::Tensor ps;
    if (sliced) {
      ps = conv ? tile_partial_sums_conv(x, w, m) : tile_partial_sums_dense(x, w, m);
    } else {
      std::vector<torch::Tensor> per_tile;
      const auto wf = w.reshape({O, N});
      const auto cols = conv ? torch::nn::functional::unfold(x, torch::nn::functional::UnfoldFuncOptions({3, 3}))
                             : x.unsqueeze(2);  // [B, N, P]
      for (int t = 0; t < T; ++t) {
        auto mask = torch::zeros({1, N});
        mask.narrow(1, m.slice_begin(t), m.slice_size(t)).fill_(1.0);
        per_tile.push_back(torch::matmul(wf * mask, cols));  // [B, O, P]
      }
      ps = torch::stack(per_tile, 1);
    }
    (ps * upstream).sum().backward();
    return std::make_tuple(ps.detach(), x.grad(), w.grad());
  };
  const auto [ps_a, gx_a, gw_a] = run(true);
  const auto [ps_b, gx_b, gw_b] = run(false);
  auto rel = [](const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>() / std::max(1e-30, b.abs().max().item<double>());
  };
  return {(ps_a - ps_b).abs().max().item<double>(), rel(gx_a, gx_b), rel(gw_a, gw_b), T};
}

torch::Tensor binary_patches(const torch::Tensor& padded_in) {
  const auto padded = padded_in.detach().contiguous();
  const int64_t B = padded.size(0), C = padded.size(1), Hp = padded.size(2), Wp = padded.size(3);
  const int64_t H = Hp - 2, W = Wp - 2, N = C * 9;
  // First to int8 (one vectorizable pass that also checks every value), then the im2col gather.
  auto bits = torch::empty({B, C, Hp, Wp}, torch::kInt8);
  const float* src = padded.data_ptr<float>();
  int8_t* sb = bits.data_ptr<int8_t>();
  int64_t bad = 0;
  for (int64_t i = 0; i < padded.numel(); ++i) {
    bad += (src[i] != 1.0f) & (src[i] != -1.0f);
    sb[i] = src[i] > 0 ? 1 : -1;
  }
  if (bad) throw Error("binary_patches: an activation of a binary layer is not ±1");
  auto out = torch::empty({B, H * W, N}, torch::kInt8);
  int8_t* dst = out.data_ptr<int8_t>();
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          int8_t* row = dst + ((b * H + y) * W + x) * N;
          for (int64_t c = 0; c < C; ++c, row += 9) {
            const int8_t* win = sb + ((b * C + c) * Hp + y) * Wp + x;
            std::memcpy(row, win, 3);
            std::memcpy(row + 3, win + Wp, 3);
            std::memcpy(row + 6, win + 2 * Wp, 3);
          }
        }
  });
  return out;
}

}  // namespace xbarkit::train
