#include "xbarkit/imc/bit_sliced.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/imc/features.hpp"

namespace xbarkit::imc {

WeightEncoding parse_weight_encoding(const std::string& s, const std::string& origin) {
  if (s == "twos-complement") return WeightEncoding::twos_complement;
  if (s == "differential") return WeightEncoding::differential;
  throw InputError("", origin, fmt::format("unknown weight encoding '{}' (twos-complement | differential)", s));
}

std::string to_string(WeightEncoding e) {
  return e == WeightEncoding::twos_complement ? "twos-complement" : "differential";
}

BitSlicedEngine::BitSlicedEngine(const std::vector<nn::WeightMatrix>& layers, SimConfig config, BitSlicing slicing)
    : cfg_(std::move(config)), slicing_(slicing) {
  if (cfg_.cols <= 0) cfg_.cols = cfg_.rows;
  if (cfg_.rows < 2 || cfg_.rows > 4096) throw InputError("", "--rows", fmt::format("must be in [2, 4096], got {}", cfg_.rows));
  if (slicing_.weight_bits < 2 || slicing_.weight_bits > 16)
    throw InputError("", "--weight-bits", fmt::format("must be in [2, 16] (a sign and at least one magnitude bit), got {}",
                                                      slicing_.weight_bits));
  if (slicing_.input_bits < 1 || slicing_.input_bits > 16)
    throw InputError("", "--input-bits", fmt::format("must be in [1, 16], got {}", slicing_.input_bits));
  if (cfg_.mapping != Mapping::And)
    throw InputError("", "--mapping", "bit-sliced weights are stored one bit per cell and read with one row per input "
                                      "bit (the AND mapping); XNOR's row pairs encode ±1 weights only: use --mapping and");
  if (cfg_.binsparx.static_flip || cfg_.binsparx.dynamic_flip || cfg_.binsparx.data_aware)
    throw InputError("", "--binsparx", "BinSparX flips ±1 weight columns; it is not defined for bit-sliced multi-bit "
                                       "weights (use --binsparx none)");
  if (cfg_.sensing == Sensing::exact)
    throw InputError("", "--exact", "bit-sliced inference reads millions of columns per image; sense them with an "
                                    "array_ps LUT (--array-lut) characterized by the circuit solver instead");
  if (cfg_.variation.enabled) throw InputError("", "--variation", "needs exact sensing, which bit-sliced inference does not run");

  const int b = slicing_.weight_bits;
  if (slicing_.encoding == WeightEncoding::twos_complement) {
    J_ = b;
    for (int j = 0; j < b; ++j) coef_.push_back(j == b - 1 ? -(int64_t(1) << j) : int64_t(1) << j);
  } else {
    J_ = 2 * (b - 1);
    for (int j = 0; j < b - 1; ++j) coef_.push_back(int64_t(1) << j);
    for (int j = 0; j < b - 1; ++j) coef_.push_back(-(int64_t(1) << j));
  }
  words_ = (cfg_.rows + 63) / 64;

  // The cell current and the LUT as imc::Simulator takes them (one crossbar description).
  const lut::ArrayPsConfig* lut_config = nullptr;
  if (cfg_.array_lut) lut_config = &cfg_.array_lut->find(cfg_.cell, cfg_.rows, cfg_.wire_scale, cfg_.corner);
  if (cfg_.sensing == Sensing::lut) {
    if (!cfg_.array_lut) throw InputError("", "--array-lut", "LUT sensing needs an array_ps bundle");
    lut_ = std::make_unique<FastArrayLut>(cfg_.array_lut, *lut_config);
    cell_A_ = lut_->ideal_cell_current_A();
  }
  if (!(cell_A_ > 0)) cell_A_ = circuit::isolated_cell_current(make_tile(cfg_), true, true);
  conv_ = make_converter(cfg_.converter, ConverterSetup{cell_A_, cfg_.rows, cfg_.array_lut, lut_config});
  if (conv_->sampling_length(0) > 0)
    throw InputError("", "--converter", fmt::format("{} samples a stochastic device per read; bit-sliced inference needs a "
                                                    "count per read (ideal, calibrated or adc:BUNDLE)", conv_->name()));
  exact_counts_ = cfg_.sensing == Sensing::ideal && conv_->exact_on_ideal_currents();

  layers_.resize(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) map_layer(layers[l], layers_[l]);
  stats_ = std::make_unique<AtomicStats[]>(layers_.size());
}

void BitSlicedEngine::map_layer(const nn::WeightMatrix& m, Layer& L) const {
  if (m.out <= 0 || m.fan_in <= 0 || m.w.size() != size_t(m.out) * size_t(m.fan_in))
    throw InputError("", m.name, fmt::format("weight matrix of {} x {} with {} values cannot be mapped", m.out, m.fan_in,
                                             m.w.size()));
  L.name = m.name;
  L.out = m.out;
  L.fan_in = m.fan_in;
  L.tiles = (m.fan_in + cfg_.rows - 1) / cfg_.rows;
  const int b = slicing_.weight_bits;
  const double q = double((1 << (b - 1)) - 1);
  L.scale.assign(size_t(m.out), 0.0);
  L.w.assign(m.w.size(), 0);
  for (int o = 0; o < m.out; ++o) {
    const float* row = m.w.data() + size_t(o) * size_t(m.fan_in);
    double mx = 0;
    for (int n = 0; n < m.fan_in; ++n) {
      if (!std::isfinite(row[n]))
        throw InputError("", m.name, fmt::format("weight [{}][{}] is not finite ({}): the network cannot be mapped", o, n, row[n]));
      mx = std::max(mx, double(std::abs(row[n])));
    }
    if (mx == 0) continue;  // an all-zero output stores no conducting cell; s_o = 0
    L.scale[size_t(o)] = mx / q;
    for (int n = 0; n < m.fan_in; ++n)
      L.w[size_t(o) * size_t(m.fan_in) + size_t(n)] = int32_t(std::clamp(std::lround(double(row[n]) / L.scale[size_t(o)]),
                                                                       -long(q), long(q)));
  }
  L.bits.assign(size_t(L.tiles) * size_t(L.out) * size_t(J_) * size_t(words_), 0);
  for (int o = 0; o < L.out; ++o)
    for (int n = 0; n < L.fan_in; ++n) {
      const int32_t w = L.w[size_t(o) * size_t(L.fan_in) + size_t(n)];
      const int t = n / cfg_.rows, r = n % cfg_.rows;
      for (int j = 0; j < J_; ++j) {
        bool bit;
        if (slicing_.encoding == WeightEncoding::twos_complement)
          bit = ((uint32_t(w) & ((uint32_t(1) << b) - 1)) >> j) & 1u;  // w mod 2^b
        else
          bit = j < b - 1 ? w > 0 && ((w >> j) & 1) : w < 0 && (((-w) >> (j - (b - 1))) & 1);
        if (bit) L.bits[column_offset(L, t, o, j) + size_t(r / 64)] |= uint64_t(1) << (r % 64);
      }
    }
}

int BitSlicedEngine::weight_integer(size_t layer, int o, int n) const {
  const Layer& L = layers_.at(layer);
  return L.w.at(size_t(o) * size_t(L.fan_in) + size_t(n));
}

void BitSlicedEngine::matmul(size_t layer, const float* x, size_t P, float* y, uint64_t key) const {
  const Layer& L = layers_.at(layer);
  const int N = L.fan_in, O = L.out, T = L.tiles, W = words_, R = cfg_.rows;
  const int a = slicing_.input_bits;
  const double levels = std::ldexp(1.0, a) - 1;
  Rng rng(cfg_.seed, derive_seed(key, layer));
  ConvertContext cc;
  cc.layer_slot = int(layer);
  cc.tile_capacity = R;
  cc.tile_columns = cfg_.cols;
  cc.chip = cfg_.chip;

  std::vector<uint32_t> mag(static_cast<size_t>(N));
  std::vector<int8_t> sgn(static_cast<size_t>(N));
  std::vector<uint64_t> plane(size_t(T) * size_t(W));
  std::vector<int> driven(static_cast<size_t>(T));
  std::vector<int64_t> acc(static_cast<size_t>(O));
  int64_t reads = 0, conducting = 0, err_sq = 0, wrong = 0;
  uint64_t cond[64];

  for (size_t p = 0; p < P; ++p) {
    const float* xv = x + p * size_t(N);
    double r = 0;
    for (int n = 0; n < N; ++n) {
      if (!std::isfinite(xv[n]))
        throw Error(fmt::format("bit-sliced layer {}: input {} of position {} is not finite", L.name, n, p));
      r = std::max(r, double(std::abs(xv[n])));
    }
    float* yo = y + p * size_t(O);
    if (r == 0) {  // no row is driven in any plane
      std::fill(yo, yo + O, 0.f);
      continue;
    }
    bool any_pos = false, any_neg = false;
    for (int n = 0; n < N; ++n) {
      mag[size_t(n)] = uint32_t(std::lround(double(std::abs(xv[n])) / r * levels));
      sgn[size_t(n)] = xv[n] < 0 ? -1 : 1;
      if (mag[size_t(n)]) (xv[n] < 0 ? any_neg : any_pos) = true;
    }
    std::fill(acc.begin(), acc.end(), 0);
    for (int pass = 0; pass < 2; ++pass) {
      const int8_t want = pass == 0 ? 1 : -1;
      if (!(pass == 0 ? any_pos : any_neg)) continue;
      for (int bit = 0; bit < a; ++bit) {
        std::fill(plane.begin(), plane.end(), 0);
        std::fill(driven.begin(), driven.end(), 0);
        for (int n = 0; n < N; ++n)
          if (sgn[size_t(n)] == want && ((mag[size_t(n)] >> bit) & 1u)) {
            const int t = n / R, rr = n % R;
            plane[size_t(t) * size_t(W) + size_t(rr / 64)] |= uint64_t(1) << (rr % 64);
            ++driven[size_t(t)];
          }
        const int64_t plane_weight = (pass == 0 ? 1 : -1) * (int64_t(1) << bit);
        for (int t = 0; t < T; ++t) {
          if (driven[size_t(t)] == 0) continue;  // no wordline fires: the tile is not read
          const uint64_t* in = plane.data() + size_t(t) * size_t(W);
          cc.tile = t;
          cc.max_count = std::min(R, N - t * R);
          for (int o = 0; o < O; ++o) {
            int64_t sum = 0;
            for (int j = 0; j < J_; ++j) {
              const uint64_t* s = L.bits.data() + column_offset(L, t, o, j);
              int c = 0;
              for (int w = 0; w < W; ++w) {
                cond[w] = s[w] & in[w];
                c += __builtin_popcountll(cond[w]);
              }
              int chat = c;
              if (!exact_counts_) {
                const int col = o * J_ + j;
                cc.column = col % cfg_.cols;
                cc.column_group = col / cfg_.cols;
                double I;
                if (lut_) {
                  I = lut_->current(cond, R, c, cfg_.cols, cc.column, driven[size_t(t)], cfg_.lut_noise, rng);
                } else {
                  I = c * cell_A_;
                }
                chat = conv_->count(I, cc, rng);
              }
              sum += coef_[size_t(j)] * chat;
              ++reads;
              conducting += c;
              if (chat != c) {
                ++wrong;
                err_sq += int64_t(chat - c) * (chat - c);
              }
            }
            acc[size_t(o)] += plane_weight * sum;
          }
        }
      }
    }
    const double unit = r / levels;
    for (int o = 0; o < O; ++o) yo[o] = float(L.scale[size_t(o)] * unit * double(acc[size_t(o)]));
  }
  auto& s = stats_[layer];
  s.reads += reads;
  s.conducting += conducting;
  s.err_sq += err_sq;
  s.wrong += wrong;
}

std::vector<BitSlicedStats> BitSlicedEngine::stats() const {
  std::vector<BitSlicedStats> out(layers_.size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    out[l].reads = stats_[l].reads;
    out[l].conducting = stats_[l].conducting;
    out[l].count_error_sq = stats_[l].err_sq;
    out[l].count_wrong = stats_[l].wrong;
  }
  return out;
}

void BitSlicedEngine::reset_stats() const {
  for (size_t l = 0; l < layers_.size(); ++l) {
    stats_[l].reads = 0;
    stats_[l].conducting = 0;
    stats_[l].err_sq = 0;
    stats_[l].wrong = 0;
  }
}

}  // namespace xbarkit::imc
