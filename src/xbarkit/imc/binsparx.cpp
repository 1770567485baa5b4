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

std::vector<uint8_t> choose_flips(const FlipStats& s, const std::vector<uint8_t>& paper) {
  const int T = s.tiles;
  const size_t n = size_t(2) * size_t(T);
  // Lexicographic: smaller J first, then fewer conducting cells.
  auto better = [&](double j1, double c1, double j0, double c0) { return j1 < j0 || (j1 == j0 && c1 < c0); };
  std::vector<uint8_t> own(size_t(T), 0);
  for (int t = 0; t < T; ++t) {
    const size_t k = size_t(2 * t), f = k + 1;
    own[size_t(t)] = better(s.m[f * n + f] + s.v[f], s.cells[f], s.m[k * n + k] + s.v[k], s.cells[k]);
  }
  std::vector<uint8_t> best(size_t(T), 0);
  double bj = s.objective(best), bc = s.conducting(best);
  for (const std::vector<uint8_t>* cand : std::initializer_list<const std::vector<uint8_t>*>{&paper, &own}) {
    const double j = s.objective(*cand), c = s.conducting(*cand);
    if (better(j, c, bj, bc)) best = *cand, bj = j, bc = c;
  }
  for (int sweep = 0; sweep < 100; ++sweep) {
    bool changed = false;
    for (int t = 0; t < T; ++t) {
      best[size_t(t)] ^= 1;
      const double j = s.objective(best), c = s.conducting(best);
      if (better(j, c, bj, bc)) {
        bj = j, bc = c, changed = true;
      } else {
        best[size_t(t)] ^= 1;
      }
    }
    if (!changed) break;
  }
  return best;
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
  explicit Recorder(std::vector<std::vector<int8_t>>* inputs) : inputs_(inputs) {}
  void matmul(const nn::BinaryLayer& layer, const int8_t* x, size_t positions, int32_t* out) const override {
    (*inputs_)[layer.index].assign(x, x + positions * size_t(layer.fan_in));
    nn::ideal_matmul(layer, x, positions, out);
  }

private:
  std::vector<std::vector<int8_t>>* inputs_;
};

}  // namespace

FlipCalibration calibrate_static_flips(const nn::Network& net, const std::vector<LayerMapping>& maps,
                                       const ReadModel& model, const nn::Dataset& data, size_t images, bool dynamic,
                                       unsigned threads, std::vector<std::vector<FlipStats>>* stats_out) {
  if (!model.converter) throw Error("calibrate_static_flips: no converter");
  if (images == 0 || images > data.count) images = data.count;
  if (images == 0) throw Error("BinSparX static-data: the calibration set has no images");
  const auto& layers = net.layers();
  // Layer inputs of every calibration image: [image][layer index].
  std::vector<std::vector<std::vector<int8_t>>> rec(images);
  parallel_for(images, threads, [&](size_t i) {
    rec[i].assign(layers.size(), {});
    Recorder r(&rec[i]);
    (void)net.predict(data.image(i), &r);
  });

  FlipCalibration out;
  out.images = images;
  out.flips.assign(layers.size(), {});
  if (stats_out) stats_out->assign(layers.size(), {});
  const FeatureNeeds needs = model.lut ? model.lut->needs() : FeatureNeeds{};
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
    std::vector<FlipStats> stats(static_cast<size_t>(O), FlipStats(T));
    parallel_for(size_t(O), threads, [&](size_t oi) {
      const int o = int(oi);
      FlipStats& st = stats[oi];
      st = FlipStats(T);
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
              const auto pr = model.lut->predict(mask_features(cond, model.rows, model.cols, ctx[size_t(t)].column, rows_on[k], needs));
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
          }
        }
        st.add(mu.data(), q.data(), cnt.data());
      }
    });
    FlipLayerReport rep;
    rep.layer = layer.index;
    rep.vectors = int64_t(V);
    rep.tile_columns = int64_t(T) * int64_t(O);
    auto& chosen = out.flips[layer.index];
    chosen.assign(size_t(T) * size_t(O), 0);
    for (int o = 0; o < O; ++o) {
      std::vector<uint8_t> none(size_t(T), 0), paper(size_t(T), 0);
      for (int t = 0; t < T; ++t) paper[size_t(t)] = 2 * M.weight_plus_plain(t, o) > M.slice_size(t);
      const auto c = choose_flips(stats[size_t(o)], paper);
      const FlipStats& st = stats[size_t(o)];
      rep.objective_none += st.objective(none);
      rep.objective_paper += st.objective(paper);
      rep.objective_chosen += st.objective(c);
      rep.cells_none += st.conducting(none);
      rep.cells_paper += st.conducting(paper);
      rep.cells_chosen += st.conducting(c);
      for (int t = 0; t < T; ++t) {
        chosen[size_t(t) * size_t(O) + size_t(o)] = c[size_t(t)];
        rep.flipped_paper += paper[size_t(t)];
        rep.flipped_chosen += c[size_t(t)];
      }
    }
    const double inv = V ? 1.0 / double(V) : 0.0;
    rep.objective_none *= inv, rep.objective_paper *= inv, rep.objective_chosen *= inv;
    rep.cells_none *= inv, rep.cells_paper *= inv, rep.cells_chosen *= inv;
    out.layers.push_back(rep);
    if (stats_out) (*stats_out)[layer.index] = std::move(stats);
  }
  return out;
}

}  // namespace xbarkit::imc
