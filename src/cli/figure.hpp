#pragma once
// Figures for reports written by other commands (the main job's): runs `xbarkit plot ARGS...` as a
// child process, its output on our stderr, so stdout stays the command's own (--json).
#include <string>
#include <vector>

namespace xbarkit::cli {

// The plot's exit status (0: the file was written); -1 when the child could not be started.
int draw_figure(const std::vector<std::string>& plot_args);

}  // namespace xbarkit::cli
