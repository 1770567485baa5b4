#include "xbarkit/spice/session.hpp"

#include <ngspice/sharedspice.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

namespace xbarkit::spice {

namespace {
std::atomic<bool> g_session_exists{false};
// ngspice can be initialised only once per process (a second ngSpice_Init crashes ngspice 39), so the
// callbacks are registered once and forwarded to whichever Session currently exists.
Session* g_current = nullptr;
bool g_library_exited = false;

// A line on which ngspice gives up. Warnings it recovers from ("singular matrix", "gmin stepping
// failed", "source stepping failed") are not errors: the verdict is the "Error"/"aborted" line that
// follows when every fallback fails, or a missing result vector.
bool is_error_line(const std::string& line) {
  for (const char* key : {"Error", "error:", "aborted", "Timestep too small", "Unknown", "not found",
                          "could not find", "Could not find", "no such command"})
    if (line.find(key) != std::string::npos) return true;
  return false;
}
}  // namespace

Session::Session() {
  if (g_session_exists.exchange(true))
    throw Error("ngspice is already in use in this process (it is not reentrant); use spice::WorkerPool");
  g_current = this;
  alive_ = !g_library_exited;
  static std::once_flag once;
  std::call_once(once, [] {
    ngSpice_Init(&Session::on_output, nullptr, reinterpret_cast<ControlledExit*>(&Session::on_exit), nullptr,
                 nullptr, nullptr, nullptr);
    // No .spiceinit, and no listing of every node after each op.
    ngSpice_Command(const_cast<char*>("set noinit"));
  });
}

void Session::forget_inherited_session() { g_session_exists = false; }

Session::~Session() {
  if (alive_) {
    ngSpice_Command(const_cast<char*>("remcirc"));
    ngSpice_Command(const_cast<char*>("destroy all"));
  }
  g_current = nullptr;
  g_session_exists = false;
}

int Session::on_output(char* text, int, void*) {
  auto* s = g_current;
  if (!s) return 0;
  std::string line(text ? text : "");
  if (line.rfind("stderr ", 0) == 0) s->stderr_lines_.push_back(line.substr(7));
  return 0;
}

int Session::on_exit(int status, bool, bool, int, void*) {
  g_library_exited = true;
  if (auto* s = g_current) {
    s->alive_ = false;
    s->exit_status_ = status;
  }
  return 0;
}

void Session::fail(const std::string& what) const {
  // ngspice prints many warnings before its verdict; show the verdict lines ("Error", "doAnalyses",
  // "aborted") first and fall back to the last few lines of its stderr.
  std::vector<std::string> verdict;
  for (const auto& line : stderr_lines_)
    if (line.find("Error") != std::string::npos || line.find("error") != std::string::npos ||
        line.find("doAnalyses") != std::string::npos || line.find("aborted") != std::string::npos ||
        line.find("no such command") != std::string::npos)
      verdict.push_back(line);
  if (verdict.empty()) {
    const size_t n = stderr_lines_.size();
    verdict.assign(stderr_lines_.begin() + static_cast<long>(n > 8 ? n - 8 : 0), stderr_lines_.end());
  }
  std::string msg = "ngspice: " + what;
  for (size_t i = 0; i < verdict.size() && i < 12; ++i) msg += "\n  " + verdict[i];
  throw SpiceError(msg);
}

void Session::command(const std::string& cmd) {
  if (!alive_) fail("the shared library has exited (ControlledExit); start a new worker process");
  const size_t before = stderr_lines_.size();
  const int rc = ngSpice_Command(const_cast<char*>(cmd.c_str()));
  bool error_printed = false;
  for (size_t i = before; i < stderr_lines_.size(); ++i) error_printed |= is_error_line(stderr_lines_[i]);
  if (rc != 0 || error_printed || !alive_) fail(fmt::format("command '{}' failed", cmd));
}

void Session::load(const std::string& deck) {
  if (!alive_) fail("the shared library has exited (ControlledExit); start a new worker process");
  ngSpice_Command(const_cast<char*>("remcirc"));
  ngSpice_Command(const_cast<char*>("destroy all"));
  stderr_lines_.clear();

  std::vector<std::string> lines;
  std::istringstream in(deck);
  std::string line;
  bool in_control = false;
  while (std::getline(in, line)) {
    // ngspice runs a .control block's commands when the circuit is sourced; for the library we only
    // honour pre_osdi (device loading) and leave analysis control to run_op().
    if (line.rfind(".control", 0) == 0) { in_control = true; continue; }
    if (line.rfind(".endc", 0) == 0) { in_control = false; continue; }
    if (in_control) {
      if (line.rfind("pre_osdi ", 0) == 0) {
        try {
          command("osdi " + line.substr(9));
        } catch (const SpiceError& e) {
          throw SpiceError(std::string(e.what()) +
                           "\n  (loading OSDI devices needs an ngspice built with OSDI support; Debian's ngspice 39 "
                           "is not: use a model card or subcircuit library instead)");
        }
      }
      continue;
    }
    lines.push_back(line);
  }
  if (lines.empty() || lines.back() != ".end") lines.push_back(".end");
  std::vector<char*> ptrs;
  ptrs.reserve(lines.size() + 1);
  for (auto& l : lines) ptrs.push_back(l.data());
  ptrs.push_back(nullptr);
  const int rc = ngSpice_Circ(ptrs.data());
  bool error_printed = false;
  for (const auto& l : stderr_lines_) error_printed |= is_error_line(l);
  if (rc != 0 || error_printed || !alive_) fail("the circuit could not be loaded");
}

std::string op_method_from_messages(const std::vector<std::string>& lines) {
  // ngspice tries its fallbacks in this order and says so ("Starting dynamic gmin stepping", "One
  // successful source step", "Transient op started"); the last one it entered produced the result.
  std::string method = "newton";
  for (const auto& line : lines) {
    if (line.find("Transient op") != std::string::npos) return "transient op";
    if (line.find("source step") != std::string::npos || line.find("Supplies reduced") != std::string::npos)
      method = "source stepping";
    else if (line.find("gmin step") != std::string::npos && method == "newton")
      method = "gmin stepping";
  }
  return method;
}

OpResult Session::run_op(const std::vector<std::string>& vectors) {
  OpResult result;
  const auto t0 = std::chrono::steady_clock::now();
  const size_t before = stderr_lines_.size();
  command("op");
  result.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.method = op_method_from_messages({stderr_lines_.begin() + static_cast<long>(before), stderr_lines_.end()});
  for (const auto& name : vectors) {
    std::string key = name;
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    pvector_info info = ngGet_Vec_Info(key.data());
    if (!info || info->v_length < 1 || !info->v_realdata) fail(fmt::format("no result vector '{}' after op", key));
    result.values[key] = info->v_realdata[0];
  }
  return result;
}

std::vector<double> Session::vector(const std::string& name) {
  std::string key = name;  // ngGet_Vec_Info takes a mutable string
  pvector_info info = ngGet_Vec_Info(key.data());
  if (!info || !info->v_realdata)
    throw SpiceError(fmt::format("ngspice: the current plot has no real vector '{}'", name));
  return std::vector<double>(info->v_realdata, info->v_realdata + info->v_length);
}

std::vector<std::string> Session::vector_names() {
  std::vector<std::string> out;
  char* plot = ngSpice_CurPlot();
  if (!plot) return out;
  char** vecs = ngSpice_AllVecs(plot);
  for (; vecs && *vecs; ++vecs) out.emplace_back(*vecs);
  return out;
}

}  // namespace xbarkit::spice
