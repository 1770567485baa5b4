#pragma once
// Solving a recipe with one engine (or both) and reporting column currents against the ideal
// (zero-wire) array.
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/netlist/recipe.hpp"

namespace xbarkit::cli {

struct SolveReport {
  std::string engine;                   // ngspice | native | both
  std::string recipe;
  netlist::Crossbar crossbar;
  std::vector<double> current_A;        // with parasitics (native for "both")
  std::vector<double> ideal_current_A;  // all wire resistances zero
  double elapsed_s = 0;                 // the non-ideal solve
  // engine "both": the ngspice result and the per-column |native - ngspice| / |ngspice|.
  std::vector<double> ngspice_current_A;
  std::vector<double> rel_diff;
  double ngspice_elapsed_s = 0;
  std::string ngspice_op_method;        // engines ngspice/both: "newton" or ngspice's fallback (OpResult::method)
  // native solves: the full solution (node voltages when requested)
  std::optional<circuit::CrossbarSolution> native;
  std::string cell_model = "built-in";  // native cell-model source
};

struct SolveSettings {
  std::string engine = "ngspice";
  circuit::SolveOptions native;         // threads, tolerances, node voltages, cell table
  std::string cell_table;               // path of the table in native.transistor_table ("" = built-in)
};

std::vector<std::string> engine_names();
SolveReport solve_recipe(const netlist::CrossbarRecipe& recipe, const std::string& engine);
SolveReport solve_recipe(const netlist::CrossbarRecipe& recipe, const SolveSettings& settings);
nlohmann::ordered_json to_json(const SolveReport& report);
// Human-readable table and IR-drop summary.
void print_report(std::ostream& out, const SolveReport& report);
// Node-voltage map (IR drop) of a native solution as CSV, written atomically.
void write_node_map(const std::string& path, const circuit::CrossbarSolution& solution);

}  // namespace xbarkit::cli
