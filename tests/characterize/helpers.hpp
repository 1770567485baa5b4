#pragma once
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarkit/core/file_io.hpp"

namespace test_helpers {

inline std::filesystem::path temp_dir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / fmt::format("xbarkit_char_{}_{}", name, ::getpid());
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

inline void write(const std::filesystem::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

// Everything of a bundle that must not depend on how the run went (date, timing, resume counts).
inline nlohmann::json comparable_manifest(const std::filesystem::path& dir) {
  auto j = nlohmann::json::parse(xbarkit::read_text_file(dir / "lut.json"));
  j["provenance"].erase("date");
  j["provenance"].erase("run");
  j.erase("manifest_sha256");  // lut.json's digest of itself covers the date and timings above
  return j;
}

}  // namespace test_helpers
