// xbarkit plot FIGURE ... : the figures of the Python package's xbarkit.plot (matplotlib) from the
// command line: ir-map, psw, lut, accuracy, energy. One implementation of every figure serves the CLI,
// Python users and the main job's report; this command runs `python3 -m xbarkit.plot` with the
// package this build made (BUILD/python) first on the path.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "registry.hpp"
#include "xbarkit/core/error.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_plot {
namespace {

namespace fs = std::filesystem;

const xbarkit::cli::Register reg("plot", [](CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "plot", "Draw a figure (PNG, SVG or PDF by the file extension): ir-map RECIPE, psw BUNDLE, lut BUNDLE, accuracy "
              "JSON..., energy JSON... (runs python3 -m xbarkit.plot; see 'xbarkit plot --help')");
  cmd->prefix_command();  // everything after "plot" goes to the Python module unparsed
  cmd->set_help_flag();   // including --help
  cmd->callback([cmd] {
    const char* env_python = std::getenv("XBARKIT_PYTHON");
    const std::string python = env_python && *env_python ? env_python : XBARKIT_DEFAULT_PYTHON;
    std::error_code ec;
    const auto self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec && fs::exists(self.parent_path() / "python" / "xbarkit" / "plot.py")) {
      const char* old = std::getenv("PYTHONPATH");
      const std::string path = (self.parent_path() / "python").string() + (old && *old ? ":" + std::string(old) : "");
      ::setenv("PYTHONPATH", path.c_str(), 1);
    }
    ::setenv("XBARKIT_PLOT_PROG", "xbarkit plot", 1);  // the module's usage lines name this command
    ::setenv("MPLBACKEND", "Agg", 0);                   // files only: never a window
    std::vector<std::string> args{python, "-m", "xbarkit.plot"};
    for (const auto& a : cmd->remaining()) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(python.c_str(), argv.data());
    throw xbarkit::Error(fmt::format("cannot run {} for the figures ({}): scripts/setup.sh installs Debian's python3 "
                                     "with python3-matplotlib; XBARKIT_PYTHON names another interpreter",
                                     python, std::strerror(errno)));
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_plot
