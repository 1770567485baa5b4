#include "xbarkit/imc/simulator.hpp"

#include <algorithm>
#include <cmath>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <fmt/format.h>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::imc {
namespace {

struct ImageContext {
  const void* sim = nullptr;
  uint64_t image = 0;
};
thread_local ImageContext t_ctx;

uint64_t hash_inputs(const int8_t* x, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (size_t i = 0; i < n; ++i) {
    h ^= uint8_t(x[i]);
    h *= 0x100000001b3ULL;
  }
  return h;
}

struct Buffers {
  std::vector<uint64_t> active, plain;
  std::vector<int> xplus, active_rows;
  std::vector<uint8_t> xflip;
  std::vector<double> currents;
  std::vector<int64_t> z, zi;
};

}  // namespace

netlist::Crossbar make_tile(const SimConfig& cfg) {
  if (!netlist::find_cell(cfg.cell))
    throw Error(fmt::format("unknown cell kind '{}' ({})", cfg.cell, netlist::cell_names()));
  const auto tech = netlist::load_technology(cfg.tech);
  auto tile = netlist::make_crossbar(tech, cfg.cell, cfg.rows, cfg.cols > 0 ? cfg.cols : cfg.rows);
  netlist::scale_wires(tile, cfg.wire_scale);
  netlist::apply_corner(tile, tech, cfg.corner);
  return tile;
}

std::string to_string(Sensing s) {
  switch (s) {
    case Sensing::ideal: return "ideal";
    case Sensing::lut: return "lut";
    case Sensing::exact: return "exact";
  }
  return "?";
}

void LayerStats::add(const LayerStats& o) {
  reads += o.reads;
  conducting += o.conducting;
  conducting_plain += o.conducting_plain;
  cells += o.cells;
  weights += o.weights;
  ps_error_sq += o.ps_error_sq;
  ps_error_abs += o.ps_error_abs;
  ps_wrong += o.ps_wrong;
  ps_error_max = std::max(ps_error_max, o.ps_error_max);
  ps_error_sum += o.ps_error_sum;
  ps_error_sum_negated += o.ps_error_sum_negated;
  reads_negated += o.reads_negated;
  z_error_sum += o.z_error_sum;
  z_error_sq += o.z_error_sq;
  outputs += o.outputs;
  z_wrong += o.z_wrong;
  z_error_abs += o.z_error_abs;
  static_flipped += o.static_flipped;
  dynamic_flipped += o.dynamic_flipped;
  slices += o.slices;
}

Simulator::Simulator(const nn::Network& net, SimConfig config) : net_(&net), cfg_(std::move(config)) {
  if (cfg_.cols <= 0) cfg_.cols = cfg_.rows;
  if (cfg_.rows > 4096) throw Error(fmt::format("crossbar rows {} > 4096", cfg_.rows));
  map_layers();

  const lut::ArrayPsConfig* lut_config = nullptr;
  if (cfg_.array_lut) lut_config = &cfg_.array_lut->find(cfg_.cell, cfg_.rows, cfg_.wire_scale, cfg_.corner);
  if (cfg_.sensing == Sensing::lut) {
    if (!cfg_.array_lut) throw Error("LUT sensing needs an array_ps bundle (--array-lut)");
    lut_ = std::make_unique<FastArrayLut>(cfg_.array_lut, *lut_config);
    cell_A_ = lut_->ideal_cell_current_A();
  }
  if (cfg_.sensing == Sensing::exact || !(cell_A_ > 0)) {
    tile_ = make_tile(cfg_);
    cell_A_ = circuit::isolated_cell_current(tile_, true, true);
  }
  if (cfg_.variation.enabled) {
    if (cfg_.sensing != Sensing::exact)
      throw Error("a sampled chip (device mismatch per tile) needs exact sensing; a LUT characterized with "
                  "[array_ps.variation] already marginalizes over chips in every read");
    draw_chip();
  }
  conv_ = make_converter(cfg_.converter, ConverterSetup{cell_A_, cfg_.rows, cfg_.array_lut, lut_config});
  fast_ideal_ = cfg_.sensing == Sensing::ideal && conv_->exact_on_ideal_currents();
  lut_config_ = lut_config;
  check_stochastic_layers();
  tabulate_converter();
  tabulate_sampling();
  if (cfg_.binsparx.data_aware) choose_data_flips();
}

// BinSparX static-data (binsparx.hpp): the reads are modelled as the simulator performs them, with the
// LUT when there is one (under exact sensing the bundle the calibrated converter inverts), else ideal
// currents (then only the conducting cells decide).
void Simulator::choose_data_flips() {
  if (!cfg_.calibration_data)
    throw Error("BinSparX static-data needs calibration images (training images, never the evaluated ones)");
  if (net_->stochastic_psum())
    throw Error("BinSparX static-data: networks trained for stochastic partial-sum conversion take no flips");
  std::unique_ptr<FastArrayLut> own;
  const FastArrayLut* lut = lut_.get();
  if (!lut && cfg_.array_lut && lut_config_) {
    own = std::make_unique<FastArrayLut>(cfg_.array_lut, *lut_config_);
    lut = own.get();
  }
  ReadModel rm;
  rm.lut = lut;
  rm.lut_noise = cfg_.lut_noise;
  rm.cell_A = cell_A_;
  rm.converter = conv_.get();
  rm.rows = cfg_.rows;
  rm.cols = cfg_.cols;
  rm.seed = cfg_.seed;
  rm.chip = cfg_.chip;
  flip_cal_ = calibrate_static_flips(*net_, maps_, rm, *cfg_.calibration_data, cfg_.calibration_images,
                                     cfg_.binsparx.dynamic_flip, cfg_.calibration_threads);
  for (size_t l = 0; l < maps_.size(); ++l)
    if (maps_[l].tiles() > 0) maps_[l].set_flips(flip_cal_.flips[l]);
  guard_data_flips();
}

// The end-to-end guard on the chosen flips (binsparx.hpp, FlipGuard). Its reads are keyed 2^61 + the
// image's index: never an index of predict_all (test sets are far smaller) nor a key of the
// batch-norm recalibration (2^62 + i).
void Simulator::guard_data_flips() {
  FlipGuard& g = flip_cal_.guard;
  g = FlipGuard{};
  if (cfg_.guard_images == 0) return;
  const nn::Dataset& data = *cfg_.calibration_data;
  const size_t first = flip_cal_.images, last = first + cfg_.guard_images;  // after the calibration images
  if (last > data.count)
    throw Error(fmt::format("BinSparX static-data: the calibration set {} has {} images, fewer than the {} "
                            "calibration + {} guard images (the guard runs the images after the calibration ones)",
                            data.name, data.count, first, cfg_.guard_images));
  // Under exact sensing the guard reads what the choice modelled (the LUT, else ideal currents) on a
  // twin: the circuit solver on every guard image would cost more than the evaluation.
  std::unique_ptr<Simulator> twin;
  Simulator* sim = this;
  if (cfg_.sensing == Sensing::exact) {
    SimConfig t = cfg_;
    t.sensing = cfg_.array_lut ? Sensing::lut : Sensing::ideal;
    t.variation = netlist::VariationSpec{};
    t.binsparx.data_aware = false;  // static_flip stays set: the twin's maps take the flips below
    twin = std::make_unique<Simulator>(*net_, t);
    sim = twin.get();
  }
  // Exact reads (ideal currents, a converter exact on them): both choices predict what software
  // predicts, so there is nothing to guard.
  if (sim->fast_ideal_) {
    g.ideal_reads = true;
    return;
  }
  const auto use = [&](Simulator& s, bool chosen) {
    for (size_t l = 0; l < s.maps_.size(); ++l)
      if (s.maps_[l].tiles() > 0)
        s.maps_[l].set_flips(chosen ? flip_cal_.flips[l] : std::vector<uint8_t>(flip_cal_.flips[l].size(), 0));
  };
  constexpr size_t kBlock = 25;
  for (size_t b = first; b < last; b += kBlock) {
    const size_t e = std::min(b + kBlock, last);
    use(*sim, true);
    const auto with = sim->predict_keyed(data, b, e, kGuardKeys, cfg_.calibration_threads, nullptr);
    use(*sim, false);
    const auto without = sim->predict_keyed(data, b, e, kGuardKeys, cfg_.calibration_threads, nullptr);
    for (size_t i = 0; i < with.size(); ++i) {
      const int y = data.labels[b + i];
      const bool a = with[i] == y, n = without[i] == y;
      g.correct_chosen += a;
      g.correct_none += n;
      g.only_chosen += a && !n;
      g.only_none += n && !a;
    }
    g.images = e - first;
    const double lead = std::abs(double(g.only_chosen) - double(g.only_none));
    if (e < last && lead > 3 * std::sqrt(double(g.only_chosen + g.only_none))) {
      g.decided_early = true;
      break;
    }
  }
  g.kept = g.only_chosen >= g.only_none;
  use(*this, g.kept);
  reset_stats();  // the guard's reads are not part of any evaluation
}

void Simulator::map_layers() {
  const auto& layers = net_->layers();
  maps_.assign(layers.size(), LayerMapping{});
  slot_.assign(layers.size(), -1);
  stats_.resize(layers.size());
  int slot = 0;
  for (const auto& l : layers) {
    stats_[l.index].layer = l.index;
    if (!l.binary()) continue;
    maps_[l.index] = LayerMapping(l, cfg_.mapping, cfg_.rows, cfg_.binsparx.static_flip);
    slot_[l.index] = slot++;
  }
  if (slot == 0) throw Error(fmt::format("network {} has no binary layers to map", net_->architecture().name));
}

// A layer trained for stochastic conversion reads the converter's samples (2·ones − L per read).
// That is defined for the XNOR mapping, whose column current is the partial sum itself; the AND
// mapping's digital correction (−2·W+ − 2·X+ + n) cannot be applied to a nonlinear device output.
void Simulator::check_stochastic_layers() const {
  for (const auto& l : net_->layers()) {
    if (!l.stochastic_psum()) continue;
    if (conv_->sampling_length(slot_[l.index]) <= 0)
      throw Error(fmt::format("network {} was trained for stochastic partial-sum conversion (layer {} has psum "
                              "tensors); converter {} does not sample: use mtj:BUNDLE:L",
                              net_->architecture().name, l.index, conv_->name()));
    if (cfg_.mapping != Mapping::Xnor)
      throw Error(fmt::format("network {}: stochastic partial-sum conversion is defined for the XNOR mapping only "
                              "(layer {} has psum tensors)", net_->architecture().name, l.index));
  }
}

void Simulator::rebind(const nn::Network& net) {
  if (net.layers().size() != net_->layers().size())
    throw Error("crossbar simulator: rebind to a network of another architecture");
  // Data-aware flips are chosen once for fixed weights (seconds of calibration); following every
  // update of a trainer would repeat that per step.
  if (cfg_.binsparx.data_aware)
    throw Error("BinSparX static-data/both-data chooses its flips once for fixed weights and cannot follow "
                "training updates; train with --binsparx none or static");
  net_ = &net;
  map_layers();
  check_stochastic_layers();
  tabulate_sampling();
}

namespace {
// rng.uniform() < p, i.e. double(u >> 11) · 2^-53 < p for the generator's next output u, holds iff
// (u >> 11) < T with T = ceil(p · 2^53): the scaling by 2^53 is exact, and for an integer k,
// k < q <=> k < ceil(q). p >= 1 is always true (T = 2^53 > every k), p <= 0 or NaN never (T = 0).
uint64_t uniform_threshold(double p) {
  if (!(p > 0)) return 0;
  if (p >= 1) return uint64_t(1) << 53;
  return uint64_t(std::ceil(std::ldexp(p, 53)));
}
}  // namespace

void Simulator::tabulate_converter() {
  const int levels = conv_->step_levels();
  step_ok_ = false;
  step_kappa_.clear();
  if (levels <= 0 || !conv_->step_table() || !conv_->step_counts()) return;
  const size_t rows = conv_->step_table_rows();
  const double* table = conv_->step_table();
  step_ok_ = true;
  for (size_t r = 0; r < rows && step_ok_; ++r)
    step_ok_ = std::is_sorted(table + r * size_t(levels), table + (r + 1) * size_t(levels));
  if (!step_ok_ || cfg_.sensing != Sensing::ideal) return;
  // Ideal sensing reads c · I_cell for a count c <= rows: code = #{k : threshold_k <= c · I_cell} =
  // #{k : kappa_k <= c}, since c · I_cell is non-decreasing in c (rounding is monotone).
  const int cmax = cfg_.rows;
  step_kappa_.resize(rows * size_t(levels));
  for (size_t r = 0; r < rows; ++r)
    for (int k = 0; k < levels; ++k) {
      const double th = table[r * size_t(levels) + size_t(k)];
      int c = 0;
      while (c <= cmax && !(th <= c * cell_A_)) ++c;
      step_kappa_[r * size_t(levels) + size_t(k)] = uint16_t(c);  // cmax + 1: never reached
    }
}

void Simulator::tabulate_sampling() {
  sample_threshold_.assign(maps_.size(), {});
  if (cfg_.sensing != Sensing::ideal) return;
  for (const auto& l : net_->layers()) {
    if (!l.binary() || !l.stochastic_psum()) continue;
    const LayerMapping& M = maps_[l.index];
    const int cap = M.inputs_per_tile(), O = M.outputs();
    ConvertContext cc;
    cc.tile_capacity = cap;
    cc.layer_slot = slot_[l.index];
    cc.tile_columns = cfg_.cols;
    cc.chip = cfg_.chip;
    auto& th = sample_threshold_[l.index];
    th.resize(size_t(O) * size_t(cap + 1));
    for (int o = 0; o < O; ++o) {
      cc.psum_gain = l.psum_gain[size_t(o)];
      cc.psum_offset = l.psum_offset[size_t(o)];
      for (int c = 0; c <= cap; ++c)
        th[size_t(o) * size_t(cap + 1) + size_t(c)] = uniform_threshold(conv_->switch_probability(c * cell_A_, cc));
    }
  }
}

const Simulator::StepPlan& Simulator::step_plan(size_t layer_index, uint64_t chip) const {
  std::lock_guard<std::mutex> lock(plan_mutex_);
  auto& plan = step_plans_[{chip, layer_index}];
  if (!plan) {
    const LayerMapping& M = maps_[layer_index];
    auto r = std::make_unique<StepPlan>();
    ConvertContext cc;
    cc.tile_capacity = M.inputs_per_tile();
    cc.layer_slot = slot_[layer_index];
    cc.tile_columns = cfg_.cols;
    cc.chip = chip;
    for (int t = 0; t < M.tiles(); ++t)
      for (int o = 0; o < M.outputs(); ++o) {
        cc.max_count = M.max_count(t);
        cc.column = o % cfg_.cols;
        cc.column_group = o / cfg_.cols;
        cc.tile = t;
        r->row.push_back(uint32_t(conv_->step_row(cc)));
      }
    if (!step_kappa_.empty()) {
      const size_t levels = size_t(conv_->step_levels()), stride = size_t(kappa_stride());
      r->kappa.assign(r->row.size() * stride, 0x7fff);
      for (size_t i = 0; i < r->row.size(); ++i)
        std::copy_n(step_kappa_.data() + size_t(r->row[i]) * levels, levels, r->kappa.data() + i * stride);
    }
    plan = std::move(r);
  }
  return *plan;
}

namespace {
// #{k : kappa[k] <= c} over `stride` entries (a multiple of 8; padding 0x7fff never counts).
inline int count_at_most(const uint16_t* kappa, int stride, int c) {
#if defined(__SSE2__)
  const __m128i cv = _mm_set1_epi16(int16_t(c));
  int greater = 0;
  for (int k = 0; k < stride; k += 8) {
    const __m128i kv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kappa + k));
    greater += __builtin_popcount(unsigned(_mm_movemask_epi8(_mm_cmpgt_epi16(kv, cv))));  // 2 bits a lane
  }
  return stride - greater / 2;
#else
  int code = 0;
  for (int k = 0; k < stride; ++k) code += kappa[k] <= c;
  return code;
#endif
}
}  // namespace

double Simulator::output_scale(const nn::BinaryLayer& layer) const {
  if (!layer.stochastic_psum()) return 1.0;
  return 1.0 / double(conv_->sampling_length(slot_.at(layer.index)));
}

// Tile (t, group g) of a layer holds the stored columns g*C .. g*C + C - 1 of slice t; its devices are
// drawn once, with the weights as stored (a stored bit picks the ReRAM LRS or HRS sigma).
void Simulator::draw_chip() {
  const int R = cfg_.rows, C = cfg_.cols;
  chip_.assign(maps_.size(), {});
  for (size_t l = 0; l < maps_.size(); ++l) {
    const LayerMapping& m = maps_[l];
    if (m.tiles() == 0) continue;
    const int O = m.outputs(), groups = (O + C - 1) / C;
    for (int t = 0; t < m.tiles(); ++t)
      for (int g = 0; g < groups; ++g) {
        netlist::Crossbar x = tile_;
        const int cg = std::min(C, O - g * C);
        x.cols = cg;
        x.weights.assign(size_t(R) * size_t(cg), 0);
        for (int j = 0; j < cg; ++j) {
          const uint64_t* s = m.stored(t, g * C + j);
          for (int r = 0; r < R; ++r) x.weights[size_t(r) * size_t(cg) + size_t(j)] = uint8_t((s[r / 64] >> (r % 64)) & 1);
        }
        auto spec = cfg_.variation;
        spec.seed = derive_seed(cfg_.variation.seed, derive_seed(l, uint64_t(t) * uint64_t(groups) + uint64_t(g)));
        netlist::draw_variation(x, spec);
        chip_[l].push_back(std::move(x.variation));
      }
  }
}

void Simulator::sense_exact(size_t layer, const LayerMapping& m, int t, const uint64_t* active, double* currents) const {
  const int R = cfg_.rows, C = cfg_.cols, O = m.outputs();
  const int groups = (O + C - 1) / C;
  circuit::SolveOptions opt;
  opt.threads = 1;  // parallelism is across images
  netlist::Crossbar x = tile_;
  for (int r = 0; r < R; ++r) x.inputs[size_t(r)] = uint8_t((active[r / 64] >> (r % 64)) & 1);
  for (int g = 0; g < O; g += C) {
    const int cg = std::min(C, O - g);
    x.cols = cg;
    x.weights.assign(size_t(R) * size_t(cg), 0);
    for (int j = 0; j < cg; ++j) {
      const uint64_t* s = m.stored(t, g + j);
      for (int r = 0; r < R; ++r) x.weights[size_t(r) * size_t(cg) + size_t(j)] = uint8_t((s[r / 64] >> (r % 64)) & 1);
    }
    if (!chip_.empty()) x.variation = chip_[layer][size_t(t) * size_t(groups) + size_t(g / C)];
    const auto sol = circuit::solve_crossbar(x, opt);
    for (int j = 0; j < cg; ++j) currents[g + j] = sol.column_current_A[size_t(j)];
  }
}

void Simulator::matmul(const nn::BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out) const {
  const uint64_t key = t_ctx.sim == this ? t_ctx.image : hash_inputs(inputs, positions * size_t(layer.fan_in));
  matmul_impl(layer, inputs, positions, out, key, cfg_.chip);
}

void Simulator::matmul_keyed(const nn::BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out,
                             uint64_t key) const {
  matmul_impl(layer, inputs, positions, out, key, cfg_.chip);
}

void Simulator::matmul_keyed(const nn::BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out,
                             uint64_t key, uint64_t chip, int16_t* tile_psums) const {
  matmul_impl(layer, inputs, positions, out, key, chip, tile_psums);
}

// The column loop, built with and without the popcnt instruction (chosen at load time).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("popcnt", "default")))
#endif
void Simulator::matmul_impl(const nn::BinaryLayer& layer, const int8_t* inputs, size_t positions, int32_t* out,
                            uint64_t key, uint64_t chip, int16_t* tile_psums) const {
  if (layer.index >= maps_.size() || maps_[layer.index].tiles() == 0)
    throw Error(fmt::format("crossbar simulator: layer {} is not a binary layer of network {}", layer.index,
                            net_->architecture().name));
  if (net_->stochastic_psum() && !layer.stochastic_psum()) {
    if (tile_psums)
      throw Error(fmt::format("crossbar simulator: layer {} is digital in a stochastic network: no tile partial sums",
                              layer.index));
    // In a network trained for stochastic conversion, binary layers without a psum affine (its
    // output layer) are digital, as in StoX-Net: computed exactly, not on a crossbar.
    nn::ideal_matmul(layer, inputs, positions, out);
    return;
  }
  const LayerMapping& M = maps_[layer.index];
  const int T = M.tiles(), O = M.outputs(), W = M.words(), N = M.fan_in();
  if (tile_psums && M.inputs_per_tile() > 32767)
    throw Error(fmt::format("crossbar simulator: {} inputs per tile overflow int16 tile partial sums", M.inputs_per_tile()));
  const bool flips = cfg_.binsparx.static_flip || cfg_.binsparx.dynamic_flip;
  thread_local Buffers b;
  b.active.resize(size_t(T) * size_t(W));
  b.plain.resize(size_t(T) * size_t(W));
  b.xplus.resize(size_t(T));
  b.active_rows.resize(size_t(T));
  b.xflip.resize(size_t(T));
  b.z.resize(size_t(O));
  b.zi.resize(size_t(O));
  if (cfg_.sensing == Sensing::exact) b.currents.resize(size_t(T) * size_t(O));

  Rng rng(cfg_.seed, derive_seed(key, layer.index));
  ConvertContext cc;
  cc.tile_capacity = M.inputs_per_tile();
  cc.layer_slot = slot_[layer.index];
  cc.tile_columns = cfg_.cols;
  cc.chip = chip;
  const bool sampled = layer.stochastic_psum();
  const int L = sampled ? conv_->sampling_length(cc.layer_slot) : 0;
  // How a read's count becomes a partial sum: table paths where the converter's per-read work is a
  // fixed function of (column, count), else the converter itself (every path draws the same numbers).
  enum class Path { exact, sampled_table, step_counts, step_current, generic };
  Path path = Path::generic;
  const uint64_t* sample_th = nullptr;
  const uint32_t* row_of = nullptr;
  const uint16_t* kappa_of = nullptr;
  const int kstride = kappa_stride();
  const int levels = conv_->step_levels();
  const double* step_table = conv_->step_table();
  const int* step_counts = conv_->step_counts();
  const int cap1 = M.inputs_per_tile() + 1;
  if (sampled) {
    if (!sample_threshold_[layer.index].empty()) {
      path = Path::sampled_table;
      sample_th = sample_threshold_[layer.index].data();
    }
  } else if (fast_ideal_) {
    path = Path::exact;
  } else if (step_ok_) {
    path = step_kappa_.empty() ? Path::step_current : Path::step_counts;
    const StepPlan& plan = step_plan(layer.index, chip);
    row_of = plan.row.data();
    kappa_of = plan.kappa.data();
  }
  LayerStats st;
  uint64_t cond[64];

  for (size_t p = 0; p < positions; ++p) {
    const int8_t* x = inputs + p * size_t(N);
    for (int t = 0; t < T; ++t) {
      uint64_t* a = b.active.data() + size_t(t) * size_t(W);
      const auto d = M.drive(x, t, cfg_.binsparx.dynamic_flip, a);
      const bool flip = d.flipped;
      b.xplus[size_t(t)] = d.x_plus;
      b.xflip[size_t(t)] = flip;
      if (flips) M.activate(x, t, false, b.plain.data() + size_t(t) * size_t(W));
      int rows_on = 0;
      for (int w = 0; w < W; ++w) rows_on += __builtin_popcountll(a[w]);
      b.active_rows[size_t(t)] = rows_on;
      st.dynamic_flipped += flip;
      ++st.slices;
      if (cfg_.sensing == Sensing::exact) sense_exact(layer.index, M, t, a, b.currents.data() + size_t(t) * size_t(O));
    }
    std::fill(b.z.begin(), b.z.end(), 0);
    std::fill(b.zi.begin(), b.zi.end(), 0);
    // Stochastic conversion without BinSparX (what StoX-Net training reads): a tile's columns in one
    // tight loop, the statistics summed per tile. The same draws in the same order and the same
    // statistics as the general loop below (no flips: every sign is +1).
    for (int t = 0; path == Path::sampled_table && !flips && t < T; ++t) {
      const uint64_t* a = b.active.data() + size_t(t) * size_t(W);
      const uint64_t* s = M.stored(t, 0);
      const int xp = b.xplus[size_t(t)];
      int64_t conducting = 0;
      for (int o = 0; o < O; ++o, s += W) {
        const int c = popcount_and(s, a, W);
        const uint64_t th = sample_th[size_t(o) * size_t(cap1) + size_t(c)];
        int ones = 0;
        for (int i = 0; i < L; ++i) ones += (rng() >> 11) < th;
        b.z[size_t(o)] += 2 * ones - L;
        const int ps_true = M.partial_sum(t, o, c, xp);
        b.zi[size_t(o)] += ps_true;
        if (tile_psums) tile_psums[(size_t(t) * size_t(O) + size_t(o)) * positions + p] = int16_t(ps_true);
        conducting += c;
      }
      st.reads += O;
      st.conducting += conducting;
      st.conducting_plain += conducting;
      st.cells += int64_t(M.rows_used(t)) * O;
      st.weights += int64_t(M.slice_size(t)) * O;
    }
    for (int t = 0; !(path == Path::sampled_table && !flips) && t < T; ++t) {
      const uint64_t* a = b.active.data() + size_t(t) * size_t(W);
      const uint64_t* ap = b.plain.data() + size_t(t) * size_t(W);
      const int n = M.slice_size(t), used = M.rows_used(t), xp = b.xplus[size_t(t)];
      const bool xf = b.xflip[size_t(t)];
      cc.max_count = M.max_count(t);
      for (int o = 0; o < O; ++o) {
        const uint64_t* s = M.stored(t, o);
        int c = 0;
        for (int w = 0; w < W; ++w) {
          cond[w] = s[w] & a[w];
          c += __builtin_popcountll(cond[w]);
        }
        // Sensed current of the read (only what the converter needs).
        auto current = [&] {
          if (cfg_.sensing == Sensing::ideal) return c * cell_A_;
          if (cfg_.sensing == Sensing::exact) return b.currents[size_t(t) * size_t(O) + size_t(o)];
          return lut_->current(cond, cfg_.rows, c, cfg_.cols, o % cfg_.cols, b.active_rows[size_t(t)], cfg_.lut_noise, rng);
        };
        const bool sf = M.flipped(t, o);
        const int sign = sf != xf ? -1 : 1;
        const int ps_true = M.partial_sum(t, o, c, xp);
        int ps = ps_true;
        switch (path) {
          case Path::exact: break;
          case Path::sampled_table: {  // = sample_ones(c · I_cell): L draws against the tabulated P_sw
            const uint64_t th = sample_th[size_t(o) * size_t(cap1) + size_t(c)];
            int ones = 0;
            for (int i = 0; i < L; ++i) ones += (rng() >> 11) < th;
            ps = 2 * ones - L;
            break;
          }
          case Path::step_counts: {  // = count(c · I_cell): thresholds in units of conducting cells
            const int code = count_at_most(kappa_of + (size_t(t) * size_t(O) + size_t(o)) * size_t(kstride), kstride, c);
            const int chat = std::min(cc.max_count, step_counts[code]);
            if (chat != c) ps = M.partial_sum(t, o, chat, xp);
            break;
          }
          case Path::step_current: {  // = count(current): the column's thresholds, resolved once
            const double I = current();
            const double* th = step_table + size_t(row_of[size_t(t) * size_t(O) + size_t(o)]) * size_t(levels);
            const int code = int(std::upper_bound(th, th + levels, I) - th);
            const int chat = std::min(cc.max_count, step_counts[code]);
            if (chat != c) ps = M.partial_sum(t, o, chat, xp);
            break;
          }
          case Path::generic:
            cc.column = o % cfg_.cols;
            cc.column_group = o / cfg_.cols;
            cc.tile = t;
            if (sampled) {
              // Trained for stochastic conversion: the read's output is the sum of its L ±1 samples.
              cc.psum_gain = layer.psum_gain[size_t(o)];
              cc.psum_offset = layer.psum_offset[size_t(o)];
              ps = 2 * conv_->sample_ones(current(), cc, rng) - L;
            } else {
              const int chat = conv_->count(current(), cc, rng);
              if (chat != c) ps = M.partial_sum(t, o, chat, xp);
            }
            break;
        }
        b.z[size_t(o)] += sign * ps;
        b.zi[size_t(o)] += sign * ps_true;
        if (tile_psums) tile_psums[(size_t(t) * size_t(O) + size_t(o)) * positions + p] = int16_t(sign * ps_true);
        ++st.reads;
        st.conducting += c;
        st.conducting_plain += flips ? popcount_and(M.stored_plain(t, o), ap, W) : c;
        st.cells += used;
        st.weights += n;
        st.static_flipped += sf;
        st.reads_negated += sign < 0;
        if (!sampled) {
          st.ps_error_sum += int64_t(ps) - ps_true;
          if (sign < 0) st.ps_error_sum_negated += int64_t(ps) - ps_true;
        }
        if (!sampled && ps != ps_true) {  // sampled outputs are in other units: no count error
          const int64_t e = std::abs(int64_t(ps) - ps_true);
          ++st.ps_wrong;
          st.ps_error_abs += e;
          st.ps_error_sq += e * e;
          st.ps_error_max = std::max(st.ps_error_max, e);
        }
      }
    }
    int32_t* zo = out + p * size_t(O);
    for (int o = 0; o < O; ++o) {
      zo[o] = int32_t(b.z[size_t(o)]);
      ++st.outputs;
      st.z_error_sum += b.z[size_t(o)] - b.zi[size_t(o)];
      st.z_error_sq += (b.z[size_t(o)] - b.zi[size_t(o)]) * (b.z[size_t(o)] - b.zi[size_t(o)]);
      if (b.z[size_t(o)] != b.zi[size_t(o)]) {
        ++st.z_wrong;
        st.z_error_abs += std::abs(b.z[size_t(o)] - b.zi[size_t(o)]);
      }
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  stats_[layer.index].add(st);
}

std::vector<int> Simulator::predict_all(const nn::Dataset& data, size_t n, unsigned threads,
                                       ProgressReporter* progress) const {
  if (n == 0 || n > data.count) n = data.count;
  return predict_range(data, 0, n, threads, progress);
}

std::vector<int> Simulator::predict_range(const nn::Dataset& data, size_t first, size_t last, unsigned threads,
                                         ProgressReporter* progress) const {
  return predict_keyed(data, first, last, 0, threads, progress);
}

// Image i draws from key key_base + i.
std::vector<int> Simulator::predict_keyed(const nn::Dataset& data, size_t first, size_t last, uint64_t key_base,
                                          unsigned threads, ProgressReporter* progress) const {
  last = std::min(last, data.count);
  first = std::min(first, last);
  std::vector<int> pred(last - first);
  parallel_for(
      pred.size(), threads,
      [&](size_t i) {
        const size_t image = first + i;
        struct Scope {
          explicit Scope(const void* sim, uint64_t image) { t_ctx = {sim, image}; }
          ~Scope() { t_ctx = {}; }
        } scope(this, key_base + image);
        pred[i] = net_->predict(data.image(image), this);
        if (progress) progress->advance();
      },
      // Chunks of up to 8 images, at least 4 per thread: short ranges (the guard's blocks of 25, the
      // main job's first stage) would otherwise leave a thread idle for most of a chunk.
      std::clamp<size_t>(pred.size() / (4 * size_t(threads ? threads : default_threads())), 1, 8));
  return pred;
}

nn::Network Simulator::recalibrate_batch_norm(const nn::Dataset& data, size_t n, unsigned threads) const {
  if (n == 0 || n > data.count) n = data.count;
  // Calibration reads are keyed 2^62 + i: never an image index of predict_all (test sets are far
  // smaller), so the draws that set the statistics are not the draws that are then evaluated.
  constexpr uint64_t kCalibrationKeys = uint64_t(1) << 62;
  nn::Network current = *net_;
  const auto stats_before = stats();
  for (const auto& L : net_->layers()) {
    if (!L.binary()) continue;
    const size_t O = size_t(L.out_channels);
    std::vector<std::vector<double>> sum(n), sum_sq(n);
    std::vector<double> count(n, 0.0);
    parallel_for(
        n, threads,
        [&](size_t i) {
          struct Scope {
            explicit Scope(const void* sim, uint64_t image) { t_ctx = {sim, image}; }
            ~Scope() { t_ctx = {}; }
          } scope(this, kCalibrationKeys + i);
          current.accumulate_bn_input(data.image(i), this, L.index, sum[i], sum_sq[i], count[i]);
        },
        8);
    std::vector<double> mean(O, 0.0), var(O, 0.0), sq(O, 0.0);
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      total += count[i];
      for (size_t o = 0; o < O; ++o) {
        mean[o] += sum[i][o];
        sq[o] += sum_sq[i][o];
      }
    }
    if (!(total > 0)) throw InputError(data.name, "", "no calibration images for the batch-norm recalibration");
    for (size_t o = 0; o < O; ++o) {
      mean[o] /= total;
      var[o] = std::max(0.0, sq[o] / total - mean[o] * mean[o]);  // population variance (a trainer's running one)
    }
    current = current.with_bn_statistics(L.index, mean, var);
  }
  // The calibration reads are not part of any evaluation's statistics.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t k = 0;
    for (const auto& l : net_->layers())
      if (l.binary()) stats_[l.index] = stats_before[k++];
  }
  return current;
}

std::vector<LayerStats> Simulator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<LayerStats> out;
  for (const auto& l : net_->layers())
    if (l.binary()) out.push_back(stats_[l.index]);
  return out;
}

LayerStats Simulator::total_stats() const {
  LayerStats t;
  for (const auto& s : stats()) t.add(s);
  return t;
}

void Simulator::reset_stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : stats_) {
    const size_t l = s.layer;
    s = LayerStats{};
    s.layer = l;
  }
}

}  // namespace xbarkit::imc
