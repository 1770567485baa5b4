// Characterization kind "array_read": the energy and latency of one read of a crossbar tile, from
// the native read transient (transient/read.hpp), as LUTs for inference cost reports.
//
//   [array_read]
//   tech = "7nm"                      # technology (models/tech/<name>.toml or a path)
//   cells = ["sram8t", "rram1t1r"]    # column-ladder kinds (sram8t | rram1t1r | mram1t1mtj)
//   rows = [64, 128]                  # tile rows
//   cols = 64                         # tile columns (default = rows)
//   wire_scale = [1.0]                # multiplies every wire resistance of the tech defaults
//   patterns = 12                     # training arrays per configuration (BNN-like, as array_ps)
//   holdout_patterns = 6              # fresh arrays for the held-out check (never used to fit)
//   k_points = 9                      # grid points of the conducting-count axis on [0, rows]
//   settle = 0.01                     # settling band of the latency (fraction of the final current)
//   lte_rel = 1e-5                    # the native TR-BDF2 step control's local error tolerance,
//   lte_abs_V = 1e-6                  # relative and absolute, [1e-8, 1e-3] V (transient::ReadOptions; the defaults
//                                     # are the engine's, validated against ngspice)
//   column_sample = 0                 # integrate only this many columns per array, spread evenly with
//                                     # the first and the last (0 = all). Faster, but biased: energies
//                                     # end at the subset's latency (sram8t 256x256, 64 columns: E_col
//                                     # 2-4% low, latency ~1% early), which the held-out check (on
//                                     # subsets too) cannot see
//
// Why this split: wordlines drive gates only, so a read's energy is the wordline drivers' (the same
// for every active row: the wordline does not see the stored bits) plus each column's bitline
// source, and a column's share depends on its own conducting count k (the DC current it draws
// until the array is sensed, and the charge its internal nodes take) and, weakly, on where those
// cells sit. Per configuration the bundle has a table "<cell>_r<rows>_w<scale>" over k with the
// column energy (mean, std) and, as attributes, the wordline energy per active row and the read
// latency (mean, max) over the training arrays. An inference read then costs
//   E = E_row * (active rows) + sum_j E_col(k_j),  t = latency (the slowest column of the array).
// The held-out check predicts E of fresh arrays this way and compares it with their transient.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/characterize/array_model.hpp"
#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/transient/read.hpp"

namespace xbarkit::characterize {
namespace {

struct Config {
  std::string name;
  std::string cell;
  int rows = 0, cols = 0;
  double wire_scale = 1;
};

class ArrayReadKind : public Kind {
public:
  ArrayReadKind(const Recipe& recipe, const TomlSection& s) : seed_(recipe.seed) {
    tech_ = netlist::load_technology(s.string("tech").value_or("7nm"), recipe.base_dir);
    const auto cells = s.string_array("cells").value_or(std::vector<std::string>{"sram8t", "rram1t1r"});
    const auto rows = s.number_array("rows").value_or(std::vector<double>{64, 128});
    const auto scales = s.number_array("wire_scale").value_or(std::vector<double>{1.0});
    const int cols = static_cast<int>(s.integer("cols").value_or(0));
    patterns_ = static_cast<int>(s.integer_in("patterns", 12, 2, 10000));
    holdout_ = static_cast<int>(s.integer_in("holdout_patterns", 6, 1, 10000));
    k_points_ = static_cast<int>(s.integer_in("k_points", 9, 2, 4097));
    settle_ = s.number("settle").value_or(0.01);
    column_sample_ = static_cast<int>(s.integer_in("column_sample", 0, 0, 1 << 20));
    const transient::ReadOptions defaults;
    lte_rel_ = s.number("lte_rel").value_or(defaults.lte_rel);
    lte_abs_V_ = s.number("lte_abs_V").value_or(defaults.lte_abs_V);
    if (!(lte_rel_ > 0 && lte_rel_ <= 1e-2)) throw s.error("lte_rel", fmt::format("must be in (0, 0.01], got {}", lte_rel_));
    // Above the Newton tolerance (1e-9 V, transient/network.hpp), which the step control assumes.
    if (!(lte_abs_V_ >= 1e-8 && lte_abs_V_ <= 1e-3))
      throw s.error("lte_abs_V", fmt::format("must be in [1e-8, 1e-3] V, got {}", lte_abs_V_));
    if (!(settle_ > 0 && settle_ < 1)) throw s.error("settle", fmt::format("must be in (0, 1), got {}", settle_));
    for (const auto& c : cells) {
      const netlist::Cell* k = netlist::find_cell(c);
      if (!k) throw s.error("cells", fmt::format("unknown cell kind '{}' ({})", c, netlist::cell_names()));
      if (k->topology() != netlist::Topology::column_ladder)
        throw s.error("cells", fmt::format("{}: array_read characterizes column-ladder kinds (a grid's energy is not "
                                           "a sum over columns)", c));
      if (!tech_.arrays.count(c)) throw s.error("cells", fmt::format("the technology has no [{}] table", c));
      for (double r : rows) {
        if (!(r >= 2 && r <= 1024) || r != std::floor(r)) throw s.error("rows", fmt::format("must be integers in [2, 1024], got {}", r));
        for (double w : scales) {
          if (!(w >= 0) || !std::isfinite(w)) throw s.error("wire_scale", fmt::format("must be >= 0, got {}", w));
          Config cf{fmt::format("{}_r{}_w{:g}", c, static_cast<int>(r), w), c, static_cast<int>(r),
                    cols > 0 ? cols : static_cast<int>(r), w};
          configs_.push_back(cf);
        }
      }
    }
    if (configs_.empty()) throw s.error("cells", "no configuration to characterize");
    // Validate the transient inputs (capacitances, driver) once, up front.
    transient::require_read_transient(make(configs_.front(), 0, false));
    for (size_t c = 0; c < configs_.size(); ++c)
      for (int p = 0; p < patterns_ + holdout_; ++p)
        points_.push_back({fmt::format("{}/{}/{}", configs_[c].name, p < patterns_ ? "train" : "holdout", p)});
  }

  const std::vector<Point>& points() const override { return points_; }
  std::string engine() const override { return "native read transient (TR-BDF2)"; }
  std::vector<std::filesystem::path> model_files() const override { return {tech_.file, tech_.finfet_spice_lib}; }

  netlist::Crossbar make(const Config& c, uint64_t stream, bool pattern) const {
    auto x = netlist::make_crossbar(tech_, c.cell, c.rows, c.cols);
    netlist::scale_wires(x, c.wire_scale);
    if (pattern) {
      Rng rng(seed_, stream);
      generate_pattern(x, PatternStats{}, rng);
    }
    return x;
  }

  nlohmann::json run(size_t i) const override {
    const size_t per = static_cast<size_t>(patterns_ + holdout_);
    const auto& c = configs_[i / per];
    const auto x = make(c, i, true);
    transient::ReadOptions o;
    o.settle_fraction = settle_;
    o.lte_rel = lte_rel_;
    o.lte_abs_V = lte_abs_V_;
    if (column_sample_ > 0) o.columns = transient::spread_columns(x.cols, column_sample_);
    const auto r = transient::read_native(x, o);
    if (!r.all_settled()) throw Error(fmt::format("{}: the read did not settle: {}", points_[i].id, r.unsettled_report().front()));
    std::vector<int> k;
    for (int j : r.column_index) k.push_back(x.conducting_count(j));
    // energy_J: the simulated columns' and the wordline drivers' (the whole read without a subset).
    return {{"k", k}, {"columns", r.column_index}, {"column_energy_J", r.column_energy_J},
            {"wordline_energy_per_row_J", r.wordline_energy_per_row_J}, {"active_rows", r.active_rows},
            {"latency_s", r.read_latency_s}, {"energy_J", r.read_energy_J}};
  }

  lut::Bundle assemble(const std::vector<PointResult>& results) const override {
    lut::Bundle b;
    nlohmann::json checks = nlohmann::json::object();
    const size_t per = static_cast<size_t>(patterns_ + holdout_);
    for (size_t ci = 0; ci < configs_.size(); ++ci) {
      const auto& c = configs_[ci];
      std::vector<double> grid;
      for (int g = 0; g < k_points_; ++g) grid.push_back(std::round(double(c.rows) * g / (k_points_ - 1)));
      grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
      // Column energy vs k: local-linear fit at each grid node with a tent kernel one grid spacing
      // wide (widened until it holds 8 samples), as array_ps builds its tables.
      std::vector<std::pair<double, double>> samples;
      double e_row = 0, lat_sum = 0, lat_max = 0;
      int n_train = 0;
      for (int p = 0; p < patterns_; ++p) {
        const auto& r = results[ci * per + static_cast<size_t>(p)];
        if (!r.ok) continue;
        const auto k = r.data.at("k").get<std::vector<int>>();
        const auto e = r.data.at("column_energy_J").get<std::vector<double>>();
        for (size_t j = 0; j < k.size(); ++j) samples.emplace_back(k[j], e[j]);
        e_row += r.data.at("wordline_energy_per_row_J").get<double>();
        const double lat = r.data.at("latency_s").get<double>();
        lat_sum += lat;
        lat_max = std::max(lat_max, lat);
        ++n_train;
      }
      if (n_train == 0) continue;
      e_row /= n_train;
      lut::Table t(c.name, {{"k", "1", grid}}, {{"energy_J", "J"}, {"energy_std_J", "J"}, {"n_eff", "1"}});
      const double spacing = grid.size() > 1 ? grid[1] - grid[0] : 1.0;
      for (size_t g = 0; g < grid.size(); ++g) {
        double bw = std::max(spacing, 1.0);
        double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (int widen = 0; widen < 12; ++widen, bw *= 1.5) {
          sw = sx = sy = sxx = sxy = 0;
          for (const auto& [kx, ey] : samples) {
            const double w = std::max(0.0, 1 - std::abs(kx - grid[g]) / bw);
            sw += w;
            sx += w * kx;
            sy += w * ey;
            sxx += w * kx * kx;
            sxy += w * kx * ey;
          }
          if (sw >= 8) break;
        }
        const double mx = sx / sw, my = sy / sw, var = sxx / sw - mx * mx;
        const double slope = var > 1e-12 ? (sxy / sw - mx * my) / var : 0.0;
        const double mean = my + slope * (grid[g] - mx);
        double ss = 0;
        for (const auto& [kx, ey] : samples) {
          const double w = std::max(0.0, 1 - std::abs(kx - grid[g]) / bw);
          const double res = ey - (my + slope * (kx - mx));
          ss += w * res * res;
        }
        t.value(g, 0) = mean;
        t.value(g, 1) = std::sqrt(ss / sw);
        t.value(g, 2) = sw;
      }
      t.attributes = {{"role", "array_read"}, {"cell", c.cell}, {"rows", c.rows}, {"cols", c.cols},
                      {"wire_scale", c.wire_scale}, {"wordline_energy_per_row_J", e_row},
                      {"latency_mean_s", lat_sum / n_train}, {"latency_max_s", lat_max}, {"settle_fraction", settle_},
                      {"lte_rel", lte_rel_}, {"lte_abs_V", lte_abs_V_},
                      {"columns_simulated", column_sample_ > 0 ? std::min(column_sample_, c.cols) : c.cols},
                      {"train_patterns", n_train}};
      // Held-out check: the LUT's prediction of each fresh array's read energy and latency.
      double se = 0, max_e = 0, max_lat = 0;
      int n_hold = 0;
      for (int p = patterns_; p < patterns_ + holdout_; ++p) {
        const auto& r = results[ci * per + static_cast<size_t>(p)];
        if (!r.ok) continue;
        const auto k = r.data.at("k").get<std::vector<int>>();
        double pred = e_row * r.data.at("active_rows").get<int>();
        for (int kj : k) {
          const double kk = kj;
          pred += t.interpolate(std::span<const double>(&kk, 1), 0);
        }
        const double sim = r.data.at("energy_J").get<double>();
        const double rel = std::abs(pred - sim) / sim;
        se += rel * rel;
        max_e = std::max(max_e, rel);
        max_lat = std::max(max_lat, std::abs(lat_sum / n_train - r.data.at("latency_s").get<double>()) / r.data.at("latency_s").get<double>());
        ++n_hold;
      }
      checks[c.name] = {{"holdout_arrays", n_hold}, {"energy_rms_rel_error", n_hold ? std::sqrt(se / n_hold) : 0.0},
                        {"energy_max_rel_error", max_e}, {"latency_max_rel_error_of_mean", max_lat}};
      b.tables.push_back(std::move(t));
    }
    b.validation = {{"held_out", checks}};
    b.info = {{"layout", "tables <cell>_r<rows>_w<scale>: column energy_J over k (conducting count); attributes: "
                         "wordline_energy_per_row_J, latency_mean_s, latency_max_s. Read energy = E_row * active rows "
                         "+ sum over columns of energy_J(k)"},
              {"engine", "native read transient; window automatic, settle band as recorded"}};
    return b;
  }

private:
  netlist::Technology tech_;
  uint64_t seed_ = 1;
  std::vector<Config> configs_;
  std::vector<Point> points_;
  int patterns_ = 12, holdout_ = 6, k_points_ = 9;
  int column_sample_ = 0;  // columns integrated per array (0 = all)
  double settle_ = 0.01;
  double lte_rel_ = 1e-5, lte_abs_V_ = 1e-6;  // native step control (transient::ReadOptions)
};

const RegisterKind reg("array_read", [](const Recipe& r, const TomlSection& s) { return std::make_unique<ArrayReadKind>(r, s); });

}  // namespace

void link_kind_array_read() {}

}  // namespace xbarkit::characterize
