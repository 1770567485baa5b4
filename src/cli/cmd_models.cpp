// xbarkit models spice-lib TECH : print (or write) the SPICE library of a technology's FinFET flavours.
#include <iostream>

#include "registry.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/netlist/deck_writer.hpp"

namespace {

struct Options {
  std::string tech = "7nm";
  std::string output;
};

const xbarkit::cli::Register reg("models", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("models", "Device-model utilities");
  cmd->require_subcommand(1);
  auto* lib = cmd->add_subcommand(
      "spice-lib", "Write the ngspice library of a technology's FinFET flavours (models/spice/finfet_7nm.lib)");
  lib->add_option("tech", opt->tech, "Technology name under models/tech/ or a .toml path")->capture_default_str();
  lib->add_option("-o,--output", opt->output, "File to write (atomically); omitted: stdout");
  lib->callback([opt] {
    const auto text = xbarkit::netlist::finfet_flavour_library(xbarkit::netlist::load_technology(opt->tech));
    if (opt->output.empty()) std::cout << text;
    else xbarkit::write_file_atomic(opt->output, text);
  });
});

}  // namespace
