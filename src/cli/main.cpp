// xbarkit: characterize compute-in-memory crossbars with SPICE and turn them into calibrated models.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "registry.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/stop.hpp"

namespace {

// Counts and seeds are unsigned in the commands; CLI11 would wrap "-1" to 2^64 - 1 (strtoull
// semantics, C11 7.22.1.4) and accept a million threads. One place refuses both for every command.
void harden_count_options(CLI::App* app) {
  for (CLI::Option* o : app->get_options()) {
    if (o->check_lname("threads")) o->check(CLI::Range(0, 4096));
    else if (o->check_lname("seed") || o->check_lname("images") || o->check_lname("train-images") ||
             o->check_lname("test-images") || o->check_lname("trials") || o->check_lname("epochs"))
      o->check(CLI::NonNegativeNumber);
  }
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) harden_count_options(sub);
}

// Exit status (README "Exit status"): the same scheme for every command and both executables.
constexpr int kExitInputError = 1;     // a file, value or command line the user can fix
constexpr int kExitInternalError = 2;  // a bug: please report it
// Interrupted by SIGINT / SIGTERM: 128 + signal, the shell's convention (130 / 143), so scripts and
// Slurm see the same status as for a process killed by the signal; the work done is kept and the
// command's --resume (characterize, train) continues it.
int interrupted_status(int signal) { return 128 + signal; }

const char* const kExitStatusHelp =
    "Exit status: 0 success; 1 error the message explains (a file, value or command line to fix, or a failed "
    "computation such as ngspice's own error); "
    "2 internal error (a bug: please report it); 130 / 143 interrupted by SIGINT / SIGTERM (finished work is "
    "kept: characterize and train continue with --resume).";

}  // namespace

// xbarkit-train: libtorch's OpenMP runtime (libgomp) lets idle workers spin for a while before sleeping, and reads
// that policy from OMP_WAIT_POLICY once, when it loads. On shared cores (2 cores, several jobs)
// spinning workers burn the time slices the working threads need: the MLP trained 10-30x slower
// than with passive waiting (docs/PERFORMANCE.md). So xbarkit-train re-executes itself once with
// passive waiting unless the user chose a policy.
static void use_passive_openmp_waiting([[maybe_unused]] char** argv) {
#ifdef XBARKIT_CLI_TRAINS  // only xbarkit-train loads libtorch's OpenMP runtime
  if (std::getenv("OMP_WAIT_POLICY")) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then run with the default policy
#endif
}

int main(int argc, char** argv) {
  use_passive_openmp_waiting(argv);
  CLI::App app{
      "xbarkit: compute-in-memory crossbar characterization (ngspice + native solver), LUTs and BNN inference.\n"
      "Run 'xbarkit <command> --help' for each command's options."};
  app.require_subcommand(1);
  app.set_version_flag("--version", XBARKIT_VERSION);
  app.footer(kExitStatusHelp);
  auto& commands = xbarkit::cli::registry();
  std::sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, setup] : commands) setup(app);
  harden_count_options(&app);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) sub->footer(kExitStatusHelp);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version (CLI11's "errors" with status 0) print and succeed; a malformed command
    // line is an input error, whatever CLI11's own numbering (105, 106, 109, ...).
    const int status = app.exit(e);
    return status == 0 ? 0 : kExitInputError;
  } catch (const xbarkit::Error& e) {
    std::cerr << "xbarkit: error: " << e.what() << "\n";
    if (const int sig = xbarkit::stop_signal()) return interrupted_status(sig);
    return kExitInputError;
  } catch (const std::filesystem::filesystem_error& e) {
    // The environment refused a file operation (read-only filesystem, permissions, disk full): the
    // message names the path and the operation, and it is the user's to fix, not an internal error.
    std::cerr << "xbarkit: error: " << e.what() << "\n";
    return kExitInputError;
  } catch (const std::exception& e) {
    std::cerr << "xbarkit: unexpected error: " << e.what() << "\n";
    return kExitInternalError;
  }
  return 0;
}
