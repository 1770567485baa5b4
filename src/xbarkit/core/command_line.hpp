#pragma once
// The command line of this process as a user could paste it into a POSIX shell (for reports and
// provenance).
#include <string>
#include <string_view>
#include <vector>

namespace xbarkit {

// `arg` quoted for a POSIX shell: unchanged when it has only safe characters, else in single quotes
// (an embedded ' written as '\'').
std::string shell_quote(std::string_view arg);
std::string shell_join(const std::vector<std::string>& args);
// This process's arguments (/proc/self/cmdline), shell-quoted and joined; "" where unavailable.
std::string this_command_line();

}  // namespace xbarkit
