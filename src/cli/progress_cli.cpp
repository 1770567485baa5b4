#include "progress_cli.hpp"

#include <map>
#include <string>

namespace xbarkit::cli {

void add_progress_options(CLI::App* cmd, ProgressMode& mode) {
  const std::map<std::string, ProgressMode> modes{{"auto", ProgressMode::automatic},
                                                  {"bar", ProgressMode::bar},
                                                  {"lines", ProgressMode::lines},
                                                  {"off", ProgressMode::off}};
  auto* p = cmd->add_option("--progress", mode,
                            "Progress on stderr: auto (a redrawn bar on a terminal, otherwise a line now and then "
                            "for batch logs), bar, lines or off")
                ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case))
                ->default_str("auto");
  cmd->add_flag_callback("--no-progress", [&mode] { mode = ProgressMode::off; }, "Same as --progress off")->excludes(p);
}

}  // namespace xbarkit::cli
