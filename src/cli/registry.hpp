#pragma once
// Subcommands register themselves (one file each), so adding one touches only its own file.
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace xbarkit::cli {

using Setup = std::function<void(CLI::App& app)>;

inline std::vector<std::pair<std::string, Setup>>& registry() {
  static std::vector<std::pair<std::string, Setup>> commands;
  return commands;
}

struct Register {
  Register(std::string name, Setup setup) { registry().emplace_back(std::move(name), std::move(setup)); }
};

}  // namespace xbarkit::cli
