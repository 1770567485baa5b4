// xbarkit run : the main job on built-in defaults (the README's first command).
#include <iostream>

#include <fmt/format.h>

#include "registry.hpp"
#include "solve_report.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/netlist/recipe.hpp"

namespace {

struct Options {
  std::string recipe;
};

const xbarkit::cli::Register reg("run", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  opt->recipe = (xbarkit::source_dir() / "netlists" / "sram8t_7nm_32x32.toml").string();
  auto* cmd = app.add_subcommand("run", "The main job on built-in defaults: solve the default 7nm 8T-SRAM array "
                                        "in ngspice and print its column currents and IR-drop summary");
  cmd->add_option("--recipe", opt->recipe, "Crossbar recipe to use instead of the default")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  cmd->callback([opt] {
    const auto recipe = xbarkit::netlist::load_crossbar_recipe(opt->recipe);
    xbarkit::cli::print_report(std::cout, xbarkit::cli::solve_recipe(recipe, "ngspice"));
  });
});

}  // namespace
