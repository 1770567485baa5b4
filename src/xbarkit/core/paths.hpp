#pragma once
// Where the shipped models and recipes live. The source tree is compiled in; XBARKIT_SOURCE_DIR in
// the environment overrides it (e.g. an installed or relocated tree).
#include <cstdlib>
#include <filesystem>

namespace xbarkit {

inline std::filesystem::path source_dir() {
  if (const char* env = std::getenv("XBARKIT_SOURCE_DIR"); env && *env) return env;
  return XBARKIT_SOURCE_DIR;
}
inline std::filesystem::path models_dir() { return source_dir() / "models"; }

}  // namespace xbarkit
