// `xbarkit train ...` runs xbarkit-train (cmd_train.cpp), which lives next to this executable: the
// trainer links libtorch, and keeping it out of `xbarkit` keeps every other command's start fast.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "registry.hpp"
#include "xbarkit/core/error.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_train_forward {
namespace {

const xbarkit::cli::Register reg("train", [](CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a binary neural network with libtorch, optionally with the crossbar "
                                          "in the loop (runs xbarkit-train; see 'xbarkit train --help')");
  cmd->prefix_command();  // everything after "train" goes to xbarkit-train unparsed
  cmd->set_help_flag();   // including --help
  cmd->callback([cmd] {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto partner = (ec ? std::filesystem::path(".") : self.parent_path()) / "xbarkit-train";
    std::vector<std::string> args{partner.string(), "train"};
    for (const auto& a : cmd->remaining()) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(partner.c_str(), argv.data());
    throw xbarkit::Error(fmt::format("cannot run {} ({}): the trainer is not built; scripts/setup.sh builds "
                                     "everything (a build made by scripts/run.sh has only the main job's tool)",
                                     partner.string(), std::strerror(errno)));
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_train_forward
