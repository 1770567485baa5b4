// xbarkit solve RECIPE --engine ngspice [--json] : column currents and IR-drop summary of an array.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "registry.hpp"
#include "solve_report.hpp"
#include "xbarkit/netlist/recipe.hpp"

namespace {

struct Options {
  std::string recipe;
  std::string engine = "ngspice";
  bool json = false;
};

const xbarkit::cli::Register reg("solve", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("solve", "Solve a crossbar recipe's operating point and print its column currents");
  cmd->add_option("recipe", opt->recipe, "Crossbar recipe (TOML)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--engine", opt->engine, "Circuit engine: ngspice (golden reference, shared library)")
      ->check(CLI::IsMember(xbarkit::cli::engine_names()))
      ->capture_default_str();
  cmd->add_flag("--json", opt->json,
                "Print one JSON object: engine, rows, cols, columns[{col, current_A}], ideal_columns, elapsed_s");
  cmd->callback([opt] {
    const auto recipe = xbarkit::netlist::load_crossbar_recipe(opt->recipe);
    const auto report = xbarkit::cli::solve_recipe(recipe, opt->engine);
    if (opt->json) std::cout << xbarkit::cli::to_json(report).dump(2) << "\n";
    else xbarkit::cli::print_report(std::cout, report);
  });
});

}  // namespace
