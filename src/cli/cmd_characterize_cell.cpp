// xbarkit characterize-cell RECIPE -o table.json: tabulate the recipe's transistor I-V in ngspice so
// the native solver can use it (solve --cell-table), e.g. for a user's own model card or OSDI device.
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "progress_cli.hpp"
#include "registry.hpp"
#include "xbarkit/characterize/transistor_sweep.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/session.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_characterize_cell {
namespace {

struct Options {
  std::string recipe;
  std::string out;
  double v_min = -0.1, v_max = 0.8, step = 0.005;
  xbarkit::ProgressMode progress = xbarkit::ProgressMode::automatic;
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
  xbarkit::cli::add_progress_options(cmd, opt->progress);
  cmd->callback([opt] {
    using xbarkit::InputError;
    // The grid reaches ngspice's dc sweep, which neither bounds the point count nor names our options.
    if (!std::isfinite(opt->v_min)) throw InputError("", "--v-min", fmt::format("must be finite, got {}", opt->v_min));
    if (!std::isfinite(opt->v_max)) throw InputError("", "--v-max", fmt::format("must be finite, got {}", opt->v_max));
    if (!(opt->v_max > opt->v_min))
      throw InputError("", "--v-max", fmt::format("{} V must be greater than --v-min {} V", opt->v_max, opt->v_min));
    if (std::abs(opt->v_min) > 100 || std::abs(opt->v_max) > 100)
      throw InputError("", "--v-min/--v-max", "voltages beyond +-100 V are no transistor's operating range");
    if (!(opt->step > 0) || !std::isfinite(opt->step))
      throw InputError("", "--step", fmt::format("must be a finite number > 0 V, got {}", opt->step));
    const double per_axis = (opt->v_max - opt->v_min) / opt->step + 1;
    if (per_axis > 2001)
      throw InputError("", "--step",
                       fmt::format("{} V gives {:.3g} points per axis ({:.3g} per gate level); at most 2001 per axis "
                                   "(use --step >= {:.3g} V)",
                                   opt->step, per_axis, per_axis * per_axis, (opt->v_max - opt->v_min) / 2000));
    if (per_axis < 4) throw InputError("", "--step", "gives fewer than 4 points per axis (bicubic needs 4)");
    xbarkit::check_output_file(opt->out, "--output");  // before minutes of ngspice, not after
    const auto recipe = xbarkit::netlist::load_crossbar_recipe(opt->recipe);
    xbarkit::spice::Session session;
    xbarkit::ProgressReporter progress("characterize-cell", "gate levels", 2, opt->progress);
    const auto table = xbarkit::characterize::characterize_transistor(session, recipe.crossbar,
                                                                 {opt->v_min, opt->v_max, opt->step}, &progress);
    progress.finish();
    table.save(opt->out);
    fmt::print("{}: {} gate levels x {}x{} points ({})\n", opt->out, table.gate_levels_V().size(),
               table.points_per_axis(), table.points_per_axis(), table.description());
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_characterize_cell
