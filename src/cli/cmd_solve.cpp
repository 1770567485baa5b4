// xbarkit solve RECIPE --engine ngspice|native|both [--json] [--map out.csv] [--cell-table table.json]:
// column currents and IR-drop summary of an array.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "memory_check.hpp"
#include "registry.hpp"
#include "read_report.hpp"
#include "solve_report.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/circuit/iv_table.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/netlist/recipe.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_solve {
namespace {

struct Options {
  std::string recipe;
  std::string engine = "ngspice";
  bool json = false;
  std::string map;
  std::string cell_table;
  unsigned threads = 1;
  // --analysis read (issue 19): one read as a transient
  std::string analysis = "op";
  double settle = 0.01;
  double window_s = 0;
  int points = 200;
  std::string deck_out;
};

const xbarkit::cli::Register reg("solve", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("solve", "Solve a crossbar recipe's operating point and print its column currents");
  cmd->add_option("recipe", opt->recipe, "Crossbar recipe (TOML); [array] cell = " + xbarkit::netlist::cell_names())->required()->check(CLI::ExistingFile);
  cmd->add_option("--engine", opt->engine,
                  "Circuit engine: ngspice (golden reference, shared library), native (Eigen nodal/ladder solver, "
                  "same circuit), both (runs both and reports the per-column relative difference)")
      ->check(CLI::IsMember(xbarkit::cli::engine_names()))
      ->capture_default_str();
  cmd->add_flag("--json", opt->json,
                "Print one JSON object: engine, rows, cols, columns[{col, current_A}], ideal_columns, elapsed_s "
                "(both: columns[].ngspice_current_A, rel_diff, max_rel_diff, speedup)");
  cmd->add_option("--map", opt->map,
                  "Write the native solver's node voltages (IR-drop map) as CSV: row,col,bitline_V,sourceline_V,"
                  "wordline_V,internal_V (engine native or both)");
  cmd->add_option("--cell-table", opt->cell_table,
                  "Native engine: take the transistor I-V from this table (xbarkit characterize-cell) instead of "
                  "the built-in MVS equations")
      ->check(CLI::ExistingFile);
  cmd->add_option("--threads", opt->threads, "Native engine: columns solved in parallel (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--analysis", opt->analysis,
                  "op: DC column currents; read: one read as a transient (wordline drivers ramp, columns settle): "
                  "read_latency_s, read_energy_J, per-column settle_s, energy per source")
      ->check(CLI::IsMember({"op", "read"}))
      ->capture_default_str();
  cmd->add_option("--settle", opt->settle, "--analysis read: settling band, fraction of each column's final current")
      ->capture_default_str();
  cmd->add_option("--window-s", opt->window_s, "--analysis read: simulated time in s (0 = automatic from the circuit's RC)")
      ->capture_default_str();
  cmd->add_option("--points", opt->points, "--analysis read: ngspice's largest time step (TMAX) = window / points; the native engine steps at most window / 100 under its own error control and samples every step and stage point")
      ->capture_default_str();
  cmd->add_option("--deck-out", opt->deck_out, "--analysis read: also write the ngspice .tran deck to this file");
  cmd->callback([opt] {
    const auto recipe = xbarkit::netlist::load_crossbar_recipe(opt->recipe);
    if (opt->analysis == "read") {
      if (!opt->map.empty() || !opt->cell_table.empty())
        throw xbarkit::InputError("", "--analysis", "--map and --cell-table apply to the operating point (--analysis op)");
      xbarkit::transient::ReadOptions ro;
      ro.settle_fraction = opt->settle;
      ro.window_s = opt->window_s;
      ro.output_points = opt->points;
      ro.threads = opt->threads;
      const auto rep = xbarkit::cli::read_recipe(recipe, opt->engine, ro, opt->deck_out);
      if (opt->json) std::cout << xbarkit::cli::to_json(rep).dump(2) << "\n";
      else xbarkit::cli::print_report(std::cout, rep);
      const auto& main = rep.native ? *rep.native : *rep.ngspice;
      if (!main.all_settled()) throw xbarkit::SolverError("the read did not settle within its window (see the report above)");
      return;
    }
    xbarkit::cli::SolveSettings s;
    s.engine = opt->engine;
    s.native.threads = opt->threads;
    s.native.node_voltages = !opt->map.empty();
    if (!opt->map.empty() && opt->engine == "ngspice")
      throw xbarkit::InputError("", "--map", "node maps come from the native solver: use --engine native or both");
    if (!opt->cell_table.empty()) {
      if (opt->engine == "ngspice")
        throw xbarkit::InputError("", "--cell-table", "the I-V table feeds the native solver: use --engine native or both");
      s.cell_table = opt->cell_table;
      s.native.transistor_table =
          std::make_shared<const xbarkit::circuit::TransistorTable>(xbarkit::circuit::TransistorTable::load(opt->cell_table));
    }
    {
      namespace cli = xbarkit::cli;
      const auto& x = recipe.crossbar;
      const std::string file = recipe.file.string();
      if (opt->engine != "ngspice") cli::require_memory(cli::native_solve_bytes(x), x, "native solve", file, "array");
      if (opt->engine != "native")
        cli::require_memory(cli::ngspice_solve_bytes(x) + cli::deck_bytes(x), x, "ngspice solve", file, "array");
    }
    const auto report = xbarkit::cli::solve_recipe(recipe, s);
    if (!opt->map.empty()) xbarkit::cli::write_node_map(opt->map, *report.native);
    if (opt->json) std::cout << xbarkit::cli::to_json(report).dump(2) << "\n";
    else xbarkit::cli::print_report(std::cout, report);
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_solve
