#pragma once
// One simulator run over a dataset, summarized for reports (CLI `infer`, the main job, benches).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarkit/imc/simulator.hpp"

namespace xbarkit::imc {

struct Evaluation {
  SimConfig config;
  std::string converter;          // the converter's name
  std::string lut_table;          // array_ps table used (LUT sensing)
  double cell_current_A = 0;
  size_t images = 0;
  double accuracy = 0;            // fraction
  double agreement = -1;          // fraction of predictions equal to the software network's (-1: not given)
  size_t disagreements = 0;
  std::vector<LayerStats> layers; // binary layers in order
  LayerStats total;
  double seconds = 0;
  double setup_seconds = 0;       // building the simulator (BinSparX static-data: choosing its flips)
  FlipCalibration flip_calibration;
  unsigned threads = 0;
  std::vector<int> predictions;
  double images_per_s() const { return seconds > 0 ? double(images) / seconds : 0.0; }
  // Conducting cells per weight without BinSparX, same mapping and inputs, and the relative reduction.
  double reduction() const {
    const double p = total.conducting_per_weight_plain();
    return p > 0 ? 1.0 - total.conducting_per_weight() / p : 0.0;
  }
  nlohmann::json to_json() const;
};

// Runs the first n images (0 = all) through `net` on the crossbar described by `config`.
// `software` (optional): the software network's predictions for agreement counting; `progress`
// (optional) advances once per image.
Evaluation evaluate(const nn::Network& net, const nn::Dataset& data, const SimConfig& config, size_t n,
                    unsigned threads, const std::vector<int>* software = nullptr,
                    ProgressReporter* progress = nullptr);
// The same on a simulator built once (the main job runs a configuration on growing image counts
// without choosing its BinSparX flips again): its statistics are reset first; `setup_seconds` is
// reported as the time it took to build `sim`. Equal to evaluate(net, data, sim.config(), n, ...).
Evaluation evaluate(const Simulator& sim, const nn::Dataset& data, size_t n, unsigned threads,
                    const std::vector<int>* software = nullptr, ProgressReporter* progress = nullptr,
                    double setup_seconds = 0);
// Continues `e`, an evaluation of `sim` on the first e.images images (evaluate above, no other use
// of `sim` since), to the first n: only the new images run, and the result equals
// evaluate(sim, data, n, ...) (every image draws from its own index; the statistics are integer
// sums). `e.seconds` accumulates. The main job's staged image counts use it.
void extend(const Simulator& sim, Evaluation& e, const nn::Dataset& data, size_t n, unsigned threads,
            const std::vector<int>* software = nullptr, ProgressReporter* progress = nullptr);

// Monte-Carlo over chips: `chips` runs of evaluate() on exact sensing, chip c with mismatch seed
// derive_seed(config.variation.seed, c), every other setting (and so the LUT/converter draws) the same.
struct ChipStudy {
  std::vector<uint64_t> seeds;      // the chips' variation seeds
  std::vector<double> accuracy;     // per chip (fraction)
  std::vector<double> ps_rmse;      // per chip
  double accuracy_mean = 0, accuracy_std = 0;  // std: sample standard deviation over chips (n - 1)
  double seconds = 0;
  nlohmann::json to_json() const;
};
// Requires config.variation.enabled and exact sensing (Simulator's checks); chips >= 2. `first`
// (optional) receives chip 0's whole Evaluation (with agreement against `software`, if given).
ChipStudy evaluate_chips(const nn::Network& net, const nn::Dataset& data, const SimConfig& config, size_t n,
                         unsigned threads, int chips, const std::vector<int>* software = nullptr,
                         Evaluation* first = nullptr, ProgressReporter* progress = nullptr);

// One-line description of a configuration, e.g. "128x128 sram8t, AND mapping, BinSparX both, LUT sensing".
std::string describe(const SimConfig& config);

}  // namespace xbarkit::imc
