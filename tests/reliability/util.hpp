#pragma once
// Shared helpers: run the xbarkit executable (with a wall-clock bound), scratch directories, files.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace rel {

namespace fs = std::filesystem;

struct Run {
  int code = -1;         // exit status; 128 + signal when killed; 124 when `timeout` stopped it
  std::string out;       // stdout + stderr
  double seconds = 0;
};

// Runs `xbarkit ARGS` through sh with a wall-clock limit (coreutils timeout(1): exit 124 when hit).
inline Run cli(const std::string& args, int limit_s = 60, const std::string& prefix = "") {
  const std::string cmd = fmt::format("{} timeout -k 5 {} {} {} 2>&1", prefix, limit_s, XBARKIT_CLI, args);
  const auto t0 = std::chrono::steady_clock::now();
  FILE* p = ::popen(cmd.c_str(), "r");
  Run r;
  if (!p) return r;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  const int st = ::pclose(p);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

inline fs::path scratch(const std::string& name) {
  const auto d = fs::temp_directory_path() / fmt::format("xbarkit_rel_{}_{}", name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline void write(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

inline std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string source_dir() { return XBARKIT_SOURCE_DIR; }

}  // namespace rel
