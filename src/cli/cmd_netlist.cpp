// xbarkit netlist RECIPE -o deck.cir : write the standalone SPICE deck of a crossbar recipe.
#include <iostream>
#include <string>

#include "memory_check.hpp"
#include "registry.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/recipe.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_netlist {
namespace {

struct Options {
  std::string recipe;
  std::string output;
  bool ideal = false;
};

const xbarkit::cli::Register reg("netlist", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("netlist", "Write the standalone ngspice deck (.op included) of a crossbar recipe");
  cmd->add_option("recipe", opt->recipe,
                  "Crossbar recipe (TOML), e.g. netlists/sram8t_7nm_32x32.toml; [array] cell = " +
                      xbarkit::netlist::cell_names())
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->output, "Deck file to write (atomically); '-' or omitted: stdout");
  cmd->add_flag("--ideal", opt->ideal, "Set every parasitic wire resistance to zero");
  cmd->callback([opt] {
    const auto recipe = xbarkit::netlist::load_crossbar_recipe(opt->recipe);
    xbarkit::cli::require_memory(xbarkit::cli::deck_bytes(recipe.crossbar), recipe.crossbar, "deck",
                                 recipe.file.string(), "array");
    if (!opt->output.empty() && opt->output != "-") xbarkit::check_output_file(opt->output, "--output");
    const auto& xbar = opt->ideal ? recipe.crossbar.ideal() : recipe.crossbar;
    xbarkit::netlist::DeckOptions deck_options;
    deck_options.title = recipe.file.filename().string();
    const auto deck = xbarkit::netlist::write_deck(xbar, deck_options);
    if (opt->output.empty() || opt->output == "-") std::cout << deck;
    else xbarkit::write_file_atomic(opt->output, deck);
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_netlist
