#include "xbarkit/pcm/analog_engine.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <Eigen/Core>
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/pcm/analog_tile.hpp"

namespace xbarkit::pcm {

namespace {
// Stream families under the read seed (disjoint from each other and from statistical_model's).
constexpr uint64_t kPerReadStreams = 0x5045525245414444ULL;  // per-read noise of inference reads
constexpr uint64_t kFrozenStreams = 0x46524f5a454eULL;       // frozen (per-time) device reads
constexpr uint64_t kCalibrationStreams = 0x43414c4942ULL;    // GDC calibration reads

template <class E>
E parse_choice(const std::string& s, const std::string& origin, std::initializer_list<std::pair<const char*, E>> choices) {
  std::string names;
  for (const auto& [name, value] : choices) {
    if (s == name) return value;
    names += names.empty() ? "" : ", ";
    names += name;
  }
  throw InputError(origin, "", fmt::format("unknown value '{}'; choose one of: {}", s, names));
}

}  // namespace

IrMode parse_ir_mode(const std::string& s, const std::string& origin) {
  return parse_choice<IrMode>(s, origin, {{"none", IrMode::none}, {"exact", IrMode::exact}, {"aihwkit", IrMode::aihwkit}});
}
WeightScaling parse_weight_scaling(const std::string& s, const std::string& origin) {
  return parse_choice<WeightScaling>(s, origin, {{"column", WeightScaling::column}, {"layer", WeightScaling::layer}});
}
ReadNoiseMode parse_read_noise(const std::string& s, const std::string& origin) {
  return parse_choice<ReadNoiseMode>(s, origin, {{"per-read", ReadNoiseMode::per_read}, {"frozen", ReadNoiseMode::frozen}});
}
GdcMode parse_gdc(const std::string& s, const std::string& origin) {
  return parse_choice<GdcMode>(s, origin, {{"off", GdcMode::off}, {"layer", GdcMode::layer}, {"tile", GdcMode::tile}});
}
std::string to_string(IrMode m) { return m == IrMode::none ? "none" : m == IrMode::exact ? "exact" : "aihwkit"; }
std::string to_string(WeightScaling m) { return m == WeightScaling::column ? "column" : "layer"; }
std::string to_string(ReadNoiseMode m) { return m == ReadNoiseMode::per_read ? "per-read" : "frozen"; }
std::string to_string(GdcMode m) { return m == GdcMode::off ? "off" : m == GdcMode::layer ? "layer" : "tile"; }

// Conductances of one layer at one read (normalized to G_max), [out][fan_in] row-major, and the
// per-read relative noise sigma of every device (0 in frozen mode: already in the conductances).
struct LayerRead {
  std::vector<double> gp, gm, sp, sm;
};

struct Tile {
  int r0 = 0, n = 0;
  Eigen::MatrixXf gd;  // out x n: g+ - g- (normalized)
  Eigen::MatrixXf s2;  // out x n: (g+ sigma+)^2 + (g- sigma-)^2 (per-read noise), empty if none
  // Exact mode: the circuit's transfer, normalized to G_max (AnalogTile::transfer_S() / G_max):
  // `physical` 2 out x n (column c per unit input on row i, wires included; kept only while the
  // engine is built, for GDC's calibration reads), `differential` out x n (pair differences; what a
  // read multiplies the inputs with, as gd without wires).
  Eigen::MatrixXd physical;
  Eigen::MatrixXf differential;
  std::unique_ptr<netlist::Crossbar> xbar;  // aihwkit mode: the physical column conductances
  double gdc = 1;
};

struct Layer {
  std::string name;
  int out = 0, fan_in = 0, positions = 1;
  std::vector<float> scale;  // s_o
  std::vector<ProgrammedDevice> devices;  // 2 (o fan_in + n) + polarity
  std::vector<Tile> tiles;
  double adc_bound = 12, input_range = 0;  // input_range 0: per-vector max
  double gdc = 1;
};

struct AnalogEngine::Impl {
  PcmModel model;
  AnalogEngineOptions o;
  std::optional<netlist::Technology> tech;
  double v_read_V = 1;
  double r_row_ohm = 0, r_col_ohm = 0;  // wires per cell after overrides and wire_scale
  std::vector<Layer> layers;
  double factorize_s = 0;
  size_t circuit_solves = 0;

  LayerRead read_layer(size_t l, double t_s, uint64_t tag) const;
  // Builds a layer's tiles for one read; exact mode: factors each tile's circuit and derives its
  // transfer (adds the factorization CPU time and the solves to *factorize_s / *solves).
  void build_tiles(size_t l, const LayerRead& r, std::vector<Tile>& tiles, double* factorize_s, size_t* solves) const;
  // GDC readout of each tile (sum over physical columns of |I_c| / (G_max v_read), all inputs 1).
  std::vector<double> readout(size_t l, const LayerRead& r, const std::vector<Tile>& tiles, uint64_t tag) const;
  Eigen::MatrixXd physical_currents(const Tile& t, const Eigen::MatrixXd& drive_V, size_t l) const;
};

namespace {
void validate(const AnalogEngineOptions& o, size_t n_layers) {
  const std::string& f = o.origin;
  if (!(o.t_s > 0) || !std::isfinite(o.t_s))
    throw InputError(f, "time", fmt::format("time after programming {} s must be finite and > 0", o.t_s));
  if (o.rows_per_tile < 1) throw InputError(f, "rows", fmt::format("rows per tile must be >= 1, got {}", o.rows_per_tile));
  if (o.dac_bits < 0 || o.dac_bits == 1 || o.dac_bits > 24)
    throw InputError(f, "dac_bits", fmt::format("must be 0 (no quantization) or in [2, 24] (signed DAC), got {}", o.dac_bits));
  if (o.adc_bits < 0 || o.adc_bits == 1 || o.adc_bits > 24)
    throw InputError(f, "adc_bits", fmt::format("must be 0 (no quantization) or in [2, 24] (signed ADC), got {}", o.adc_bits));
  if (!(o.adc_bound > 0) || !std::isfinite(o.adc_bound))
    throw InputError(f, "adc_bound", fmt::format("must be finite and > 0 (units of G_max v_read), got {}", o.adc_bound));
  if (!o.adc_bound_per_layer.empty()) {
    if (o.adc_bound_per_layer.size() != n_layers)
      throw InputError(f, "adc_bound_per_layer", fmt::format("has {} values for {} layers", o.adc_bound_per_layer.size(), n_layers));
    for (double b : o.adc_bound_per_layer)
      if (!(b > 0) || !std::isfinite(b)) throw InputError(f, "adc_bound_per_layer", fmt::format("values must be finite and > 0, got {}", b));
  }
  if (!o.input_ranges.empty()) {
    if (o.input_ranges.size() != n_layers)
      throw InputError(f, "input_ranges", fmt::format("has {} values for {} layers", o.input_ranges.size(), n_layers));
    for (double r : o.input_ranges)
      if (!(r > 0) || !std::isfinite(r)) throw InputError(f, "input_ranges", fmt::format("values must be finite and > 0, got {}", r));
  }
}
}  // namespace

LayerRead AnalogEngine::Impl::read_layer(size_t l, double t_s, uint64_t tag) const {
  const Layer& L = layers[l];
  const size_t nw = static_cast<size_t>(L.out) * L.fan_in;
  LayerRead r;
  r.gp.resize(nw), r.gm.resize(nw), r.sp.assign(nw, 0.0), r.sm.assign(nw, 0.0);
  const double gmax = model.g_max_S;
  const double growth = model.read_noise_scale * model.read_noise_growth(t_s);
  const uint64_t frozen_seed = derive_seed(derive_seed(o.read_seed, kFrozenStreams ^ tag), l);
  for (size_t k = 0; k < nw; ++k)
    for (int s = 0; s < 2; ++s) {
      const ProgrammedDevice& d = L.devices[2 * k + s];
      double g;
      double sigma = 0;
      if (o.read_noise == ReadNoiseMode::frozen) {
        g = read_device(model, d, t_s, frozen_seed, 2 * k + s);
      } else {
        g = drifted_S(model, d, t_s);
        sigma = model.q_s(d.g_prog_S) * growth;
      }
      g = std::min(g, gmax) / gmax;  // a read above G_max is clipped with the device (see header)
      (s == 0 ? r.gp : r.gm)[k] = g;
      (s == 0 ? r.sp : r.sm)[k] = sigma;
    }
  return r;
}

void AnalogEngine::Impl::build_tiles(size_t l, const LayerRead& r, std::vector<Tile>& tiles, double* factorize_s,
                                     size_t* solves) const {
  const Layer& L = layers[l];
  const int R = o.rows_per_tile;
  const int nt = (L.fan_in + R - 1) / R;
  tiles.clear();
  tiles.resize(nt);
  bool any_noise = false;
  for (size_t k = 0; k < r.sp.size(); ++k) any_noise |= r.sp[k] > 0 || r.sm[k] > 0;
  for (int t = 0; t < nt; ++t) {
    Tile& T = tiles[t];
    T.r0 = t * R, T.n = std::min(R, L.fan_in - T.r0);
    T.gd.resize(L.out, T.n);
    if (any_noise) T.s2.resize(L.out, T.n);
    for (int oo = 0; oo < L.out; ++oo)
      for (int i = 0; i < T.n; ++i) {
        const size_t k = static_cast<size_t>(oo) * L.fan_in + T.r0 + i;
        T.gd(oo, i) = static_cast<float>(r.gp[k] - r.gm[k]);
        if (any_noise) {
          const double a = r.gp[k] * r.sp[k], b = r.gm[k] * r.sm[k];
          T.s2(oo, i) = static_cast<float>(a * a + b * b);
        }
      }
    if (o.ir == IrMode::none) continue;
    Eigen::MatrixXd gp(T.n, L.out), gm(T.n, L.out);
    for (int i = 0; i < T.n; ++i)
      for (int oo = 0; oo < L.out; ++oo) {
        const size_t k = static_cast<size_t>(oo) * L.fan_in + T.r0 + i;
        gp(i, oo) = r.gp[k] * model.g_max_S, gm(i, oo) = r.gm[k] * model.g_max_S;
      }
    AnalogTileOptions to;
    to.v_read_V = o.v_read_V;
    to.r_wordline_ohm = r_row_ohm, to.r_bitline_ohm = r_col_ohm;
    to.dac_bits = 0;  // the engine's own DAC
    to.origin = fmt::format("{} (layer {}, tile {})", o.origin, L.name, t);
    if (o.ir == IrMode::exact) {
      // Factor once, then one solve per row gives the transfer; every later read is a dense
      // product with it, exact by superposition (the cells are linear), so the test set costs
      // what the ideal product costs instead of one circuit solve per input vector.
      const AnalogTile circuit(*tech, gp, gm, to);
      T.physical = circuit.transfer_S() / model.g_max_S;
      T.differential.resize(L.out, T.n);
      for (int oo = 0; oo < L.out; ++oo)
        for (int i = 0; i < T.n; ++i)
          T.differential(oo, i) = static_cast<float>(T.physical(2 * oo, i) - T.physical(2 * oo + 1, i));
      *factorize_s += circuit.factorize_s() + circuit.analyze_s();
      *solves += static_cast<size_t>(T.n);
    } else {
      auto x = netlist::make_crossbar(*tech, "pcm", T.n, 2 * L.out);
      x.params.choices["pcm_iv"] = "linear";
      x.parasitics.r_wordline_ohm = r_row_ohm, x.parasitics.r_bitline_ohm = r_col_ohm;
      x.v_read_V = v_read_V;
      x.state.resize(static_cast<size_t>(T.n) * x.cols);
      for (int i = 0; i < T.n; ++i)
        for (int oo = 0; oo < L.out; ++oo) {
          x.state[static_cast<size_t>(i) * x.cols + 2 * oo] = gp(i, oo);
          x.state[static_cast<size_t>(i) * x.cols + 2 * oo + 1] = gm(i, oo);
        }
      T.xbar = std::make_unique<netlist::Crossbar>(std::move(x));
    }
  }
}

Eigen::MatrixXd AnalogEngine::Impl::physical_currents(const Tile& t, const Eigen::MatrixXd& drive, size_t) const {
  if (o.ir == IrMode::exact) return t.physical * drive * model.g_max_S;
  return aihwkit_ir_drop_column_currents_A(*t.xbar, drive, v_read_V);
}

std::vector<double> AnalogEngine::Impl::readout(size_t l, const LayerRead& r, const std::vector<Tile>& tiles,
                                                uint64_t tag) const {
  const Layer& L = layers[l];
  std::vector<double> out(tiles.size());
  for (size_t t = 0; t < tiles.size(); ++t) {
    const Tile& T = tiles[t];
    // Physical column "currents" in units of G_max v_read for all-ones inputs, and their per-read
    // noise variances (ideal wires for the noise term, as in inference reads).
    std::vector<double> col(2 * L.out, 0.0), var(2 * L.out, 0.0);
    for (int oo = 0; oo < L.out; ++oo)
      for (int i = 0; i < T.n; ++i) {
        const size_t k = static_cast<size_t>(oo) * L.fan_in + T.r0 + i;
        col[2 * oo] += r.gp[k], col[2 * oo + 1] += r.gm[k];
        var[2 * oo] += std::pow(r.gp[k] * r.sp[k], 2), var[2 * oo + 1] += std::pow(r.gm[k] * r.sm[k], 2);
      }
    if (o.ir != IrMode::none) {
      const Eigen::MatrixXd c = physical_currents(T, Eigen::MatrixXd::Constant(T.n, 1, v_read_V), l);
      for (int c_ = 0; c_ < 2 * L.out; ++c_) col[c_] = c(c_, 0) / (model.g_max_S * v_read_V);
    }
    Rng rng(derive_seed(derive_seed(o.read_seed, kCalibrationStreams ^ tag), l), t);
    double sum = 0;
    for (int c_ = 0; c_ < 2 * L.out; ++c_) {
      const double noise = var[c_] > 0 ? std::sqrt(var[c_]) * rng.normal() : 0.0;
      sum += std::abs(col[c_] + noise);
    }
    out[t] = sum;
  }
  return out;
}

AnalogEngine::AnalogEngine(const std::vector<nn::WeightMatrix>& layers, const PcmModel& model, const AnalogEngineOptions& o)
    : impl_(std::make_unique<Impl>()) {
  Impl& I = *impl_;
  model.validate(o.origin + " (pcm model)");
  validate(o, layers.size());
  if (layers.empty()) throw InputError(o.origin, "network", "has no weight layers to map");
  I.model = model, I.o = o;
  if (o.ir != IrMode::none) {
    I.tech = netlist::load_technology(o.technology);
    if (!I.tech->arrays.count("pcm"))
      throw InputError(I.tech->file.string(), "pcm", "the technology has no [pcm] table (wires and v_read of the analog tiles)");
    auto probe = netlist::make_crossbar(*I.tech, "pcm", 1, 2);
    const double tech_gmax = probe.params.number("g_max");
    if (tech_gmax < model.g_max_S)
      throw InputError(I.tech->file.string(), "pcm.g_max",
                       fmt::format("{} S is below the PCM model's G_max = {} S; the circuit tile could not hold the "
                                   "programmed conductances (make them equal)", tech_gmax, model.g_max_S));
    I.v_read_V = std::isnan(o.v_read_V) ? probe.v_read_V : o.v_read_V;
    if (!(o.wire_scale >= 0) || !std::isfinite(o.wire_scale))
      throw InputError(o.origin, "wire_scale", fmt::format("must be finite and >= 0, got {}", o.wire_scale));
    if (!std::isnan(o.r_wire_ohm) && !(o.r_wire_ohm >= 0))
      throw InputError(o.origin, "r_wire", fmt::format("must be >= 0 ohm, got {}", o.r_wire_ohm));
    I.r_row_ohm = o.wire_scale * (std::isnan(o.r_wire_ohm) ? probe.parasitics.r_wordline_ohm : o.r_wire_ohm);
    I.r_col_ohm = o.wire_scale * (std::isnan(o.r_wire_ohm) ? probe.parasitics.r_bitline_ohm : o.r_wire_ohm);
    if (!(I.v_read_V > 0)) throw InputError(o.origin, "v_read", fmt::format("must be > 0 V, got {}", I.v_read_V));
  }
  I.layers.resize(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto& W = layers[l];
    Layer& L = I.layers[l];
    L.name = W.name.empty() ? fmt::format("#{}", l) : W.name;
    const std::string where = fmt::format("{} (layer {})", o.origin, L.name);
    if (W.out < 1 || W.fan_in < 1 || W.positions < 1)
      throw InputError(where, "shape", fmt::format("out {}, fan_in {}, positions {}: all must be >= 1", W.out, W.fan_in, W.positions));
    if (W.w.size() != static_cast<size_t>(W.out) * W.fan_in)
      throw InputError(where, "w", fmt::format("has {} weights; out x fan_in = {}", W.w.size(), static_cast<size_t>(W.out) * W.fan_in));
    L.out = W.out, L.fan_in = W.fan_in, L.positions = W.positions;
    L.scale.assign(W.out, 0.f);
    for (int oo = 0; oo < W.out; ++oo)
      for (int n = 0; n < W.fan_in; ++n) {
        const float w = W.w[static_cast<size_t>(oo) * W.fan_in + n];
        if (!std::isfinite(w))
          throw InputError(where, "w", fmt::format("weight [{}][{}] is {}; weights must be finite to be mapped", oo, n, w));
        L.scale[oo] = std::max(L.scale[oo], std::abs(w));
      }
    if (o.scaling == WeightScaling::layer) std::fill(L.scale.begin(), L.scale.end(), *std::max_element(L.scale.begin(), L.scale.end()));
    for (auto& s : L.scale)
      if (s == 0) s = 1;  // an all-zero output: both devices at target 0 (any scale maps it)
    L.adc_bound = o.adc_bound_per_layer.empty() ? o.adc_bound : o.adc_bound_per_layer[l];
    L.input_range = o.input_ranges.empty() ? 0.0 : o.input_ranges[l];
    // Programming: device (l, 2k + s) from its own stream.
    const size_t nw = W.w.size();
    L.devices.resize(2 * nw);
    const uint64_t seed = derive_seed(o.programming_seed, l);
    parallel_for(static_cast<size_t>(W.out), o.threads, [&](size_t oo) {
      for (int n = 0; n < W.fan_in; ++n) {
        const size_t k = oo * W.fan_in + n;
        const double u = std::clamp(static_cast<double>(W.w[k]) / L.scale[oo], -1.0, 1.0);
        for (int s = 0; s < 2; ++s) {
          const double target = (s == 0 ? std::max(u, 0.0) : std::max(-u, 0.0)) * model.g_max_S;
          ProgrammedDevice d = program_device(model, target, seed, 2 * k + s);
          d.g_prog_S = std::min(d.g_prog_S, model.g_max_S);  // the device's SET limit (see header)
          L.devices[2 * k + s] = d;
        }
      }
    });
  }
  // Reads at t (and GDC calibration at t0 and t), one layer per work item.
  std::vector<double> fact(layers.size(), 0.0);
  std::vector<size_t> solves(layers.size(), 0);
  parallel_for(layers.size(), o.threads, [&](size_t l) {
    Layer& L = I.layers[l];
    const LayerRead r = I.read_layer(l, o.t_s, 0);
    I.build_tiles(l, r, L.tiles, &fact[l], &solves[l]);
    if (o.gdc != GdcMode::off) {
      const double t0 = I.model.t0_s;
      const LayerRead r0 = I.read_layer(l, t0, 1);
      std::vector<Tile> tiles0;
      I.build_tiles(l, r0, tiles0, &fact[l], &solves[l]);
      const auto ref = I.readout(l, r0, tiles0, 1), now = I.readout(l, r, L.tiles, 2);
      if (o.gdc == GdcMode::tile) {
        for (size_t t = 0; t < L.tiles.size(); ++t) L.tiles[t].gdc = now[t] > 0 ? ref[t] / now[t] : 1.0;
      } else {
        double a = 0, b = 0;
        for (size_t t = 0; t < ref.size(); ++t) a += ref[t], b += now[t];
        L.gdc = b > 0 ? a / b : 1.0;
      }
    }
    for (auto& t : L.tiles) t.physical.resize(0, 0);  // only the calibration reads above need it
  });
  for (double f : fact) I.factorize_s += f;
  for (size_t n : solves) I.circuit_solves += n;
}

AnalogEngine::~AnalogEngine() = default;

size_t AnalogEngine::layers() const { return impl_->layers.size(); }
int AnalogEngine::tiles(size_t l) const { return static_cast<int>(impl_->layers.at(l).tiles.size()); }
double AnalogEngine::gdc_factor(size_t l, int t) const {
  const Layer& L = impl_->layers.at(l);
  return L.gdc * L.tiles.at(t).gdc;
}
double AnalogEngine::factorize_s() const { return impl_->factorize_s; }
const AnalogEngineOptions& AnalogEngine::options() const { return impl_->o; }
size_t AnalogEngine::circuit_solves() const { return impl_->circuit_solves; }
size_t AnalogEngine::reads_per_image() const {
  size_t n = 0;
  for (const auto& L : impl_->layers) n += L.tiles.size() * static_cast<size_t>(L.positions);
  return n;
}

namespace {
// round(v) (half away from zero) without a libm call: the DAC and ADC round millions of values per
// image. |v| <= 2^24 here (levels of a <= 24-bit converter).
inline float round_half_away(float v) {
  return static_cast<float>(static_cast<int32_t>(v + (v >= 0 ? 0.5f : -0.5f)));
}
// Per-thread work buffers that only grow (the engine is called concurrently, layer after layer with
// different shapes: steady-state calls allocate nothing).
struct Buffer {
  std::vector<float> v;
  Eigen::Map<Eigen::MatrixXf> map(Eigen::Index r, Eigen::Index c) {
    if (v.size() < static_cast<size_t>(r * c)) v.resize(static_cast<size_t>(r * c));
    return {v.data(), r, c};
  }
};
struct Work {
  Buffer xn, xn2, normals, acc, u, var, range;
};
}  // namespace

void AnalogEngine::matmul(size_t layer, const float* x, size_t P, float* y, uint64_t key) const {
  const Impl& I = *impl_;
  if (layer >= I.layers.size())
    throw Error(fmt::format("pcm engine: layer {} requested; the network mapped {} (internal error)", layer, I.layers.size()));
  const Layer& L = I.layers[layer];
  const auto p_count = static_cast<Eigen::Index>(P);
  thread_local Work w;
  Eigen::Map<const Eigen::MatrixXf> X(x, L.fan_in, p_count);
  Eigen::Map<Eigen::MatrixXf> Y(y, L.out, p_count);
  const bool noisy = !L.tiles.empty() && L.tiles[0].s2.size() > 0;
  // Input ranges and the DAC.
  auto range = w.range.map(p_count, 1);
  auto xn = w.xn.map(L.fan_in, p_count);
  auto xn2 = w.xn2.map(noisy ? L.fan_in : 0, p_count);
  const float levels = I.o.dac_bits > 0 ? static_cast<float>(std::ldexp(1.0, I.o.dac_bits - 1) - 1) : 0.f;
  for (Eigen::Index p = 0; p < p_count; ++p) {
    const float* xp = X.col(p).data();
    float r = static_cast<float>(L.input_range);
    if (r == 0)
      for (int n = 0; n < L.fan_in; ++n) r = std::max(r, std::abs(xp[n]));
    if (!(r > 0)) r = 1.f;
    range(p) = r;
    const float inv = 1.f / r;
    float* out = xn.col(p).data();
    for (int n = 0; n < L.fan_in; ++n) {
      const float u = std::clamp(xp[n] * inv, -1.f, 1.f);
      out[n] = levels > 0 ? round_half_away(u * levels) / levels : u;
    }
    if (noisy) {
      float* o2 = xn2.col(p).data();
      for (int n = 0; n < L.fan_in; ++n) o2[n] = out[n] * out[n];
    }
  }
  // Per-read noise normals: stream (read_seed, key, layer) position p, drawn tile by tile, output by output.
  const int nt = static_cast<int>(L.tiles.size());
  auto normals = w.normals.map(noisy ? static_cast<Eigen::Index>(nt) * L.out : 0, p_count);
  if (noisy) {
    const uint64_t s = derive_seed(derive_seed(derive_seed(I.o.read_seed, kPerReadStreams), key), layer);
    for (Eigen::Index p = 0; p < p_count; ++p) {
      Rng rng(s, static_cast<uint64_t>(p));
      float* np = normals.col(p).data();
      for (Eigen::Index j = 0; j < normals.rows(); ++j) np[j] = static_cast<float>(rng.normal());
    }
  }
  const float adc_step = I.o.adc_bits > 0 ? static_cast<float>(2 * L.adc_bound / (std::ldexp(1.0, I.o.adc_bits) - 2)) : 0.f;
  const float bound = static_cast<float>(L.adc_bound);
  auto acc = w.acc.map(L.out, p_count);
  auto u = w.u.map(L.out, p_count);
  auto var = w.var.map(noisy ? L.out : 0, p_count);
  acc.setZero();
  for (int t = 0; t < nt; ++t) {
    const Tile& T = L.tiles[t];
    const auto xt = xn.middleRows(T.r0, T.n);
    if (I.o.ir == IrMode::none) {
      u.noalias() = T.gd * xt;
    } else if (I.o.ir == IrMode::exact) {
      u.noalias() = T.differential * xt;
    } else {
      const Eigen::MatrixXd drive = xt.cast<double>() * I.v_read_V;
      const Eigen::MatrixXd c = I.physical_currents(T, drive, layer);
      const double unit = 1 / (I.model.g_max_S * I.v_read_V);
      for (Eigen::Index p = 0; p < p_count; ++p)
        for (int oo = 0; oo < L.out; ++oo) u(oo, p) = static_cast<float>((c(2 * oo, p) - c(2 * oo + 1, p)) * unit);
    }
    if (noisy) {
      var.noalias() = T.s2 * xn2.middleRows(T.r0, T.n);
      const float* nrm = normals.data();
      const Eigen::Index ld = normals.rows();
      for (Eigen::Index p = 0; p < p_count; ++p) {
        float* up = u.col(p).data();
        const float* vp = var.col(p).data();
        const float* np = nrm + p * ld + static_cast<Eigen::Index>(t) * L.out;
        for (int oo = 0; oo < L.out; ++oo) up[oo] += std::sqrt(vp[oo]) * np[oo];
      }
    }
    const float g = static_cast<float>(T.gdc);
    float* up = u.data();
    float* ap = acc.data();
    const Eigen::Index size = u.size();
    if (adc_step > 0) {
      for (Eigen::Index k = 0; k < size; ++k) ap[k] += g * (round_half_away(std::clamp(up[k], -bound, bound) / adc_step) * adc_step);
    } else {
      for (Eigen::Index k = 0; k < size; ++k) ap[k] += g * up[k];
    }
  }
  const float lg = static_cast<float>(L.gdc);
  for (Eigen::Index p = 0; p < p_count; ++p) {
    const float rp = range(p) * lg;
    const float* ap = acc.col(p).data();
    float* yp = Y.col(p).data();
    for (int oo = 0; oo < L.out; ++oo) yp[oo] = L.scale[oo] * ap[oo] * rp;
  }
}

}  // namespace xbarkit::pcm
