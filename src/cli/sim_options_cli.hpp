#pragma once
// The crossbar options shared by `xbarkit infer` and `xbarkit train` (same names, same checks:
// imc::make_sim_config).
#include <CLI/CLI.hpp>

#include "xbarkit/imc/sim_options.hpp"

namespace xbarkit::cli {

// Adds --rows --cols --mapping --binsparx --calibration-images --calibration-data --array-lut --converter
// --lut-mean --cell --wire-scale --tech --corner --chip (and --exact --variation --chip-seed when `with_exact`) to `cmd`, bound to `o`.
void add_sim_options(CLI::App* cmd, imc::SimOptions& o, bool with_exact);

}  // namespace xbarkit::cli
