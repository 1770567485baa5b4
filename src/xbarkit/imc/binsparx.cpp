#include "xbarkit/imc/binsparx.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/imc/features.hpp"

namespace xbarkit::imc {

void FlipStats::add(const double* mu, const double* q, const int* c) {
  const size_t n = size_t(2) * size_t(tiles);
  for (size_t i = 0; i < n; ++i) {
    v[i] += q[i] - mu[i] * mu[i];
    cells[i] += c[i];
    double* row = m.data() + i * n;
    for (size_t j = 0; j < n; ++j) row[j] += mu[i] * mu[j];
  }
  ++samples;
}

double FlipStats::objective(const std::vector<uint8_t>& flip) const {
  const size_t n = size_t(2) * size_t(tiles);
  double j = 0;
  for (int t = 0; t < tiles; ++t) {
    const size_t i = size_t(2 * t + (flip[size_t(t)] ? 1 : 0));
    j += v[i];
    for (int u = 0; u < tiles; ++u) j += m[i * n + size_t(2 * u + (flip[size_t(u)] ? 1 : 0))];
  }
  return j;
}

double FlipStats::conducting(const std::vector<uint8_t>& flip) const {
  double c = 0;
  for (int t = 0; t < tiles; ++t) c += cells[size_t(2 * t + (flip[size_t(t)] ? 1 : 0))];
  return c;
}

double ActivationStats::wrong(const std::vector<uint8_t>& flip) const {
  const size_t n = size_t(2) * size_t(tiles);
  double total = 0;
  for (const auto& w : windows) {
    // Software activation, and P(the crossbar's fires) = P(max_p ẑ_p >= T) (direction +1) or
    // P(max_p ẑ_p <= T) (direction −1); ẑ_p is integer, so the normal is cut halfway.
    int32_t zmax = z[w.front()];
    double p_all = 1.0;  // Π_p P(ẑ_p < T) (+1) or Π_p P(ẑ_p <= T) (−1)
    for (size_t vi : w) {
      zmax = std::max(zmax, z[vi]);
      double m = z[vi], v = 0;
      for (int t = 0; t < tiles; ++t) {
        const size_t i = vi * n + size_t(2 * t + (flip[size_t(t)] ? 1 : 0));
        m += mean[i];
        v += var[i];
      }
      const double cut = direction > 0 ? threshold - 0.5 : threshold + 0.5;
      const double below = v > 0 ? 0.5 * std::erfc(-(cut - m) / std::sqrt(2 * v)) : (m < cut ? 1.0 : 0.0);
      p_all *= below;
    }
    const bool sw = direction > 0 ? zmax >= threshold : zmax <= threshold;
    const double fire = direction > 0 ? 1.0 - p_all : p_all;
    total += sw ? 1.0 - fire : fire;
  }
  return total;
}

FlipObjective flip_objective(const FlipStats& s, const ActivationStats* act, const std::vector<uint8_t>& flip) {
  return {act ? act->wrong(flip) : 0.0, s.objective(flip), s.conducting(flip)};
}

std::vector<uint8_t> choose_flips(const FlipStats& s, const ActivationStats* act, const std::vector<uint8_t>& paper) {
  const int T = s.tiles;
  const size_t n = size_t(2) * size_t(T);
  auto descend = [&](std::vector<uint8_t> best, auto&& eval) {
    auto bo = eval(best);
    for (int sweep = 0; sweep < 100; ++sweep) {
      bool changed = false;
      for (int t = 0; t < T; ++t) {
        best[size_t(t)] ^= 1;
        const auto o = eval(best);
        if (o < bo) {
          bo = o, changed = true;
        } else {
          best[size_t(t)] ^= 1;
        }
      }
      if (!changed) break;
    }
    return best;
  };
  // Each column's own J-best, then a descent on (J, cells) alone.
  std::vector<uint8_t> own(size_t(T), 0);
  for (int t = 0; t < T; ++t) {
    const size_t k = size_t(2 * t), f = k + 1;
    const FlipObjective keep{0, s.m[k * n + k] + s.v[k], s.cells[k]}, flip{0, s.m[f * n + f] + s.v[f], s.cells[f]};
    own[size_t(t)] = flip < keep;
  }
  auto sq_only = [&](const std::vector<uint8_t>& a) { return flip_objective(s, nullptr, a); };
  auto full = [&](const std::vector<uint8_t>& a) { return flip_objective(s, act, a); };
  const std::vector<uint8_t> none(size_t(T), 0);
  auto start = descend(std::min({none, paper, own}, [&](const auto& x, const auto& y) { return sq_only(x) < sq_only(y); }),
                       sq_only);
  std::vector<uint8_t> best = none;
  auto bo = full(best);
  for (const std::vector<uint8_t>* cand : std::initializer_list<const std::vector<uint8_t>*>{&paper, &own, &start}) {
    const auto o = full(*cand);
    if (o < bo) best = *cand, bo = o;
  }
  return act ? descend(best, full) : best;
}

void step_moments(const std::vector<double>& th, int max_count, double mean, double sd, int c, double d, double& m1,
                  double& m2) {
  const int K = std::min(int(th.size()), max_count);
  auto count = [&](double i) {
    i = std::max(i, 0.0);
    return int(std::upper_bound(th.begin(), th.begin() + K, i) - th.begin());
  };
  auto f = [&](int k) { return d * double(k - c); };
  if (!(sd > 0)) {
    m1 = f(count(mean));
    m2 = m1 * m1;
    return;
  }
  // E[g(ĉ)] = g(k_lo) + Σ_{k = k_lo}^{k_hi − 1} (g(k + 1) − g(k)) P(ĉ ≥ k + 1), P(ĉ ≥ k + 1) = P(max(I, 0) ≥
  // th[k]); outside ±9 sd the tail probabilities (< 1e-18) are dropped.
  const int lo = count(mean - 9 * sd), hi = count(mean + 9 * sd);
  m1 = f(lo);
  m2 = m1 * m1;
  for (int k = lo; k < hi; ++k) {
    const double p = th[size_t(k)] <= 0 ? 1.0 : 0.5 * std::erfc((th[size_t(k)] - mean) / (sd * std::sqrt(2.0)));
    const double a = f(k), b = f(k + 1);
    m1 += (b - a) * p;
    m2 += (b * b - a * a) * p;
  }
}

namespace {

// Records a binary layer's inputs while computing the exact products.
class Recorder : public nn::BinaryMatmulHook {
public:
  Recorder(std::vector<std::vector<int8_t>>* inputs, std::vector<std::vector<int32_t>>* outputs)
      : inputs_(inputs), outputs_(outputs) {}
  void matmul(const nn::BinaryLayer& layer, const int8_t* x, size_t positions, int32_t* out) const override {
    (*inputs_)[layer.index].assign(x, x + positions * size_t(layer.fan_in));
    nn::ideal_matmul(layer, x, positions, out);
    (*outputs_)[layer.index].assign(out, out + positions * size_t(layer.out_channels));
  }

private:
  std::vector<std::vector<int8_t>>* inputs_;
  std::vector<std::vector<int32_t>>* outputs_;
};

}  // namespace

FlipCalibration calibrate_static_flips(const nn::Network& net, const std::vector<LayerMapping>& maps,
                                       const ReadModel& model, const nn::Dataset& data, size_t images, bool dynamic,
                                       unsigned threads, std::vector<std::vector<FlipStats>>* stats_out,
                                       std::vector<std::vector<ActivationStats>>* act_out) {
  if (!model.converter) throw Error("calibrate_static_flips: no converter");
  if (images == 0 || images > data.count) images = data.count;
  if (images == 0) throw Error("BinSparX static-data: the calibration set has no images");
  const auto& layers = net.layers();
  // Layer inputs of every calibration image: [image][layer index].
  std::vector<std::vector<std::vector<int8_t>>> rec(images);
  std::vector<std::vector<std::vector<int32_t>>> zrec(images);
  parallel_for(images, threads, [&](size_t i) {
    rec[i].assign(layers.size(), {});
    zrec[i].assign(layers.size(), {});
    Recorder r(&rec[i], &zrec[i]);
    (void)net.predict(data.image(i), &r);
  });

  FlipCalibration out;
  out.images = images;
  out.flips.assign(layers.size(), {});
  if (stats_out) stats_out->assign(layers.size(), {});
  if (act_out) act_out->assign(layers.size(), {});
  int slot = 0;
  for (const auto& layer : layers) {
    if (!layer.binary()) continue;
    const int layer_slot = slot++;
    const LayerMapping& M = maps.at(layer.index);
    const int T = M.tiles(), O = M.outputs(), W = M.words(), N = M.fan_in();
    const size_t P = size_t(layer.positions());
    const size_t V = images * P;  // calibration vectors
    // Applied rows per (vector, tile), as the simulator drives them (dynamic flips included).
    std::vector<uint64_t> active(V * size_t(T) * size_t(W));
    std::vector<int> xplus(V * size_t(T)), rows_on(V * size_t(T));
    std::vector<uint8_t> xflip(V * size_t(T));
    for (size_t i = 0; i < images; ++i) {
      const auto& in = rec[i][layer.index];
      for (size_t p = 0; p < P; ++p) {
        const size_t vi = i * P + p;
        for (int t = 0; t < T; ++t) {
          const size_t k = vi * size_t(T) + size_t(t);
          uint64_t* a = active.data() + k * size_t(W);
          const auto dr = M.drive(in.data() + p * size_t(N), t, dynamic, a);
          xplus[k] = dr.x_plus;
          xflip[k] = dr.flipped;
          int on = 0;
          for (int w = 0; w < W; ++w) on += __builtin_popcountll(a[w]);
          rows_on[k] = on;
        }
      }
    }
    // Pooled activations of a hidden layer: the vectors (image, conv position) each takes the max of.
    const bool hidden = !layer.is_output;
    std::vector<std::vector<size_t>> windows;
    if (hidden) {
      const auto& sp = layer.spec;
      for (size_t i = 0; i < images; ++i)
        for (int y = 0; y < sp.out_height; ++y)
          for (int x = 0; x < sp.out_width; ++x) {
            if (sp.pool) {
              const size_t p00 = size_t(2 * y * sp.conv_width + 2 * x), cw = size_t(sp.conv_width);
              windows.push_back({i * P + p00, i * P + p00 + 1, i * P + p00 + cw, i * P + p00 + cw + 1});
            } else {
              windows.push_back({i * P + size_t(y * sp.out_width + x)});
            }
          }
    }
    std::vector<FlipStats> stats(static_cast<size_t>(O), FlipStats(T));
    std::vector<ActivationStats> acts(hidden && act_out ? static_cast<size_t>(O) : 0);
    std::vector<FlipObjective> obj_none(static_cast<size_t>(O)), obj_paper(static_cast<size_t>(O)),
        obj_chosen(static_cast<size_t>(O));
    auto& chosen = out.flips[layer.index];
    chosen.assign(size_t(T) * size_t(O), 0);
    parallel_for(size_t(O), threads, [&](size_t oi) {
      const int o = int(oi);
      FlipStats& st = stats[oi];
      st = FlipStats(T);
      ActivationStats act;
      if (hidden) {
        act.tiles = T;
        act.mean.resize(V * size_t(2 * T));
        act.var.resize(V * size_t(2 * T));
        act.z.resize(V);
        for (size_t i = 0; i < images; ++i)
          for (size_t p = 0; p < P; ++p) act.z[i * P + p] = zrec[i][layer.index][p * size_t(O) + oi];
        act.threshold = layer.threshold[oi];
        act.direction = layer.direction[oi];
        act.windows = windows;
      }
      // The two stored variants of each tile column, its converter context and step thresholds.
      std::vector<uint64_t> bits(static_cast<size_t>(2 * T) * static_cast<size_t>(W));
      std::vector<ConvertContext> ctx(static_cast<size_t>(T));
      std::vector<std::vector<double>> th(static_cast<size_t>(T));
      std::vector<uint8_t> stepped(static_cast<size_t>(T));
      for (int t = 0; t < T; ++t) {
        for (int a = 0; a < 2; ++a) M.stored_variant(t, o, a != 0, bits.data() + size_t(2 * t + a) * size_t(W));
        ConvertContext& cc = ctx[size_t(t)];
        cc.column = o % model.cols;
        cc.column_group = o / model.cols;
        cc.tile = t;
        cc.max_count = M.max_count(t);
        cc.tile_capacity = M.inputs_per_tile();
        cc.layer_slot = layer_slot;
        cc.tile_columns = model.cols;
        cc.chip = model.chip;
        stepped[size_t(t)] = model.converter->step_thresholds(cc, th[size_t(t)]);
      }
      std::vector<double> mu(static_cast<size_t>(2 * T)), q(static_cast<size_t>(2 * T));
      std::vector<int> cnt(static_cast<size_t>(2 * T));
      uint64_t cond[64];
      for (size_t vi = 0; vi < V; ++vi) {
        for (int t = 0; t < T; ++t) {
          const size_t k = vi * size_t(T) + size_t(t);
          const uint64_t* a = active.data() + k * size_t(W);
          for (int f = 0; f < 2; ++f) {
            const size_t i = size_t(2 * t + f);
            const uint64_t* s = bits.data() + i * size_t(W);
            int c = 0;
            for (int w = 0; w < W; ++w) {
              cond[w] = s[w] & a[w];
              c += __builtin_popcountll(cond[w]);
            }
            double mean = c * model.cell_A, sd = 0;
            if (model.lut) {
              const auto pr = model.lut->predict_mask(cond, model.rows, c, model.cols, ctx[size_t(t)].column, rows_on[k]);
              mean = pr.mean_A;
              sd = model.lut_noise ? pr.std_A : 0.0;
              if (!model.lut_noise) mean = std::max(0.0, mean);
            }
            // Partial sums are affine in the count with the same slope for either variant.
            const double d = double(M.partial_sum(t, o, 1, xplus[k]) - M.partial_sum(t, o, 0, xplus[k]));
            double m1 = 0, m2 = 0;
            if (stepped[size_t(t)]) {
              step_moments(th[size_t(t)], ctx[size_t(t)].max_count, mean, sd, c, d, m1, m2);
            } else {
              Rng rng(model.seed, derive_seed(derive_seed(0x5bf1u, uint64_t(layer.index)),
                                              derive_seed(uint64_t(vi), uint64_t(o) * uint64_t(T) + uint64_t(t))));
              for (int r = 0; r < model.mc_draws; ++r) {
                const double cur = std::max(0.0, mean + sd * rng.normal());
                const double e = d * double(model.converter->count(cur, ctx[size_t(t)], rng) - c);
                m1 += e;
                m2 += e * e;
              }
              m1 /= model.mc_draws;
              m2 /= model.mc_draws;
            }
            const bool negated = (f != 0) != (xflip[k] != 0);
            mu[i] = negated ? -m1 : m1;
            q[i] = m2;
            cnt[i] = c;
            if (hidden) {
              act.mean[vi * size_t(2 * T) + i] = float(mu[i]);
              act.var[vi * size_t(2 * T) + i] = float(std::max(0.0, m2 - m1 * m1));
            }
          }
        }
        st.add(mu.data(), q.data(), cnt.data());
      }
      std::vector<uint8_t> none(size_t(T), 0), paper(size_t(T), 0);
      for (int t = 0; t < T; ++t) paper[size_t(t)] = 2 * M.weight_plus_plain(t, o) > M.slice_size(t);
      const ActivationStats* ap = hidden ? &act : nullptr;
      const auto c = choose_flips(st, ap, paper);
      obj_none[oi] = flip_objective(st, ap, none);
      obj_paper[oi] = flip_objective(st, ap, paper);
      obj_chosen[oi] = flip_objective(st, ap, c);
      for (int t = 0; t < T; ++t) chosen[size_t(t) * size_t(O) + oi] = c[size_t(t)];
      if (hidden && act_out) acts[oi] = std::move(act);
    });
    FlipLayerReport rep;
    rep.layer = layer.index;
    rep.vectors = int64_t(V);
    rep.tile_columns = int64_t(T) * int64_t(O);
    for (int o = 0; o < O; ++o) {
      rep.objective_none += obj_none[size_t(o)].sq;
      rep.objective_paper += obj_paper[size_t(o)].sq;
      rep.objective_chosen += obj_chosen[size_t(o)].sq;
      rep.wrong_none += obj_none[size_t(o)].wrong;
      rep.wrong_paper += obj_paper[size_t(o)].wrong;
      rep.wrong_chosen += obj_chosen[size_t(o)].wrong;
      rep.cells_none += obj_none[size_t(o)].cells;
      rep.cells_paper += obj_paper[size_t(o)].cells;
      rep.cells_chosen += obj_chosen[size_t(o)].cells;
      for (int t = 0; t < T; ++t) {
        rep.flipped_paper += 2 * M.weight_plus_plain(t, o) > M.slice_size(t);
        rep.flipped_chosen += chosen[size_t(t) * size_t(O) + size_t(o)];
      }
    }
    const double inv = V ? 1.0 / double(V) : 0.0;
    rep.objective_none *= inv, rep.objective_paper *= inv, rep.objective_chosen *= inv;
    rep.cells_none *= inv, rep.cells_paper *= inv, rep.cells_chosen *= inv;
    const double per_image = 1.0 / double(images);
    rep.wrong_none *= per_image, rep.wrong_paper *= per_image, rep.wrong_chosen *= per_image;
    out.layers.push_back(rep);
    if (stats_out) (*stats_out)[layer.index] = std::move(stats);
    if (act_out) (*act_out)[layer.index] = std::move(acts);
  }
  return out;
}

}  // namespace xbarkit::imc
