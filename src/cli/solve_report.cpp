#include "solve_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/spice/crossbar_op.hpp"

namespace xbarkit::cli {

std::vector<std::string> engine_names() { return {"ngspice", "native", "both"}; }

SolveReport solve_recipe(const netlist::CrossbarRecipe& recipe, const std::string& engine) {
  SolveSettings s;
  s.engine = engine;
  return solve_recipe(recipe, s);
}

SolveReport solve_recipe(const netlist::CrossbarRecipe& recipe, const SolveSettings& settings) {
  const auto& engine = settings.engine;
  SolveReport r;
  r.engine = engine;
  r.recipe = recipe.file.string();
  r.crossbar = recipe.crossbar;
  if (engine != "ngspice" && engine != "native" && engine != "both")
    throw Error(fmt::format("unknown engine '{}' (use ngspice, native or both)", engine));
  if (engine == "native" || engine == "both") {
    if (!settings.cell_table.empty()) r.cell_model = "I-V table " + settings.cell_table;
    auto sol = circuit::solve_crossbar(recipe.crossbar, settings.native);
    r.current_A = sol.column_current_A;
    r.elapsed_s = sol.elapsed_s;
    auto ideal_opt = settings.native;
    ideal_opt.node_voltages = false;
    r.ideal_current_A = circuit::solve_crossbar(recipe.crossbar.ideal(), ideal_opt).column_current_A;
    r.native = std::move(sol);
  }
  if (engine == "ngspice" || engine == "both") {
    spice::Session session;
    const auto op = spice::solve_crossbar(session, recipe.crossbar);
    r.ngspice_op_method = op.op_method;
    if (engine == "ngspice") {
      r.current_A = op.column_current_A;
      r.elapsed_s = op.elapsed_s;
      r.ideal_current_A = spice::solve_crossbar(session, recipe.crossbar.ideal()).column_current_A;
    } else {
      r.ngspice_current_A = op.column_current_A;
      r.ngspice_elapsed_s = op.elapsed_s;
      for (size_t j = 0; j < op.column_current_A.size(); ++j) {
        const double ref = op.column_current_A[j];
        r.rel_diff.push_back(ref == 0 ? std::abs(r.current_A[j]) : std::abs(r.current_A[j] - ref) / std::abs(ref));
      }
    }
  }
  return r;
}

void write_node_map(const std::string& path, const circuit::CrossbarSolution& s) {
  if (s.bitline_V.empty()) throw Error("no node voltages in the solution (solve with node_voltages)");
  std::string csv = "row,col,bitline_V,sourceline_V,wordline_V,internal_V\n";
  auto at = [](const std::vector<double>& v, size_t k) { return v.empty() ? std::string() : fmt::format("{:.12g}", v[k]); };
  for (int i = 0; i < s.rows; ++i)
    for (int j = 0; j < s.cols; ++j) {
      const size_t k = static_cast<size_t>(i) * s.cols + j;
      csv += fmt::format("{},{},{},{},{},{}\n", i, j, at(s.bitline_V, k), at(s.sourceline_V, k), at(s.wordline_V, k),
                         at(s.internal_V, k));
    }
  write_file_atomic(path, csv);
}

nlohmann::ordered_json to_json(const SolveReport& r) {
  nlohmann::ordered_json j;
  j["engine"] = r.engine;
  j["recipe"] = r.recipe;
  j["cell"] = std::string(r.crossbar.cell_name());
  j["rows"] = r.crossbar.rows;
  j["cols"] = r.crossbar.cols;
  j["columns"] = nlohmann::ordered_json::array();
  j["ideal_columns"] = nlohmann::ordered_json::array();
  const bool both = r.engine == "both";
  for (int c = 0; c < r.crossbar.cols; ++c) {
    nlohmann::ordered_json col = {{"col", c}, {"current_A", r.current_A[c]}, {"conducting_cells", r.crossbar.conducting_count(c)}};
    if (both) col["ngspice_current_A"] = r.ngspice_current_A[c], col["rel_diff"] = r.rel_diff[c];
    j["columns"].push_back(col);
    j["ideal_columns"].push_back({{"col", c}, {"current_A", r.ideal_current_A[c]}});
  }
  j["elapsed_s"] = r.elapsed_s;
  if (!r.ngspice_op_method.empty()) j["ngspice_op_method"] = r.ngspice_op_method;
  if (r.native) {
    j["cell_model"] = r.cell_model;
    j["newton_iterations"] = r.native->newton_iterations;
  }
  if (both) {
    j["max_rel_diff"] = r.rel_diff.empty() ? 0.0 : *std::max_element(r.rel_diff.begin(), r.rel_diff.end());
    j["ngspice_elapsed_s"] = r.ngspice_elapsed_s;
    j["speedup"] = r.elapsed_s > 0 ? r.ngspice_elapsed_s / r.elapsed_s : 0.0;
  }
  return j;
}

void print_report(std::ostream& out, const SolveReport& r) {
  const auto& x = r.crossbar;
  fmt::print(out, "{} {}x{} array ({}), engine {}, solved in {:.3f} s\n", std::string(x.cell_name()), x.rows, x.cols,
             r.recipe, r.engine, r.elapsed_s);
  fmt::print(out, "wires: bitline {} ohm, source line {} ohm, wordline {} ohm per cell; v_read {} V\n\n",
             x.parasitics.r_bitline_ohm, x.parasitics.r_sourceline_ohm, x.parasitics.r_wordline_ohm, x.v_read_V);
  const bool both = r.engine == "both";
  if (both)
    fmt::print(out, "native {:.6f} s, ngspice {:.3f} s ({:.0f}x); currents below are native, rel diff vs ngspice\n\n",
               r.elapsed_s, r.ngspice_elapsed_s, r.elapsed_s > 0 ? r.ngspice_elapsed_s / r.elapsed_s : 0.0);
  fmt::print(out, "{:>5} {:>6} {:>14} {:>14} {:>9}{}\n", "col", "cells", "current (uA)", "ideal (uA)", "loss (%)",
             both ? fmt::format(" {:>10}", "rel diff") : std::string());
  double total = 0, total_ideal = 0, worst = 0, sum_loss = 0;
  int worst_col = -1, counted = 0;
  const double floor_A = 1e-3 * *std::max_element(r.ideal_current_A.begin(), r.ideal_current_A.end());
  for (int c = 0; c < x.cols; ++c) {
    const double i = r.current_A[c], i0 = r.ideal_current_A[c];
    const bool meaningful = i0 > floor_A;  // loss of a column that barely conducts is noise
    const double loss = meaningful ? 100.0 * (1.0 - i / i0) : 0.0;
    fmt::print(out, "{:>5} {:>6} {:>14.6f} {:>14.6f} {:>9}{}\n", c, x.conducting_count(c), i * 1e6, i0 * 1e6,
               meaningful ? fmt::format("{:.3f}", loss) : std::string("-"),
               both ? fmt::format(" {:>10.2e}", r.rel_diff[c]) : std::string());
    total += i;
    total_ideal += i0;
    if (meaningful) {
      sum_loss += loss;
      ++counted;
      if (loss > worst) worst = loss, worst_col = c;
    }
  }
  fmt::print(out, "\nIR-drop summary: total column current {:.4f} uA vs {:.4f} uA ideal ({:.3f}% lost)\n", total * 1e6,
             total_ideal * 1e6, total_ideal > 0 ? 100.0 * (1 - total / total_ideal) : 0.0);
  if (both)
    fmt::print(out, "native vs ngspice: max relative column difference {:.3e}\n",
               r.rel_diff.empty() ? 0.0 : *std::max_element(r.rel_diff.begin(), r.rel_diff.end()));
  if (counted > 0)
    fmt::print(out, "per-column current loss: mean {:.3f}%, worst {:.3f}% (column {}, {} conducting cells)\n",
               sum_loss / counted, worst, worst_col, x.conducting_count(worst_col));
  if (!r.ngspice_op_method.empty() && r.ngspice_op_method != "newton")
    fmt::print(out, "note: ngspice's DC Newton did not converge directly; its operating point comes from its {} "
                    "fallback{}\n", r.ngspice_op_method,
               r.ngspice_op_method == "transient op"
                   ? " (settled to transient tolerances, not converged to the deck's reltol: ~1e-6 relative)"
                   : "");
}

}  // namespace xbarkit::cli
