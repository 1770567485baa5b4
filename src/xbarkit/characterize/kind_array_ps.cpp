// Characterization kind "array_ps": the partial-sum transfer of crossbar columns, as LUTs of the
// sensed column current's distribution, with a built-in held-out check against the native solver
// and a smaller check against ngspice.
//
//   [array_ps]
//   tech = "7nm"                      # technology (models/tech/<name>.toml or a path)
//   cells = ["sram8t", "rram1t1r"]    # sram8t | rram1t1r | passive
//   rows = [64, 128]                  # array sizes (rows; a column's cells)
//   cols = 64                         # columns per simulated array (each column is one sample);
//                                     # default = rows. Only passive arrays couple columns.
//   wire_scale = [0.5, 1.0, 2.0]      # multiplies every wire resistance of the tech defaults
//   patterns = 200                    # Monte-Carlo training arrays per configuration
//   holdout_patterns = 40             # fresh arrays for the held-out check (never used to fit)
//   patterns_per_point = 10           # arrays per journal point
//   input_density = [0.05, 0.95]      # range of the per-array input density (lo, hi; one value = fixed)
//   weight_density = [0.05, 0.95]     # range of the per-column weight density
//   gradient = 0.5                    # max tilt of those densities from top to bottom row
//   axes = ["k", "q"]                 # table axes (lut::axis_names()); default: the cell kind's, per
//                                     # topology: sram8t (k, q), rram1t1r (k, q, hrs), passive
//                                     # (k, column, activity)
//   grid_points = 11                  # grid points on [0, 1] for q / z / column / activity
//   hrs_points = 6                    # grid points on [0, 1] for hrs
//   k_step = 1                        # spacing of the k axis
//   min_samples = 24                  # effective samples per node before the kernel widens
//   corners = ["tt", "ss", "ff"]      # global corners of the technology ([corners.<name>]): one
//                                     # table per corner (default: none, the nominal technology)
//   [array_ps.variation]              # optional device mismatch (netlist/variation.hpp keys:
//   scale = 1.0                       # enabled, avt_mV_um, sigma_ln_lrs, sigma_ln_hrs, scale, seed,
//   seed = 7                          # corner); every pattern array gets a fresh draw
//   [array_ps.spice_check]            # optional: ngspice on fresh patterns for some configurations
//   rows = 64                         # configurations with this many rows ...
//   cells = ["sram8t"]                # ... of these cell kinds (default: all)
//   wire_scale = [1.0]                # ... and these scales (default: all)
//   patterns = 20                     # arrays per configuration, one ngspice worker job each
//
// Why (k, q) for sram8t and rram1t1r: their wordlines drive only gates, which draw no DC current, so
// columns do not couple and a column's current is a function of its own set of conducting rows. In
// an ideal array that function is k * I_cell. With wire resistance, rail segment s carries the
// currents of the N(s) conducting cells beyond it; to first order in the wire resistance the lost
// current is proportional to sum_s N(s)^2 over both rails (weighted by their resistances), which is
// what q measures, normalized per k (lut/array_ps.hpp). k alone leaves the placement of the cells as
// noise: wide bands at large k. The centroid z (also available) captures only the linear part of
// the placement dependence. The held-out check in every bundle shows what the axes achieve, and
// docs/VALIDATION.md compares the choices. rram1t1r adds hrs: a stored 0 is an HRS ReRAM that still
// conducts (~1/8 of LRS) when its row is active, so the column current also counts those cells.
// For passive arrays rows carry current, so the column's
// position and the tile's row activity enter: (k, column, activity).
//
// Variation and corners. With [array_ps.variation] every Monte-Carlo array (anchors, training,
// held-out and SPICE patterns alike) gets its own fresh mismatch draw, from a stream named after the
// pattern: a pattern is a new piece of silicon, so a table's spread is over placements AND devices,
// i.e. over chips, and the held-out check sees devices the fit never saw. Draw streams do not depend on
// the corner, so the corners' tables see the same patterns and the same local mismatch, and differ
// only by the corner. Corners are separate tables (attribute `corner`, table name suffix `_<corner>`),
// not an axis: a corner is a discrete global condition of a whole chip (supply, temperature and global
// Vt move together), there is nothing meaningful between tt and ss to interpolate, and an inference
// run reads one chip at one corner (`xbarkit infer --corner`).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/characterize/array_model.hpp"
#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/netlist/variation.hpp"
#include "xbarkit/spice/crossbar_op.hpp"

namespace xbarkit::characterize {
namespace {

struct Config {
  std::string name;  // table name
  std::string base;  // name without the corner: pattern and mismatch streams (shared by the corners)
  std::string corner;  // empty: the nominal technology
  const netlist::Cell* cell = nullptr;
  int rows = 0, cols = 0;
  double wire_scale = 1;
  bool spice_check = false;
};

enum class Set { anchors, train, holdout, spice };
const char* set_name(Set s) {
  switch (s) {
    case Set::anchors: return "anchors";
    case Set::train: return "train";
    case Set::holdout: return "holdout";
    case Set::spice: return "spice";
  }
  return "?";
}

struct PointInfo {
  size_t config;
  Set set;
  int first = 0, count = 0;  // patterns [first, first + count)
};

uint64_t stream_of(const std::string& s) {
  const auto h = sha256_hex(s);
  return std::stoull(h.substr(0, 16), nullptr, 16);
}

double round_sig(double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::abs(v)))));
  return std::round(v * scale) / scale;
}

std::string scale_name(double s) {
  std::string t = fmt::format("{:g}", s);
  std::replace(t.begin(), t.end(), '.', 'p');
  return t;
}

class ArrayPsKind : public Kind {
public:
  ArrayPsKind(const Recipe& recipe, const TomlSection& s) : seed_(recipe.seed) {
    tech_ = netlist::load_technology(s.string("tech").value_or("7nm"), recipe.base_dir);
    const auto cells = s.string_array("cells").value_or(std::vector<std::string>{"sram8t"});
    std::vector<const netlist::Cell*> kinds;
    for (const auto& c : cells) {
      const netlist::Cell* k = netlist::find_cell(c);
      if (!k) throw s.error("cells", fmt::format("unknown cell kind '{}' ({})", c, netlist::cell_names()));
      if (!tech_.arrays.count(c)) throw s.error("cells", fmt::format("the technology has no [{}] table", c));
      kinds.push_back(k);
    }
    if (kinds.empty()) throw s.error("cells", "needs at least one cell kind");
    auto rows = integer_list(s, "rows");
    if (rows.empty()) throw s.error("rows", "missing required key (array rows, e.g. [64, 128])");
    for (auto r : rows)
      if (r < 2 || r > 4096) throw s.error("rows", fmt::format("{} is outside [2, 4096]", r));
    const auto cols_opt = s.integer("cols");
    if (cols_opt && (*cols_opt < 1 || *cols_opt > 4096)) throw s.error("cols", "must be in [1, 4096]");
    const auto scales = require_increasing(s, "wire_scale", s.number_array("wire_scale").value_or(std::vector<double>{1.0}));
    for (double w : scales)
      if (!(w >= 0)) throw s.error("wire_scale", fmt::format("{} is negative", w));
    auto positive = [&](const char* key, int64_t dflt, int64_t lo) {
      const auto v = s.integer(key).value_or(dflt);
      if (v < lo) throw s.error(key, fmt::format("must be >= {}, got {}", lo, v));
      if (v > 1'000'000) throw s.error(key, fmt::format("must be <= 1000000, got {}", v));  // before narrowing to int
      return static_cast<int>(v);
    };
    patterns_ = positive("patterns", 200, 1);
    holdout_ = positive("holdout_patterns", 40, 0);
    per_point_ = positive("patterns_per_point", 10, 1);
    grid_points_ = positive("grid_points", 11, 2);
    k_step_ = positive("k_step", 1, 1);
    hrs_points_ = positive("hrs_points", 6, 2);
    min_samples_ = positive("min_samples", 24, 1);
    auto range = [&](const char* key, double lo, double hi) -> std::pair<double, double> {
      if (!s.has(key)) return {lo, hi};
      const auto v = s.number_array(key).value_or(std::vector<double>{});
      if (v.empty() || v.size() > 2) throw s.error(key, "expected [lo, hi] or one value");
      const double a = v.front(), b = v.back();
      if (!(a >= 0 && b <= 1 && a <= b)) throw s.error(key, fmt::format("must satisfy 0 <= lo <= hi <= 1, got [{}, {}]", a, b));
      return {a, b};
    };
    std::tie(stats_.input_lo, stats_.input_hi) = range("input_density", 0.05, 0.95);
    std::tie(stats_.weight_lo, stats_.weight_hi) = range("weight_density", 0.05, 0.95);
    stats_.gradient = s.number("gradient").value_or(0.5);
    if (!(stats_.gradient >= 0 && stats_.gradient <= 2)) throw s.error("gradient", "must be in [0, 2]");
    axes_override_ = s.string_array("axes").value_or(std::vector<std::string>{});
    for (const auto& a : axes_override_)
      if (!lut::parse_axis(a)) throw s.error("axes", fmt::format("unknown axis '{}' ({})", a, lut::axis_names()));
    if (!axes_override_.empty() && std::find(axes_override_.begin(), axes_override_.end(), "k") == axes_override_.end())
      throw s.error("axes", "must include k (the ideal partial sum)");

    int spice_rows = -1, spice_patterns = 20;
    std::vector<std::string> spice_cells;
    std::vector<double> spice_scales;
    if (auto sc = s.table("spice_check")) {
      const auto sr = sc->require_integer("rows");
      if (sr < 2 || sr > 4096) throw sc->error("rows", fmt::format("{} is outside [2, 4096]", sr));
      spice_rows = static_cast<int>(sr);
      spice_patterns = static_cast<int>(sc->integer_in("patterns", 20, 1, 100000));
      spice_cells = sc->string_array("cells").value_or(std::vector<std::string>{});
      spice_scales = sc->number_array("wire_scale").value_or(std::vector<double>{});
      sc->reject_unknown_keys();
      if (std::find(rows.begin(), rows.end(), spice_rows) == rows.end())
        throw sc->error("rows", fmt::format("{} is not one of the recipe's rows", spice_rows));
    }
    spice_patterns_ = spice_patterns;

    if (auto v = s.table("variation")) variation_ = netlist::read_variation(*v, tech_);
    auto corners = s.string_array("corners").value_or(std::vector<std::string>{});
    if (!variation_.corner.empty()) {
      if (!corners.empty())
        throw s.error("corners", "give the corners here or as [array_ps.variation] corner, not both");
      corners = {variation_.corner};
    }
    for (size_t a = 0; a < corners.size(); ++a) {
      if (!tech_.corners.count(corners[a])) {
        std::string known;
        for (const auto& [n, c] : tech_.corners) known += (known.empty() ? "" : ", ") + n;
        throw s.error("corners", fmt::format("unknown corner '{}' (technology {} has: {})", corners[a],
                                             tech_.file.string(), known.empty() ? "none" : known));
      }
      if (std::count(corners.begin(), corners.begin() + static_cast<long>(a), corners[a]))
        throw s.error("corners", fmt::format("corner '{}' is listed twice", corners[a]));
    }
    if (corners.empty()) corners = {""};

    for (auto kind : kinds)
      for (auto r : rows)
        for (double w : scales)
          for (const auto& corner : corners) {
            Config c;
            c.cell = kind;
            c.rows = static_cast<int>(r);
            c.cols = cols_opt ? static_cast<int>(*cols_opt) : c.rows;
            c.wire_scale = w;
            c.base = fmt::format("{}_r{}_w{}", kind->name(), r, scale_name(w));
            c.corner = corner;
            c.name = corner.empty() ? c.base : c.base + "_" + corner;
            c.spice_check = spice_rows == c.rows &&
                            (spice_cells.empty() || std::count(spice_cells.begin(), spice_cells.end(), kind->name())) &&
                            (spice_scales.empty() || std::count(spice_scales.begin(), spice_scales.end(), w));
            configs_.push_back(c);
            // A sigma that makes devices unphysical is refused now, not point by point.
            if (variation_.enabled) {
              auto x = array_of(c);
              netlist::draw_variation(x, variation_);
            }
          }
    for (size_t ci = 0; ci < configs_.size(); ++ci) {
      const auto& c = configs_[ci];
      auto add = [&](Set set, int total, int per) {
        for (int p = 0; p < total; p += per) {
          const int n = std::min(per, total - p);
          infos_.push_back({ci, set, p, n});
          Point pt;
          pt.id = fmt::format("{}/{}/{}", c.name, set_name(set), p / per);
          pt.engine = set == Set::spice ? Point::Engine::spice : Point::Engine::thread;
          points_.push_back(pt);
        }
      };
      if (c.cell->topology() == netlist::Topology::column_ladder) add(Set::anchors, anchor_count(c.rows, c.cols), per_point_);
      add(Set::train, patterns_, per_point_);
      add(Set::holdout, holdout_, per_point_);
      if (c.spice_check) add(Set::spice, spice_patterns_, 1);
    }
  }

  const std::vector<Point>& points() const override { return points_; }
  std::string engine() const override {
    return "native solver (circuit::solve_crossbar) for the Monte-Carlo samples; ngspice worker processes for the "
           "spice_check";
  }
  std::vector<std::filesystem::path> model_files() const override {
    std::vector<std::filesystem::path> f{tech_.file};
    if (!tech_.finfet_spice_lib.empty()) f.push_back(tech_.finfet_spice_lib);
    if (!tech_.reram_spice_lib.empty()) f.push_back(tech_.reram_spice_lib);
    return f;
  }

  // The nominal array of a configuration: its wires and its corner, identical devices.
  netlist::Crossbar array_of(const Config& c) const {
    auto x = netlist::make_crossbar(tech_, c.cell->name(), c.rows, c.cols);
    netlist::scale_wires(x, c.wire_scale);
    netlist::apply_corner(x, tech_, c.corner);
    return x;
  }

  // Pattern `p` of a set: anchors are deterministic; the others draw from their own RNG stream. With
  // variation the array's devices get a fresh draw of their own stream (the same for every corner).
  netlist::Crossbar pattern(const Config& c, Set set, int p) const {
    auto x = array_of(c);
    const std::string id = fmt::format("{}/{}/{}", c.base, set_name(set), p);
    if (set == Set::anchors) {
      anchor_pattern(x, p);
    } else {
      Rng rng(seed_, stream_of(id));
      generate_pattern(x, stats_, rng);
    }
    if (variation_.enabled) {
      auto spec = variation_;
      spec.seed = derive_seed(derive_seed(seed_, variation_.seed), stream_of(id + "/variation"));
      netlist::draw_variation(x, spec);  // after the pattern: a stored bit picks the LRS or HRS sigma
    }
    return x;
  }

  static nlohmann::json encode(const netlist::Crossbar& x, const std::vector<double>& currents) {
    const auto samples = column_samples(x, currents);
    nlohmann::json k = nlohmann::json::array(), s = nlohmann::json::array(), lt = nlohmann::json::array(),
                   lb = nlohmann::json::array(), i = nlohmann::json::array();
    for (const auto& c : samples) {
      k.push_back(c.f.k);
      s.push_back(c.f.sum_distance);
      lt.push_back(c.f.load_top);
      lb.push_back(c.f.load_bottom);
      i.push_back(round_sig(c.current_A, 10));  // far below solver accuracy; keeps the journal compact
    }
    return {{"a", samples.empty() ? 0 : samples[0].f.active_rows}, {"k", k}, {"s", s}, {"lt", lt}, {"lb", lb}, {"i", i}};
  }

  static void decode(const Config& c, const nlohmann::json& pattern, std::vector<ColumnSample>& out) {
    const auto& k = pattern.at("k");
    const auto& s = pattern.at("s");
    const auto& lt = pattern.at("lt");
    const auto& lb = pattern.at("lb");
    const auto& i = pattern.at("i");
    const int a = pattern.at("a").get<int>();
    for (size_t j = 0; j < k.size(); ++j) {
      ColumnSample cs;
      cs.f.rows = c.rows;
      cs.f.cols = c.cols;
      cs.f.column = static_cast<int>(j);
      cs.f.k = k[j].get<int>();
      cs.f.active_rows = a;
      cs.f.sum_distance = s[j].get<long long>();
      cs.f.load_top = lt[j].get<long long>();
      cs.f.load_bottom = lb[j].get<long long>();
      cs.current_A = i[j].get<double>();
      out.push_back(cs);
    }
  }

  nlohmann::json run(size_t i) const override {
    const auto& info = infos_.at(i);
    const auto& c = configs_[info.config];
    circuit::SolveOptions opt;
    opt.threads = 1;  // parallelism is across sweep points
    nlohmann::json patterns = nlohmann::json::array();
    for (int p = info.first; p < info.first + info.count; ++p) {
      const auto x = pattern(c, info.set, p);
      patterns.push_back(encode(x, circuit::solve_crossbar(x, opt).column_current_A));
    }
    return {{"patterns", patterns}};
  }

  spice::SpiceJob spice_job(size_t i) const override {
    const auto& info = infos_.at(i);
    return spice::crossbar_job(pattern(configs_[info.config], info.set, info.first));
  }

  nlohmann::json decode_spice(size_t i, const spice::SpiceJobResult& result) const override {
    const auto& info = infos_.at(i);
    const auto x = pattern(configs_[info.config], info.set, info.first);
    const auto op = spice::decode_crossbar_result(x, result);
    auto j = encode(x, op.column_current_A);
    j["elapsed_s"] = round_sig(op.elapsed_s, 4);
    return {{"patterns", nlohmann::json::array({j})}};
  }

  std::vector<std::string> axes_for(const Config& c) const {
    if (!axes_override_.empty()) return axes_override_;
    return c.cell->default_array_ps_axes();
  }

  lut::Bundle assemble(const std::vector<PointResult>& results) const override {
    lut::Bundle b;
    nlohmann::json configs = nlohmann::json::array();
    double worst_nrmse = 0, worst_cov = 1, worst_spice_cov = 1, worst_spice_nrmse = 0;
    bool any_spice = false;
    for (size_t ci = 0; ci < configs_.size(); ++ci) {
      const auto& c = configs_[ci];
      std::vector<ColumnSample> fit_samples, train, holdout, spice;
      size_t failed = 0;
      double spice_seconds = 0;
      for (size_t pi = 0; pi < points_.size(); ++pi) {
        if (infos_[pi].config != ci) continue;
        if (!results[pi].ok) {
          ++failed;
          continue;
        }
        for (const auto& pat : results[pi].data.at("patterns")) {
          switch (infos_[pi].set) {
            case Set::anchors: decode(c, pat, fit_samples); break;
            case Set::train:
              decode(c, pat, fit_samples);
              decode(c, pat, train);
              break;
            case Set::holdout: decode(c, pat, holdout); break;
            case Set::spice:
              decode(c, pat, spice);
              spice_seconds += pat.value("elapsed_s", 0.0);
              break;
          }
        }
      }
      const auto x0 = array_of(c);
      const double ideal_cell = circuit::isolated_cell_current(x0, true, true);
      const double ideal_off_cell = circuit::isolated_cell_current(x0, true, false);
      ArrayTableSpec spec;
      spec.name = c.name;
      spec.rows = c.rows;
      spec.cols = c.cols;
      spec.axes = axes_for(c);
      const auto cell_rails = c.cell->rail_load_weights(x0);
      const lut::RailWeights rails{cell_rails.top, cell_rails.bottom};
      spec.rails = rails;
      spec.min_effective_samples = min_samples_;
      for (const auto& a : spec.axes) {
        std::vector<double> p;
        if (a == "k") {
          for (int k = 0; k < c.rows; k += k_step_) p.push_back(k);
          p.push_back(c.rows);
        } else {
          const int n = a == "hrs" ? hrs_points_ : grid_points_;
          for (int g = 0; g < n; ++g) p.push_back(static_cast<double>(g) / (n - 1));
        }
        spec.points.push_back(p);
      }
      nlohmann::json cj{{"table", c.name}, {"cell", c.cell->name()}, {"rows", c.rows}, {"cols", c.cols},
                        {"wire_scale", c.wire_scale}, {"failed_points", failed}};
      if (!c.corner.empty()) cj["corner"] = c.corner;
      if (fit_samples.empty() || train.empty()) {
        cj["error"] = "no samples (every training point failed); no table";
        configs.push_back(cj);
        worst_cov = 0;
        worst_nrmse = INFINITY;
        continue;
      }
      auto table = build_array_table(spec, fit_samples);
      const std::string transfer_name = c.name + "_transfer";
      auto transfer = build_transfer_table(transfer_name, c.rows, train);
      const double fs = table.attributes.at("full_scale_A").get<double>();
      lut::ArrayPsConfig attrs;
      attrs.cell = c.cell->name();
      attrs.rows = c.rows, attrs.cols = c.cols, attrs.wire_scale = c.wire_scale;
      attrs.r_bitline_ohm = x0.parasitics.r_bitline_ohm;
      attrs.r_sourceline_ohm = x0.parasitics.r_sourceline_ohm;
      attrs.r_wordline_ohm = x0.parasitics.r_wordline_ohm;
      attrs.v_read_V = x0.v_read_V;
      attrs.full_scale_A = fs;
      attrs.ideal_cell_current_A = ideal_cell;
      attrs.ideal_off_cell_current_A = ideal_off_cell;
      attrs.rails = rails;
      attrs.transfer_table = transfer_name;
      attrs.samples = fit_samples.size();
      attrs.axes_reason = c.cell->array_ps_axes_reason();
      attrs.corner = c.corner;
      attrs.vdd_V = x0.vdd_V;
      attrs.temperature_K = x0.transistor.temperature_K;
      if (variation_.enabled) attrs.variation = variation_json(x0);
      table.attributes = attrs.to_attributes();
      transfer.attributes = {{"role", "array_ps_transfer"}, {"of", c.name}, {"samples", train.size()}};
      const auto check = check_held_out(table, holdout, c.rows, rails, ideal_cell);
      cj["full_scale_A"] = fs;
      cj["ideal_cell_current_A"] = ideal_cell;
      cj["axes"] = spec.axes;
      cj["training_samples"] = fit_samples.size();
      cj["held_out"] = check.to_json();
      if (!holdout.empty()) {
        worst_nrmse = std::max(worst_nrmse, check.nrmse_mean);
        worst_cov = std::min(worst_cov, check.coverage_2sigma);
      }
      if (c.spice_check) {
        auto sj = check_held_out(table, spice, c.rows, rails, ideal_cell).to_json();
        // The same patterns through the native solver: the engines' agreement.
        double max_rel = 0, max_abs_fs = 0;
        size_t compared = 0;
        circuit::SolveOptions opt;
        opt.threads = 1;
        for (size_t pi = 0; pi < points_.size(); ++pi) {
          if (infos_[pi].config != ci || infos_[pi].set != Set::spice || !results[pi].ok) continue;
          const auto x = pattern(c, Set::spice, infos_[pi].first);
          const auto native = circuit::solve_crossbar(x, opt).column_current_A;
          const auto& ng = results[pi].data.at("patterns")[0].at("i");
          for (size_t j = 0; j < native.size(); ++j) {
            const double a = ng[j].get<double>(), d = std::abs(native[j] - a);
            max_abs_fs = std::max(max_abs_fs, d / fs);
            if (std::abs(a) > 1e-3 * ideal_cell) max_rel = std::max(max_rel, d / std::abs(a));
            ++compared;
          }
        }
        sj["patterns"] = spice.size() / static_cast<size_t>(std::max(1, c.cols));
        sj["native_vs_ngspice_max_rel"] = max_rel;
        sj["native_vs_ngspice_max_abs_fs"] = max_abs_fs;
        sj["columns_compared"] = compared;
        sj["ngspice_seconds_total"] = spice_seconds;
        cj["spice"] = sj;
        if (!spice.empty()) {
          any_spice = true;
          worst_spice_cov = std::min(worst_spice_cov, sj["coverage_2sigma"].get<double>());
          worst_spice_nrmse = std::max(worst_spice_nrmse, sj["nrmse_mean"].get<double>());
        }
      }
      configs.push_back(cj);
      b.tables.push_back(std::move(table));
      b.tables.push_back(std::move(transfer));
    }
    b.info = {{"pattern_statistics",
               {{"input_density", {stats_.input_lo, stats_.input_hi}},
                {"weight_density", {stats_.weight_lo, stats_.weight_hi}},
                {"gradient", stats_.gradient}}},
              {"patterns", patterns_},
              {"holdout_patterns", holdout_},
              {"layout", "see src/xbarkit/lut/array_ps.hpp"},
              {"std_meaning", "RMS residual of samples near the node against the interpolated mean table"},
              {"full_scale", "largest mean current in the configuration's table (every cell conducting)"}};
    b.validation = {{"nrmse_mean", worst_nrmse},
                    {"coverage_2sigma", worst_cov},
                    {"summary", "worst configuration's held-out NRMSE (fraction of full scale) and coverage"},
                    {"configs", configs}};
    if (any_spice) {
      b.validation["spice_nrmse_mean"] = worst_spice_nrmse;
      b.validation["spice_coverage_2sigma"] = worst_spice_cov;
    }
    b.provenance = {{"pattern_seed_streams", "Rng(seed, first 64 bits of SHA-256(\"<table>/<set>/<pattern>\")), <table> "
                                             "without the corner suffix"}};
    if (variation_.enabled) {
      b.info["variation"] = {
          {"draws", "fresh per pattern array (anchors, training, held-out, spice): the spread is over placements and "
                    "devices, i.e. over chips; the same draws at every corner"},
          {"seed_streams", "draw_variation with seed derive_seed(derive_seed(seed, variation.seed), first 64 bits of "
                           "SHA-256(\"<table>/<set>/<pattern>/variation\"))"}};
      b.provenance["variation_source"] = tech_.variation.source;
    }
    return b;
  }

private:
  // What the table's mismatch was (its attributes): the sigmas as drawn for this array.
  nlohmann::json variation_json(const netlist::Crossbar& x0) const {
    const bool transistors = x0.kind().uses_transistor(x0);
    return {{"sigma_vt_V", transistors ? netlist::transistor_vt_sigma_V(x0, variation_) : 0.0},
            {"avt_V_m", variation_.avt_V_m},
            {"sigma_ln_lrs", variation_.scale * variation_.sigma_ln_lrs},
            {"sigma_ln_hrs", variation_.scale * variation_.sigma_ln_hrs},
            {"scale", variation_.scale},
            {"seed", variation_.seed},
            {"draws", "fresh per pattern"}};
  }

  uint64_t seed_;
  netlist::VariationSpec variation_;  // enabled = false without [array_ps.variation]
  netlist::Technology tech_;
  std::vector<Config> configs_;
  std::vector<PointInfo> infos_;
  std::vector<Point> points_;
  PatternStats stats_;
  std::vector<std::string> axes_override_;
  int patterns_ = 200, holdout_ = 40, per_point_ = 10, grid_points_ = 11, k_step_ = 1, min_samples_ = 24;
  int hrs_points_ = 6;
  int spice_patterns_ = 20;
};

const RegisterKind reg("array_ps",
                       [](const Recipe& r, const TomlSection& s) { return std::make_unique<ArrayPsKind>(r, s); });

}  // namespace

void link_kind_array_ps() {}

}  // namespace xbarkit::characterize
