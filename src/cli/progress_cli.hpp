#pragma once
// The progress options every long-running command shares (core/progress.hpp).
#include <CLI/CLI.hpp>

#include "xbarkit/core/progress.hpp"

namespace xbarkit::cli {

// Adds --progress auto|bar|lines|off and --no-progress (= off); `mode` must outlive parsing.
void add_progress_options(CLI::App* cmd, ProgressMode& mode);

}  // namespace xbarkit::cli
