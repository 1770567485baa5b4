#include "xbarkit/imc/evaluate.hpp"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/rng.hpp"

namespace xbarkit::imc {

namespace {
nlohmann::json stats_json(const LayerStats& s) {
  const auto frac = [](int64_t a, int64_t b) { return b ? double(a) / double(b) : 0.0; };
  return {{"layer", s.layer},
          {"reads", s.reads},
          {"conducting_fraction", s.conducting_fraction()},
          {"conducting_per_weight", s.conducting_per_weight()},
          {"conducting_per_weight_without_binsparx", s.conducting_per_weight_plain()},
          {"mean_conducting_per_read", s.mean_conducting_per_read()},
          {"ps_rmse", s.ps_rmse()},
          {"ps_mean_abs_error", frac(s.ps_error_abs, s.reads)},
          {"ps_wrong_fraction", frac(s.ps_wrong, s.reads)},
          {"ps_error_max", s.ps_error_max},
          {"ps_mean_error", frac(s.ps_error_sum, s.reads)},
          {"ps_mean_error_kept", frac(s.ps_error_sum - s.ps_error_sum_negated, s.reads - s.reads_negated)},
          {"ps_mean_error_negated", frac(s.ps_error_sum_negated, s.reads_negated)},
          {"negated_fraction", frac(s.reads_negated, s.reads)},
          {"z_mean_error", frac(s.z_error_sum, s.outputs)},
          {"z_rmse", s.z_rmse()},
          {"outputs", s.outputs},
          {"z_wrong_fraction", frac(s.z_wrong, s.outputs)},
          {"z_mean_abs_error", frac(s.z_error_abs, s.outputs)},
          {"static_flipped_fraction", frac(s.static_flipped, s.reads)},
          {"dynamic_flipped_fraction", frac(s.dynamic_flipped, s.slices)}};
}
}  // namespace

nlohmann::json Evaluation::to_json() const {
  nlohmann::json layers_j = nlohmann::json::array();
  for (const auto& l : layers) layers_j.push_back(stats_json(l));
  nlohmann::json j{{"accuracy", accuracy},
                   {"images", images},
                   {"conducting_fraction", total.conducting_fraction()},
                   {"conducting_per_weight", total.conducting_per_weight()},
                   {"conducting_per_weight_without_binsparx", total.conducting_per_weight_plain()},
                   {"conducting_reduction", reduction()},
                   {"mean_conducting_per_read", total.mean_conducting_per_read()},
                   {"ps_rmse", total.ps_rmse()},
                   {"config",
                    {{"rows", config.rows},
                     {"cols", config.cols},
                     {"mapping", to_string(config.mapping)},
                     {"binsparx", to_string(config.binsparx)},
                     {"sensing", to_string(config.sensing)},
                     {"lut_table", lut_table},
                     {"lut_noise", config.lut_noise},
                     {"cell", config.cell},
                     {"wire_scale", config.wire_scale},
                     {"converter", converter},
                     {"cell_current_A", cell_current_A},
                     {"seed", config.seed}}},
                   {"layers", layers_j},
                   {"seconds", seconds},
                   {"images_per_s", images_per_s()},
                   {"threads", threads}};
  if (!config.corner.empty()) j["config"]["corner"] = config.corner;
  if (config.variation.enabled)
    j["config"]["chip"] = {{"seed", config.variation.seed}, {"sigma_scale", config.variation.scale},
                           {"draws", "one mismatch draw per tile (layer, tile, column group), fixed for the run"}};
  if (config.binsparx.data_aware) {
    nlohmann::json lj = nlohmann::json::array();
    for (const auto& l : flip_calibration.layers)
      lj.push_back({{"layer", l.layer},
                    {"vectors", l.vectors},
                    {"tile_columns", l.tile_columns},
                    {"flipped_paper", l.flipped_paper},
                    {"flipped_chosen", l.flipped_chosen},
                    {"objective_none", l.objective_none},
                    {"objective_paper", l.objective_paper},
                    {"objective_chosen", l.objective_chosen},
                    {"wrong_activations_none", l.wrong_none},
                    {"wrong_activations_paper", l.wrong_paper},
                    {"wrong_activations_chosen", l.wrong_chosen},
                    {"cells_none", l.cells_none},
                    {"cells_paper", l.cells_paper},
                    {"cells_chosen", l.cells_chosen}});
    j["binsparx_calibration"] = {
        {"images", flip_calibration.images},
        {"split", "train"},
        {"seconds", setup_seconds},
        {"objective", "per layer: expected activations differing from software per image (wrong_activations_*, "
                      "hidden layers), then per calibration vector the expected squared output error summed over "
                      "outputs (objective_*), then conducting cells (cells_*)"},
        {"layers", lj}};
    const auto& g = flip_calibration.guard;
    j["binsparx_calibration"]["guard"] = {
        {"images", g.images},
        {"correct_with_flips", g.correct_chosen},
        {"correct_without_flips", g.correct_none},
        {"only_with_flips", g.only_chosen},
        {"only_without_flips", g.only_none},
        {"decided_early", g.decided_early},
        {"flips_kept", g.kept},
        {"rule", g.ideal_reads   ? "not run: the reads are exact (ideal currents, a converter exact on them), so both "
                                   "choices predict what software predicts"
                 : g.images == 0 ? "no guard: the flips chosen above are used"
                                 : "the network ran on these training images (after the calibration ones) with the "
                                 "chosen static flips and with none; the flips are kept unless no flips classify "
                                 "more of them correctly (race in blocks of 25 images, stopped by a 3-sigma sign "
                                 "test on the discordant images)"}};
  }
  if (agreement >= 0) {
    j["agreement_with_software"] = agreement;
    j["disagreements_with_software"] = disagreements;
  }
  return j;
}

Evaluation evaluate(const nn::Network& net, const nn::Dataset& data, const SimConfig& config, size_t n,
                    unsigned threads, const std::vector<int>* software, ProgressReporter* progress) {
  SimConfig cfg = config;
  if (cfg.calibration_threads == 0) cfg.calibration_threads = threads;
  const auto tc = std::chrono::steady_clock::now();
  const Simulator sim(net, cfg);
  const double setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - tc).count();
  return evaluate(sim, data, n, threads, software, progress, setup);
}

Evaluation evaluate(const Simulator& sim, const nn::Dataset& data, size_t n, unsigned threads,
                    const std::vector<int>* software, ProgressReporter* progress, double setup_seconds) {
  if (n == 0 || n > data.count) n = data.count;
  Evaluation e;
  sim.reset_stats();
  e.setup_seconds = setup_seconds;
  e.flip_calibration = sim.flip_calibration();
  e.config = sim.config();
  e.converter = sim.converter().name();
  e.lut_table = sim.lut_table();
  e.cell_current_A = sim.cell_current_A();
  e.threads = threads == 0 ? default_threads() : threads;
  extend(sim, e, data, n, threads, software, progress);
  return e;
}

void extend(const Simulator& sim, Evaluation& e, const nn::Dataset& data, size_t n, unsigned threads,
            const std::vector<int>* software, ProgressReporter* progress) {
  if (n == 0 || n > data.count) n = data.count;
  if (n < e.images || e.predictions.size() != e.images)
    throw Error(fmt::format("imc::extend: cannot continue an evaluation of {} images to {}", e.images, n));
  const auto t0 = std::chrono::steady_clock::now();
  const auto more = sim.predict_range(data, e.images, n, threads, progress);
  e.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  e.threads = threads == 0 ? default_threads() : threads;
  e.predictions.insert(e.predictions.end(), more.begin(), more.end());
  e.images = n;
  e.accuracy = nn::Network::accuracy(e.predictions, data);
  if (software) {
    size_t same = 0;
    for (size_t i = 0; i < n && i < software->size(); ++i) same += (*software)[i] == e.predictions[i];
    e.agreement = double(same) / double(n);
    e.disagreements = n - same;
  }
  e.layers = sim.stats();
  e.total = sim.total_stats();
}

nlohmann::json ChipStudy::to_json() const {
  return {{"count", accuracy.size()},
          {"seeds", seeds},
          {"accuracy", accuracy},
          {"ps_rmse", ps_rmse},
          {"accuracy_mean", accuracy_mean},
          {"accuracy_std", accuracy_std},
          {"seconds", seconds},
          {"draws", "chip c: one mismatch draw per tile (layer, tile, column group) with seed "
                    "derive_seed(variation seed, c); the same images for every chip"}};
}

ChipStudy evaluate_chips(const nn::Network& net, const nn::Dataset& data, const SimConfig& config, size_t n,
                         unsigned threads, int chips, const std::vector<int>* software, Evaluation* first,
                         ProgressReporter* progress) {
  if (chips < 2) throw Error(fmt::format("a Monte-Carlo over chips needs at least 2 chips, got {}", chips));
  if (!config.variation.enabled) throw Error("a Monte-Carlo over chips needs device variation (SimConfig::variation)");
  ChipStudy s;
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < chips; ++c) {
    SimConfig chip = config;
    chip.variation.seed = derive_seed(config.variation.seed, static_cast<uint64_t>(c));
    auto e = evaluate(net, data, chip, n, threads, software, progress);
    s.seeds.push_back(chip.variation.seed);
    s.accuracy.push_back(e.accuracy);
    s.ps_rmse.push_back(e.total.ps_rmse());
    if (c == 0 && first) *first = std::move(e);
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double sum = 0, sq = 0;
  for (double a : s.accuracy) sum += a;
  s.accuracy_mean = sum / chips;
  for (double a : s.accuracy) sq += (a - s.accuracy_mean) * (a - s.accuracy_mean);
  s.accuracy_std = std::sqrt(sq / (chips - 1));
  return s;
}

std::string describe(const SimConfig& c) {
  const int cols = c.cols > 0 ? c.cols : c.rows;
  std::string s = fmt::format("{}x{} {}, {} mapping, BinSparX {}, {} sensing", c.rows, cols, c.cell,
                              c.mapping == Mapping::Xnor ? "XNOR" : "AND", to_string(c.binsparx), to_string(c.sensing));
  if (c.sensing == Sensing::lut && !c.lut_noise) s += " (mean only)";
  if (c.wire_scale != 1.0) s += fmt::format(", wires x{:g}", c.wire_scale);
  if (!c.corner.empty()) s += ", corner " + c.corner;
  if (c.variation.enabled) s += fmt::format(", chip {} (mismatch x{:g})", c.variation.seed, c.variation.scale);
  s += ", converter " + c.converter;
  return s;
}

}  // namespace xbarkit::imc
