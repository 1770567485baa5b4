#pragma once
// Crossbar recipes: the TOML a user writes to describe one array and its stimulus.
//
//   [array]       rows, cols, cell (a registered kind: `xbarkit netlist --help` lists them), tech
//                 ("7nm" or a .toml path), and the cell kind's own keys (its cell_<kind>.cpp; e.g.
//                 passive_cell = "resistor" | "reram" for passive arrays)
//   [parasitics]  r_bitline, r_sourceline, r_wordline   (ohm per cell segment; tech defaults)
//   [bias]        v_read (V; tech default), vdd (V; tech default)
//   [stimulus]    inputs ("random" | one 0/1 per row), weights ("random" | path to a rows x cols
//                 0/1 text file), density (P(1) for random, default 0.5), input_density and
//                 weight_density (override density), seed (default 1)
//   [variation]   mismatch and corner (netlist/variation.hpp): avt_mV_um, sigma_ln_lrs, sigma_ln_hrs
//                 (technology defaults), sigma_ln_wire (optional per-line wire spread), scale, seed,
//                 corner (a [corners.<name>] of the technology)
//   [models]      library (user SPICE library), osdi (list of .osdi files), transistor and reram
//                 (subcircuit names in that library)
#include <filesystem>
#include <string>

#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::netlist {

struct CrossbarRecipe {
  std::filesystem::path file;   // where it came from ("" if from a string)
  std::string text;             // the recipe as written (provenance)
  Technology tech;
  Crossbar crossbar;
  uint64_t seed = 1;
  VariationSpec variation;      // [variation] (enabled = false without the table)
};

CrossbarRecipe load_crossbar_recipe(const std::filesystem::path& path);
// `source_name` names the recipe in errors; relative paths inside resolve against `base_dir`.
CrossbarRecipe parse_crossbar_recipe(const std::string& text, const std::string& source_name,
                                     const std::filesystem::path& base_dir);

// Random stimulus with the documented streams: inputs draw from Rng(seed, 0), weights from
// Rng(seed, 1), row-major. Exposed so other tools generate the same patterns as recipes do.
void fill_random_inputs(Crossbar& c, double density, uint64_t seed);
void fill_random_weights(Crossbar& c, double density, uint64_t seed);

}  // namespace xbarkit::netlist
