#pragma once
// xbarkit infer --cell pcm: a real-valued network (format xbarkit-real-1) on analog PCM tiles
// (pcm/analog_engine.hpp) at a time after programming, with optional global drift compensation,
// over one or more programming instances. Its options are added to `infer`; cmd_infer.cpp hands
// over when --cell pcm is given.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>

#include <CLI/CLI.hpp>

#include "xbarkit/imc/sim_options.hpp"

namespace xbarkit::cli {

struct PcmInferOptions {
  double time_s = std::numeric_limits<double>::quiet_NaN();
  bool gdc = false, gdc_per_tile = false;
  uint64_t programming_seed = 1;
  int instances = 1;
  std::string ir;  // empty: "exact" with --exact, else "none"
  std::string model = "joshi2020";
  std::string weight_scaling = "column";
  std::string read_noise = "per-read";
  int dac_bits = 8, adc_bits = 9;
  double adc_bound = 12;
  size_t bn_update = 0;
  bool given() const {
    return !std::isnan(time_s) || gdc || gdc_per_tile || !ir.empty() || bn_update > 0 || instances != 1 ||
           programming_seed != 1 || model != "joshi2020" || weight_scaling != "column" || read_noise != "per-read" ||
           dac_bits != 8 || adc_bits != 9 || adc_bound != 12;
  }
};

void add_pcm_infer_options(CLI::App* cmd, PcmInferOptions& o);

void run_pcm_infer(const std::filesystem::path& network, const std::string& data_dir, size_t images, unsigned threads,
                   const imc::SimOptions& sim, bool json, const PcmInferOptions& o);

}  // namespace xbarkit::cli
