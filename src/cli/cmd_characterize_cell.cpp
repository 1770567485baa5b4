// xbarkit characterize-cell RECIPE -o table.json: tabulate the recipe's transistor I-V in ngspice so
// the native solver can use it (solve --cell-table), e.g. for a user's own model card or OSDI device.
#include <iostream>

#include <fmt/format.h>

#include "registry.hpp"
#include "xbarkit/characterize/transistor_sweep.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/session.hpp"

namespace {

struct Options {
  std::string recipe;
  std::string out;
  double v_min = -0.1, v_max = 0.8, step = 0.005;
};

const xbarkit::cli::Register reg("characterize-cell", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "characterize-cell",
      "Sweep the recipe's transistor subcircuit (shipped MVS flavour or [models] transistor) in ngspice over a "
      "grid of drain and source voltages at gate 0 and vdd, and store a smooth I-V table for solve --cell-table");
  cmd->add_option("recipe", opt->recipe, "Crossbar recipe (TOML) of a cell kind with a transistor")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->out, "Table file to write (JSON, written atomically)")->required();
  cmd->add_option("--v-min", opt->v_min, "Lowest drain/source voltage (V)")->capture_default_str();
  cmd->add_option("--v-max", opt->v_max, "Highest drain/source voltage (V)")->capture_default_str();
  cmd->add_option("--step", opt->step, "Grid step (V); interpolation error falls as step^4")->capture_default_str();
  cmd->callback([opt] {
    const auto recipe = xbarkit::netlist::load_crossbar_recipe(opt->recipe);
    xbarkit::spice::Session session;
    const auto table = xbarkit::characterize::characterize_transistor(session, recipe.crossbar,
                                                                 {opt->v_min, opt->v_max, opt->step});
    table.save(opt->out);
    fmt::print("{}: {} gate levels x {}x{} points ({})\n", opt->out, table.gate_levels_V().size(),
               table.points_per_axis(), table.points_per_axis(), table.description());
  });
});

}  // namespace
