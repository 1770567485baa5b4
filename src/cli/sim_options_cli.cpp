#include "sim_options_cli.hpp"

#include <fmt/format.h>

#include "xbarkit/imc/converter.hpp"
#include "xbarkit/netlist/cell.hpp"

namespace xbarkit::cli {

void add_sim_options(CLI::App* cmd, imc::SimOptions& o, bool with_exact) {
  cmd->add_option("--rows", o.rows, "Crossbar rows per tile (R)")->capture_default_str()->check(CLI::Range(2, 4096));
  cmd->add_option("--cols", o.cols, "Crossbar columns per tile (C; 0 = R)")->check(CLI::Range(0, 4096));
  cmd->add_option("--mapping", o.mapping, "xnor (two AND rows per input) | and (one row per input, digital correction)")
      ->capture_default_str()
      ->check(CLI::IsMember({"xnor", "and"}));
  cmd->add_option("--binsparx", o.binsparx,
                  "BinSparX flips: none | static (weight columns, the paper's weight-majority rule) | dynamic (input "
                  "slices) | both | static-data (weight columns chosen on training images with the LUT and "
                  "converter to minimize the expected wrong activations, then output error; same hardware as static) | both-data (static-data + "
                  "dynamic)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "static", "dynamic", "both", "static-data", "both-data"}));
  cmd->add_option("--calibration-images", o.calibration_images,
                  "BinSparX static-data/both-data: the first N training images the flips are chosen on")
      ->capture_default_str()
      ->check(CLI::Range(1, 60000));
  cmd->add_option("--guard-images", o.guard_images,
                  "BinSparX static-data/both-data: up to N further training images on which the whole network runs "
                  "with the chosen flips and without; the flips are kept unless they classify fewer of them "
                  "correctly (0 = no guard)")
      ->capture_default_str()
      ->check(CLI::Range(0, 60000));
  cmd->add_option("--calibration-data", o.calibration_data,
                  "BinSparX static-data/both-data: directory with train-{images-idx3,labels-idx1}-ubyte[.gz] (default: "
                  "Debian's Fashion-MNIST)");
  cmd->add_option("--array-lut", o.array_lut, "array_ps LUT bundle: column currents sampled from its predicted "
                                              "distribution (without it and without --exact: ideal currents)");
  std::string converters;
  for (const auto& t : imc::converter_types()) converters += fmt::format("\n  {}: {}", t.usage, t.description);
  cmd->add_option("--converter", o.converter, "Partial-sum converter:" + converters)->capture_default_str();
  cmd->add_flag("--lut-mean", o.lut_mean, "LUT sensing without sampling: every column reads the LUT's mean current");
  if (with_exact)
    cmd->add_flag("--exact", o.exact, "Solve every tile with the native circuit solver (slow: validation subsets)");
  cmd->add_option("--cell", o.cell, fmt::format("Cell kind: {} (picks the LUT table; exact mode's array)", netlist::cell_names()))
      ->capture_default_str();
  cmd->add_option("--wire-scale", o.wire_scale, "Wire-resistance scale (picks the LUT table; scales exact mode's wires)")
      ->capture_default_str();
  cmd->add_option("--tech", o.tech, "Technology for exact mode and the ideal cell current")->capture_default_str();
  cmd->add_option("--corner", o.corner, "Global corner of the technology ([corners.<name>], e.g. tt, ss, ff): picks "
                                      "the LUT's table of that corner; exact mode runs its arrays at it");
  if (with_exact) {
    cmd->add_option("--variation", o.variation,
                    "Exact mode on a sampled chip: device mismatch at SCALE x the technology's sigmas ([variation] of "
                    "the tech file), one draw per tile (layer, tile, column group) fixed for the run. (A LUT "
                    "characterized with [array_ps.variation] marginalizes over chips instead: every read draws from "
                    "its spread.)");
    cmd->add_option("--chip-seed", o.chip_seed, "Seed naming the sampled chip (with --variation)")->capture_default_str();
  }
  cmd->add_option("--chip", o.chip, "Chip of a converter population: with an adc bundle, chip K gives every column of every "
                                    "array an ADC instance drawn from the bundle by a hash of K and the column's place")
      ->capture_default_str();
}

}  // namespace xbarkit::cli
