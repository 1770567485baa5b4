#include "xbarkit/core/stop.hpp"

#include <signal.h>
#include <string.h>

#include <atomic>

#include <fmt/format.h>

namespace xbarkit {

namespace {
std::atomic<int> g_stop{0};
std::atomic<int> g_depth{0};  // StopSignals instances alive (threads may nest them concurrently)
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");
extern "C" void on_stop_signal(int sig) { g_stop.store(sig); }
}  // namespace

int stop_signal() { return g_stop.load(std::memory_order_relaxed); }
void request_stop(int sig) { g_stop.store(sig); }
void clear_stop() { g_stop.store(0); }

Cancelled::Cancelled(const std::string& what) : Error(what) {}

void throw_if_stopped(const char* what) {
  if (const int sig = stop_signal()) throw Cancelled(fmt::format("{}: interrupted by signal {} ({})", what, sig, ::strsignal(sig)));
}

struct StopSignals::Saved {
  struct sigaction old_int {}, old_term {};
};

StopSignals::StopSignals() : saved_(new Saved) {
  // Only the outermost instance starts from a clean slate: an inner one (a characterization among
  // several running concurrently under `xbarkit run`) must not erase a stop another has not seen yet.
  if (g_depth.fetch_add(1) == 0) clear_stop();
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &saved_->old_int);
  ::sigaction(SIGTERM, &sa, &saved_->old_term);
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &saved_->old_int, nullptr);
  ::sigaction(SIGTERM, &saved_->old_term, nullptr);
  delete saved_;
  g_depth.fetch_sub(1);
}

}  // namespace xbarkit
