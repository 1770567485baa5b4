#pragma once
// `xbarkit solve RECIPE --analysis read` (issue 19): one read as a transient in ngspice (.tran),
// the native integrator, or both, reported as latency, energy per source and per-column settling.
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/transient/read.hpp"

namespace xbarkit::cli {

struct ReadReport {
  std::string engine;  // ngspice | native | both
  std::string recipe;
  int rows = 0, cols = 0;
  std::string cell;
  std::optional<transient::ReadResult> native, ngspice;
};

ReadReport read_recipe(const netlist::CrossbarRecipe& recipe, const std::string& engine, const transient::ReadOptions& opt,
                       const std::string& deck_out);
// JSON: read_latency_s, read_energy_J, settle_fraction, window_s, columns[{col, settle_s, final_current_A}],
// sources{name: J}, groups{wordline_drivers, bitline, ...}; engine both: the native numbers plus
// ngspice{...} and rel_diff{read_latency, read_energy}.
nlohmann::ordered_json to_json(const ReadReport& report);
void print_report(std::ostream& out, const ReadReport& report);

}  // namespace xbarkit::cli
