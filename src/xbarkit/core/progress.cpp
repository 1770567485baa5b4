#include "xbarkit/core/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>


namespace xbarkit {

namespace {

// A batch log gets its first line after one interval (short commands leave no trace), then a line
// when 10% more is done and an interval has passed, or when 12 intervals have passed whatever the
// progress (a slow step still shows that the job is alive). The interval is 5 s unless
// XBARKIT_PROGRESS_INTERVAL_S sets it (e.g. 300 for a days-long Slurm job).
std::chrono::duration<double> lines_interval() {
  static const double s = [] {
    const char* env = std::getenv("XBARKIT_PROGRESS_INTERVAL_S");
    char* end = nullptr;
    const double v = env ? std::strtod(env, &end) : 0.0;
    return env && end != env && *end == '\0' && v > 0 && v < 1e6 ? v : 5.0;  // a malformed value: the default
  }();
  return std::chrono::duration<double>(s);
}
constexpr auto kBarRedraw = std::chrono::milliseconds(200);

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.0f} s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  return fmt::format("{}h{:02d}m", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
}

}  // namespace

ProgressMode resolve_progress_mode(ProgressMode mode) {
  if (mode != ProgressMode::automatic) return mode;
  return ::isatty(STDERR_FILENO) ? ProgressMode::bar : ProgressMode::lines;
}

ProgressReporter::ProgressReporter(std::string label, std::string unit, size_t total, ProgressMode mode, size_t already)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), done_(already), start_done_(already),
      mode_(resolve_progress_mode(mode)), last_line_done_(already) {
  last_line_ = start_;
  std::lock_guard<std::mutex> lock(mutex_);
  if (mode_ == ProgressMode::bar) draw_locked(false);
}

ProgressReporter::~ProgressReporter() { finish(); }

void ProgressReporter::advance(size_t n) {
  if (mode_ == ProgressMode::off) return;
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += n;
  draw_locked(false);
}

void ProgressReporter::set_detail(std::string detail) {
  if (mode_ == ProgressMode::off) return;
  std::lock_guard<std::mutex> lock(mutex_);
  detail_ = std::move(detail);
}

void ProgressReporter::clear_line() {
  if (mode_ != ProgressMode::bar) return;
  std::lock_guard<std::mutex> lock(mutex_);
  std::fprintf(stderr, "\r%s\r", std::string(bar_width_, ' ').c_str());
  std::fflush(stderr);
  last_draw_ = {};  // redraw at the next advance
}

void ProgressReporter::finish() {
  if (mode_ == ProgressMode::off) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  draw_locked(true);
}

std::string ProgressReporter::status_locked(Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const size_t fresh = done_ - start_done_;
  std::string eta = "ETA --";
  if (done_ >= total_) eta = "done";
  else if (fresh > 0) eta = "ETA " + format_duration(elapsed / double(fresh) * double(total_ - done_));
  return fmt::format("[{}] {}/{} {} ({:.0f}%), {} elapsed, {}{}{}", label_, done_, total_, unit_,
                     total_ ? 100.0 * double(done_) / double(total_) : 100.0, format_duration(elapsed), eta,
                     detail_.empty() ? "" : "; ", detail_);
}

void ProgressReporter::draw_locked(bool final) {
  const auto now = Clock::now();
  if (mode_ == ProgressMode::bar) {
    if (!final && now - last_draw_ < kBarRedraw) return;
    last_draw_ = now;
    const std::string status = status_locked(now);
    bar_width_ = std::max(bar_width_, status.size() + 3);
    std::fprintf(stderr, "\r%s   %s", status.c_str(), final ? "\n" : "");
    std::fflush(stderr);
    return;
  }
  if (mode_ != ProgressMode::lines) return;
  if (final) {
    if (wrote_line_) std::fprintf(stderr, "%s\n", status_locked(now).c_str());
    return;
  }
  const auto interval = lines_interval();
  if (now - start_ < interval) return;
  const bool stepped = total_ > 0 && (done_ - last_line_done_) * 10 >= total_ && now - last_line_ >= interval;
  if (!stepped && now - last_line_ < 12 * interval) return;
  last_line_ = now;
  last_line_done_ = done_;
  wrote_line_ = true;
  std::fprintf(stderr, "%s\n", status_locked(now).c_str());
}

}  // namespace xbarkit
