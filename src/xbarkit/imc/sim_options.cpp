#include "xbarkit/imc/sim_options.hpp"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarkit/core/error.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/netlist/variation.hpp"
#include "xbarkit/nn/dataset.hpp"

namespace xbarkit::imc {

SimConfig make_sim_config(const SimOptions& o) {
  if (o.rows < 2 || o.rows > 4096) throw InputError("", "--rows", fmt::format("must be in [2, 4096], got {}", o.rows));
  if (o.cols < 0 || o.cols > 4096) throw InputError("", "--cols", fmt::format("must be in [0, 4096], got {}", o.cols));
  if (o.lut_mean && o.array_lut.empty())
    throw InputError("", "--lut-mean", "needs --array-lut (it reads the LUT's mean current)");
  if (o.lut_mean && o.exact)
    throw InputError("", "--lut-mean", "does nothing with --exact (the circuit solver gives the currents)");
  if (o.exact && !o.array_lut.empty() && o.converter != "calibrated")
    throw InputError("", "--array-lut",
                     "is not used with --exact unless --converter calibrated inverts its mean transfer; drop one of them");
  if (o.variation >= 0 && !o.exact)
    throw InputError("", "--variation", "needs --exact (a sampled chip is solved circuit by circuit; a LUT "
                                        "characterized with variation marginalizes over chips)");
  if (!(o.wire_scale >= 0) || !std::isfinite(o.wire_scale))
    throw InputError("", "--wire-scale", fmt::format("must be a finite number >= 0, got {}", o.wire_scale));
  SimConfig cfg;
  cfg.mapping = parse_mapping(o.mapping);
  try {
    cfg.binsparx = parse_binsparx(o.binsparx);
  } catch (const Error& e) {
    throw InputError("", "--binsparx", e.what());
  }
  if (cfg.binsparx.data_aware) {
    if (o.calibration_images < 1)
      throw InputError("", "--calibration-images", "must be >= 1 (BinSparX static-data chooses its flips on them)");
    // Training split only: the flips must not be chosen on the images they are evaluated on.
    cfg.calibration_data = std::make_shared<const nn::Dataset>(nn::load_fashion_mnist(
        o.calibration_data.empty() ? nn::default_fashion_mnist_dir() : std::filesystem::path(o.calibration_data),
        nn::Split::Train));
    cfg.calibration_images = o.calibration_images;
    cfg.guard_images = o.guard_images;
    if (o.calibration_images + o.guard_images > cfg.calibration_data->count)
      throw InputError(cfg.calibration_data->name, "--guard-images",
                       fmt::format("{} calibration + {} guard images exceed the set's {} training images; lower "
                                   "--calibration-images or --guard-images (0: no guard)",
                                   o.calibration_images, o.guard_images, cfg.calibration_data->count));
  } else if (!o.calibration_data.empty()) {
    throw InputError("", "--calibration-data", "is used only by --binsparx static-data | both-data");
  }
  cfg.rows = o.rows;
  cfg.cols = o.cols;
  cfg.cell = o.cell;
  cfg.wire_scale = o.wire_scale;
  cfg.tech = o.tech;
  cfg.converter = o.converter;
  cfg.seed = o.seed;
  cfg.chip = o.chip;
  cfg.lut_noise = !o.lut_mean;
  cfg.corner = o.corner;
  if (o.variation >= 0)
    cfg.variation = netlist::default_variation(netlist::load_technology(o.tech), o.variation, o.chip_seed, "--variation");
  if (!o.corner.empty()) {  // an unknown corner is refused before any work, naming the technology's
    const auto tech = netlist::load_technology(o.tech);
    if (!tech.corners.count(o.corner)) {
      std::string known;
      for (const auto& [n, c] : tech.corners) known += (known.empty() ? "" : ", ") + n;
      throw InputError(tech.file.string(), "--corner",
                       fmt::format("unknown corner '{}' (the technology has: {})", o.corner, known.empty() ? "none" : known));
    }
  }
  if (!o.array_lut.empty()) {
    try {
      cfg.array_lut = std::make_shared<const lut::ArrayPsLut>(lut::ArrayPsLut::load(o.array_lut));
    } catch (const nlohmann::json::exception& e) {
      // lut.json passed its digest, so it was written (or re-signed) with attributes of the wrong type.
      throw InputError(o.array_lut + "/lut.json", "--array-lut",
                       fmt::format("the array_ps tables' attributes have the wrong shape ({})", e.what()));
    }
    // The LUT's table for this cell and size must be for this wire scale: the nearest other one
    // would be used while the report names the requested scale. Scales are compared to 1e-9
    // relative (they are recipe numbers written with 17 digits).
    std::string scales;
    bool found = false, any = false;
    for (const auto& c : cfg.array_lut->configs()) {
      if (c.cell != o.cell || c.rows != o.rows || (!o.corner.empty() && c.corner != o.corner)) continue;
      any = true;
      scales += fmt::format("{}{:g}", scales.empty() ? "" : ", ", c.wire_scale);
      if (std::abs(c.wire_scale - o.wire_scale) <= 1e-9 * std::max(1.0, std::abs(o.wire_scale))) found = true;
    }
    if (any && !found)
      throw InputError(o.array_lut, "--wire-scale",
                       fmt::format("the bundle has no {} {}-row table for wire scale {:g} (it has {}); characterize "
                                   "that scale or pick one of these",
                                   o.cell, o.rows, o.wire_scale, scales));
  }
  cfg.sensing = o.exact ? Sensing::exact : (cfg.array_lut ? Sensing::lut : Sensing::ideal);
  return cfg;
}

}  // namespace xbarkit::imc
