// xbarkit characterize RECIPE -o BUNDLE [--resume | --force] : run a characterization recipe into a
// LUT bundle (characterize/runner.hpp).
#include <iostream>

#include <fmt/format.h>

#include "registry.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/lut/bundle.hpp"

namespace {

struct Options {
  std::string recipe;
  xbarkit::characterize::RunOptions run;
  std::string output;
  bool progress = false, no_progress = false;
};

const xbarkit::cli::Register reg("characterize", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "characterize",
      "Run a characterization recipe (characterization/*.toml: array_ps, adc, ...) into a LUT bundle directory");
  cmd->add_option("recipe", opt->recipe, "Characterization recipe (TOML), e.g. characterization/array_ps_7nm.toml")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->output, "Bundle directory to write (lut.json + tables/*.csv); also holds the "
                                              "journal while the sweep runs")
      ->required();
  auto* resume = cmd->add_flag("--resume", opt->run.resume,
                               "Continue an interrupted run from BUNDLE/journal.jsonl (same recipe file required)");
  cmd->add_flag("--force", opt->run.force, "Discard an existing bundle or journal at BUNDLE and start over")
      ->excludes(resume);
  cmd->add_option("--threads", opt->run.threads, "Worker threads / ngspice processes (default: the recipe's, 0 = all "
                                                 "cores)");
  cmd->add_flag("--progress", opt->progress, "Always show progress on stderr (default: only on a terminal)");
  cmd->add_flag("--no-progress", opt->no_progress, "Never show progress");
  cmd->callback([opt] {
    opt->run.output = opt->output;
    opt->run.progress = opt->no_progress ? 0 : (opt->progress ? 1 : -1);
    const auto s = xbarkit::characterize::run_characterization(opt->recipe, opt->run);
    std::cout << fmt::format("wrote {}: {} points ({} computed, {} reused from the journal, {} failed) in {:.1f} s\n",
                             opt->output, s.points, s.computed, s.reused, s.failed, s.elapsed_s);
    if (s.failed > 0)
      std::cout << fmt::format("{} points failed; their errors are listed in {}/lut.json (failures) and by "
                               "'xbarkit lut check {}'\n",
                               s.failed, opt->output, opt->output);
    const auto b = xbarkit::lut::load_bundle(opt->output);
    if (b.validation.contains("nrmse_mean"))
      std::cout << fmt::format("held-out check: nrmse_mean {:.4f} of full scale, coverage_2sigma {:.3f} (worst "
                               "configuration); details: xbarkit lut check {}\n",
                               b.validation["nrmse_mean"].get<double>(), b.validation["coverage_2sigma"].get<double>(),
                               opt->output);
  });
});

}  // namespace
