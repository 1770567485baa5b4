#pragma once
// Solving a recipe with one engine and reporting column currents against the ideal (zero-wire) array.
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarkit/netlist/recipe.hpp"

namespace xbarkit::cli {

struct SolveReport {
  std::string engine;
  std::string recipe;
  netlist::Crossbar crossbar;
  std::vector<double> current_A;        // with parasitics
  std::vector<double> ideal_current_A;  // all wire resistances zero
  double elapsed_s = 0;                 // the non-ideal solve
};

std::vector<std::string> engine_names();
SolveReport solve_recipe(const netlist::CrossbarRecipe& recipe, const std::string& engine);
nlohmann::ordered_json to_json(const SolveReport& report);
// Human-readable table and IR-drop summary.
void print_report(std::ostream& out, const SolveReport& report);

}  // namespace xbarkit::cli
