// xbarkit models spice-lib TECH : print (or write) the SPICE library of a technology's FinFET flavours.
#include <iostream>

#include "registry.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/spice/device_checks.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_models {
namespace {

struct Options {
  std::string tech = "7nm";
  std::string output;
  bool json = false;
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

  auto* check = cmd->add_subcommand(
      "check", "Run the shipped device models in ngspice against their published check values (exit 1 if any fails)");
  check->add_option("tech", opt->tech, "Technology name under models/tech/ or a .toml path")->capture_default_str();
  check->add_flag("--json", opt->json, "Print a JSON array of {name, value_A, reference_A, rel_error, passed}");
  check->callback([opt] {
    xbarkit::spice::Session session;
    const auto checks = xbarkit::spice::run_device_checks(session, xbarkit::netlist::load_technology(opt->tech));
    bool ok = true;
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    if (!opt->json)
      fmt::print("| check | ngspice | reference | error | source |\n|---|---|---|---|---|\n");
    for (const auto& c : checks) {
      ok &= c.passed();
      if (opt->json)
        j.push_back({{"name", c.name}, {"value_A", c.value_A}, {"reference_A", c.reference_A},
                     {"rel_error", c.relative_error()}, {"tolerance", c.tolerance}, {"passed", c.passed()}});
      else
        fmt::print("| {} | {:.4g} A | {:.4g} A | {:+.2f}% {} | {} |\n", c.name, c.value_A, c.reference_A,
                   100 * c.relative_error(), c.passed() ? "ok" : "FAIL", c.source);
    }
    if (opt->json) fmt::print("{}\n", j.dump(2));
    if (!ok) throw xbarkit::Error("a device check is outside its tolerance");
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_models
