#include "solve_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/spice/crossbar_op.hpp"

namespace xbarkit::cli {

std::vector<std::string> engine_names() { return {"ngspice"}; }

SolveReport solve_recipe(const netlist::CrossbarRecipe& recipe, const std::string& engine) {
  SolveReport r;
  r.engine = engine;
  r.recipe = recipe.file.string();
  r.crossbar = recipe.crossbar;
  if (engine == "ngspice") {
    spice::Session session;
    const auto op = spice::solve_crossbar(session, recipe.crossbar);
    r.current_A = op.column_current_A;
    r.elapsed_s = op.elapsed_s;
    r.ideal_current_A = spice::solve_crossbar(session, recipe.crossbar.ideal()).column_current_A;
  } else {
    throw Error(fmt::format("unknown engine '{}'", engine));
  }
  return r;
}

nlohmann::ordered_json to_json(const SolveReport& r) {
  nlohmann::ordered_json j;
  j["engine"] = r.engine;
  j["recipe"] = r.recipe;
  j["cell"] = netlist::to_string(r.crossbar.cell);
  j["rows"] = r.crossbar.rows;
  j["cols"] = r.crossbar.cols;
  j["columns"] = nlohmann::ordered_json::array();
  j["ideal_columns"] = nlohmann::ordered_json::array();
  for (int c = 0; c < r.crossbar.cols; ++c) {
    j["columns"].push_back({{"col", c}, {"current_A", r.current_A[c]}, {"conducting_cells", r.crossbar.conducting_count(c)}});
    j["ideal_columns"].push_back({{"col", c}, {"current_A", r.ideal_current_A[c]}});
  }
  j["elapsed_s"] = r.elapsed_s;
  return j;
}

void print_report(std::ostream& out, const SolveReport& r) {
  const auto& x = r.crossbar;
  fmt::print(out, "{} {}x{} array ({}), engine {}, solved in {:.3f} s\n", netlist::to_string(x.cell), x.rows, x.cols,
             r.recipe, r.engine, r.elapsed_s);
  fmt::print(out, "wires: bitline {} ohm, source line {} ohm, wordline {} ohm per cell; v_read {} V\n\n",
             x.parasitics.r_bitline_ohm, x.parasitics.r_sourceline_ohm, x.parasitics.r_wordline_ohm, x.v_read_V);
  fmt::print(out, "{:>5} {:>6} {:>14} {:>14} {:>9}\n", "col", "cells", "current (uA)", "ideal (uA)", "loss (%)");
  double total = 0, total_ideal = 0, worst = 0, sum_loss = 0;
  int worst_col = -1, counted = 0;
  const double floor_A = 1e-3 * *std::max_element(r.ideal_current_A.begin(), r.ideal_current_A.end());
  for (int c = 0; c < x.cols; ++c) {
    const double i = r.current_A[c], i0 = r.ideal_current_A[c];
    const bool meaningful = i0 > floor_A;  // loss of a column that barely conducts is noise
    const double loss = meaningful ? 100.0 * (1.0 - i / i0) : 0.0;
    fmt::print(out, "{:>5} {:>6} {:>14.6f} {:>14.6f} {:>9}\n", c, x.conducting_count(c), i * 1e6, i0 * 1e6,
               meaningful ? fmt::format("{:.3f}", loss) : std::string("-"));
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
  if (counted > 0)
    fmt::print(out, "per-column current loss: mean {:.3f}%, worst {:.3f}% (column {}, {} conducting cells)\n",
               sum_loss / counted, worst, worst_col, x.conducting_count(worst_col));
}

}  // namespace xbarkit::cli
