#pragma once
// The crossbar a user names (options of `xbarkit infer`, `xbarkit train --hardware`, the Python
// bindings), checked and turned into a SimConfig in one place.
#include <cstdint>
#include <string>

#include "xbarkit/imc/simulator.hpp"

namespace xbarkit::imc {

struct SimOptions {
  int rows = 128, cols = 0;
  std::string mapping = "xnor", binsparx = "none";
  std::string array_lut;            // array_ps bundle directory (LUT sensing); empty: ideal sensing
  std::string converter = "ideal";
  std::string cell = "sram8t", tech = "7nm";
  double wire_scale = 1.0;
  bool lut_mean = false;            // LUT sensing without sampling
  bool exact = false;               // the native circuit solver senses every tile
  uint64_t seed = 1;
  uint64_t chip = 0;                // chip of a converter population (adc bundles)
  std::string corner;               // global corner of the technology ([corners.<name>]); empty: none
  double variation = -1;            // exact mode on a sampled chip: mismatch at this x the tech's sigmas (< 0: none)
  uint64_t chip_seed = 1;           // names the sampled chip (with variation)
  // BinSparX static-data / both-data: training images the flips are chosen on (IDX directory; empty:
  // Debian's Fashion-MNIST) and how many of them.
  std::string calibration_data;
  size_t calibration_images = 200;
  size_t guard_images = 200;        // the end-to-end guard on the chosen flips (SimConfig::guard_images)
};

// Refuses combinations that would be ignored or silently substituted (errors name the option, e.g.
// "--lut-mean"), loads the array LUT and checks it has a table for the cell, rows and wire scale.
SimConfig make_sim_config(const SimOptions& o);

}  // namespace xbarkit::imc
