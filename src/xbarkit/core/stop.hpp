#pragma once
// Cooperative stopping on SIGINT/SIGTERM. A command that runs for long installs StopSignals for its
// duration; the handler only records the signal (async-signal-safe, POSIX.1-2017 sigaction(2)), and
// long loops poll stop_requested() every few milliseconds of work and throw Cancelled, so the
// command unwinds, journals what finished and exits within seconds instead of being killed mid-write.
#include <string>

#include "xbarkit/core/error.hpp"

namespace xbarkit {

// The signal that asked the process to stop (0: none).
int stop_signal();
inline bool stop_requested() { return stop_signal() != 0; }
// Sets / clears the request by hand (tests, and a supervisor that stops its own work).
void request_stop(int sig);
void clear_stop();

// Thrown by a long computation that noticed a stop request; not a result of the computation.
class Cancelled : public Error {
public:
  explicit Cancelled(const std::string& what);
};
// Throws Cancelled("<what>: interrupted by signal N (name)") when a stop was requested.
void throw_if_stopped(const char* what);

// Installs the SIGINT/SIGTERM handlers (and, the outermost instance, clears an old request) for its
// lifetime; the previous handlers come back after. Nested instances are fine; instances on several
// threads at once need an outer one that outlives them all (the handlers restored when they end in
// another order than they began are then all this one's).
class StopSignals {
public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

private:
  struct Saved;
  Saved* saved_;
};

}  // namespace xbarkit
