#pragma once
// One progress reporter for every long command (characterize, characterize-cell, mtj psw, train,
// infer, run). On a terminal it redraws one line with '\r'; when stderr is a file or a pipe (batch
// logs, Slurm output) it writes whole lines, rarely, so a log holds a few lines per step instead of
// thousands of carriage returns. Always on stderr: stdout belongs to results (and --json).
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace xbarkit {

enum class ProgressMode {
  automatic,  // bar on a terminal, lines otherwise
  bar,        // one redrawn line ('\r')
  lines,      // a line per 10% at most every 5 s (XBARKIT_PROGRESS_INTERVAL_S), none for short work
  off,
};

// automatic -> bar or lines by whether stderr is a terminal.
ProgressMode resolve_progress_mode(ProgressMode mode);

class ProgressReporter {
public:
  // `total` units of work (`unit`, e.g. "points", "images"), of which `already` are done (resumed).
  ProgressReporter(std::string label, std::string unit, size_t total, ProgressMode mode, size_t already = 0);
  ~ProgressReporter();  // finish()
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void advance(size_t n = 1);  // thread-safe
  // Extra text after the counts (e.g. "loss 0.4123"); thread-safe, shown on the next draw.
  void set_detail(std::string detail);
  // Bar mode: erases the bar so that a log line can be printed on the terminal; the next draw
  // brings it back. Other modes: nothing.
  void clear_line();
  // Last draw (bar: final state and newline; lines: a closing line if any line was written). Idempotent.
  void finish();
  bool enabled() const { return mode_ != ProgressMode::off; }

private:
  using Clock = std::chrono::steady_clock;
  void draw_locked(bool final);
  std::string status_locked(Clock::time_point now) const;

  std::string label_, unit_, detail_;
  size_t total_, done_, start_done_;
  ProgressMode mode_;
  bool finished_ = false, wrote_line_ = false;
  size_t bar_width_ = 0;
  size_t last_line_done_ = 0;
  std::mutex mutex_;
  Clock::time_point start_ = Clock::now(), last_draw_{}, last_line_{};
};

}  // namespace xbarkit
