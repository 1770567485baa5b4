#include "xbarkit/characterize/runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/spice/worker_pool.hpp"

namespace xbarkit::characterize {

namespace fs = std::filesystem;

namespace {

std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int sig) { g_stop_signal.store(sig); }

// Installs SIGINT/SIGTERM handlers for the run's duration; the previous handlers come back after.
class StopSignals {
public:
  StopSignals() {
    g_stop_signal.store(0);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

private:
  struct sigaction old_int_ {}, old_term_ {};
};

std::string ids_hash(const std::vector<Point>& points) {
  std::string all;
  for (const auto& p : points) all += p.id + "\n";
  return sha256_hex(all);
}

nlohmann::json header_json(const Recipe& r, const std::vector<Point>& points) {
  return {{"xbarkit_journal", 1}, {"recipe_sha256", r.sha256}, {"kind", r.kind}, {"points", points.size()},
          {"ids_sha256", ids_hash(points)}};
}

nlohmann::json result_line(size_t i, const Point& p, const PointResult& r) {
  nlohmann::json j{{"i", i}, {"id", p.id}, {"ok", r.ok}};
  if (r.ok) j["data"] = r.data;
  else j["error"] = r.error;
  return j;
}

// Appends one line per write(2) with O_APPEND; flushes to disk at most once a second.
class Journal {
public:
  explicit Journal(const fs::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(fmt::format("{}: cannot open journal ({})", path.string(), std::strerror(errno)));
  }
  ~Journal() { close(); }
  void append(const nlohmann::json& j) {
    const std::string line = j.dump() + "\n";
    std::lock_guard<std::mutex> lock(mutex_);
    size_t off = 0;
    while (off < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(fmt::format("{}: cannot append to journal ({})", path_.string(), std::strerror(errno)));
      }
      off += static_cast<size_t>(n);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sync_ > std::chrono::seconds(1)) {
      ::fdatasync(fd_);
      last_sync_ = now;
    }
  }
  void close() {
    if (fd_ >= 0) {
      ::fdatasync(fd_);
      ::close(fd_);
      fd_ = -1;
    }
  }

private:
  fs::path path_;
  int fd_ = -1;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_sync_ = std::chrono::steady_clock::now();
};

// Reads a journal: checks the header against this recipe, fills results, and truncates a torn last
// line so appends continue on a line boundary.
void read_journal(const fs::path& path, const Recipe& recipe, const std::vector<Point>& points,
                  std::vector<PointResult>& results) {
  const std::string text = read_text_file(path);
  size_t pos = 0, good_end = 0, lineno = 0;
  bool header_seen = false;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    ++lineno;
    if (nl == std::string::npos) break;  // torn last line (no newline): dropped
    const std::string line = text.substr(pos, nl - pos);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      if (text.find('\n', nl + 1) == std::string::npos && nl + 1 >= text.size()) break;  // torn last line
      throw InputError(path.string(), fmt::format("line {}", lineno), "is not valid JSON; the journal is damaged "
                                                                      "(delete it, or use --force to start over)");
    }
    if (!header_seen) {
      if (!j.contains("xbarkit_journal"))
        throw InputError(path.string(), "line 1", "is not an xbarkit journal header");
      if (j.value("recipe_sha256", "") != recipe.sha256)
        throw InputError(path.string(), "recipe_sha256",
                         fmt::format("the journal was written by a different recipe (SHA-256 {}, this recipe {}); "
                                     "resume with the same recipe file, or use --force to start over",
                                     j.value("recipe_sha256", ""), recipe.sha256));
      if (j.value("ids_sha256", "") != ids_hash(points) || j.value("points", size_t{0}) != points.size())
        throw InputError(path.string(), "ids_sha256",
                         "the journal's sweep points differ from this recipe's (was it written by another xbarkit "
                         "version?); use --force to start over");
      header_seen = true;
    } else {
      const size_t i = j.at("i").get<size_t>();
      if (i >= points.size() || j.value("id", "") != points[i].id)
        throw InputError(path.string(), fmt::format("line {}", lineno), "names a point this recipe does not have");
      PointResult r;
      r.done = true;
      r.ok = j.at("ok").get<bool>();
      if (r.ok) r.data = j.at("data");
      else r.error = j.value("error", "");
      // A success always wins over an earlier failure of the same point (a retried failure).
      if (!results[i].done || !results[i].ok) results[i] = std::move(r);
    }
    pos = nl + 1;
    good_end = pos;
  }
  if (!header_seen) throw InputError(path.string(), "", "has no header line; use --force to start over");
  if (good_end < text.size()) {
    if (::truncate(path.c_str(), static_cast<off_t>(good_end)) != 0)
      throw Error(fmt::format("{}: cannot drop the torn last line ({})", path.string(), std::strerror(errno)));
  }
}

class Progress {
public:
  Progress(std::string label, size_t total, size_t already, int mode)
      : label_(std::move(label)), total_(total), done_(already), start_done_(already),
        enabled_(mode == 1 || (mode == -1 && ::isatty(STDERR_FILENO))) {
    draw(true);
  }
  void tick() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++done_;
    draw(false);
  }
  void finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    draw(true);
    if (enabled_) std::cerr << "\n";
  }

private:
  void draw(bool force) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double el = std::chrono::duration<double>(now - start_).count();
    const size_t fresh = done_ - start_done_;
    std::string eta = "ETA --";
    if (fresh > 0 && done_ < total_) eta = fmt::format("ETA {}", fmt_time(el / fresh * (total_ - done_)));
    else if (done_ >= total_) eta = "done";
    std::cerr << fmt::format("\r[{}] {}/{} points ({:.0f}%), {} elapsed, {}   ", label_, done_, total_,
                             total_ ? 100.0 * done_ / total_ : 100.0, fmt_time(el), eta)
              << std::flush;
  }
  static std::string fmt_time(double s) {
    if (s < 60) return fmt::format("{:.0f} s", s);
    if (s < 3600) return fmt::format("{}m{:02d}s", static_cast<int>(s / 60), static_cast<int>(s) % 60);
    return fmt::format("{}h{:02d}m", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  }
  std::string label_;
  size_t total_, done_, start_done_;
  bool enabled_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_{};
};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

RunSummary run_characterization(const fs::path& recipe_path, const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = load_recipe(recipe_path);
  const Recipe& recipe = loaded.recipe;
  const Kind& kind = *loaded.kind;
  const auto& points = kind.points();
  const fs::path out = options.output;
  if (out.empty()) throw Error("no output directory given (-o BUNDLE)");
  const fs::path journal_path = out / "journal.jsonl";

  std::vector<PointResult> results(points.size());
  const bool exists = fs::exists(out);
  if (exists && !fs::is_directory(out)) throw InputError(out.string(), "", "exists and is not a directory");
  const bool looks_like_ours = exists && (fs::exists(out / "lut.json") || fs::exists(journal_path));
  const bool empty_dir = exists && fs::is_empty(out);
  if (exists && !empty_dir && !looks_like_ours)
    throw InputError(out.string(), "", "exists and is neither empty nor a LUT bundle; choose another output directory");
  if (options.resume && options.force) throw Error("--resume and --force exclude each other");
  if (looks_like_ours && !options.resume && !options.force)
    throw InputError(out.string(), "",
                     "already holds a bundle or an interrupted characterization; use --resume to continue it or "
                     "--force to start over");
  if (options.force && fs::exists(journal_path)) fs::remove(journal_path);
  fs::create_directories(out);
  if (options.resume && fs::exists(journal_path)) {
    read_journal(journal_path, recipe, points, results);
  } else {
    write_file_atomic(journal_path, header_json(recipe, points).dump() + "\n");
  }
  write_file_atomic(out / "recipe.toml", recipe.text);  // so an interrupted run is self-describing

  RunSummary summary;
  summary.points = points.size();
  std::vector<size_t> thread_todo, spice_todo;
  for (size_t i = 0; i < points.size(); ++i) {
    if (results[i].done && results[i].ok) {
      ++summary.reused;
      continue;
    }
    (points[i].engine == Point::Engine::spice ? spice_todo : thread_todo).push_back(i);
  }

  const unsigned threads = options.threads > 0 ? options.threads : recipe.threads;
  {
    Journal journal(journal_path);
    StopSignals stop;
    Progress progress(recipe.kind, points.size(), summary.reused, options.progress);
    auto record = [&](size_t i, PointResult r) {
      r.done = true;
      journal.append(result_line(i, points[i], r));
      results[i] = std::move(r);
      progress.tick();
    };
    std::atomic<size_t> computed{0};
    parallel_for(thread_todo.size(), threads, [&](size_t n) {
      if (g_stop_signal.load()) return;
      const size_t i = thread_todo[n];
      PointResult r;
      try {
        r.data = kind.run(i);
        r.ok = true;
      } catch (const std::exception& e) {
        r.ok = false;
        r.error = e.what();
      }
      if (g_stop_signal.load() && !r.ok) return;  // a failure caused by the interrupt is not a result
      record(i, std::move(r));
      ++computed;
    });
    if (!spice_todo.empty() && !g_stop_signal.load()) {
      std::vector<spice::SpiceJob> jobs;
      std::vector<size_t> job_point;
      for (size_t i : spice_todo) {
        try {
          jobs.push_back(kind.spice_job(i));
          job_point.push_back(i);
        } catch (const std::exception& e) {
          PointResult r;
          r.error = e.what();
          record(i, std::move(r));
        }
      }
      spice::WorkerPool pool(threads);
      pool.run(jobs, [&](size_t j, const spice::SpiceJobResult& res) {
        const size_t i = job_point[j];
        if (g_stop_signal.load()) return;  // workers die with the interrupt; their errors are not results
        PointResult r;
        try {
          r.data = kind.decode_spice(i, res);
          r.ok = true;
        } catch (const std::exception& e) {
          r.error = e.what();
        }
        record(i, std::move(r));
        ++computed;
      });
    }
    progress.finish();
    journal.close();
    summary.computed = computed.load();
    if (const int sig = g_stop_signal.load())
      throw Interrupted(fmt::format("interrupted by signal {} ({}); finished points are in {}. Continue with: "
                                    "xbarkit characterize {} -o {} --resume",
                                    sig, strsignal(sig), journal_path.string(), recipe_path.string(), out.string()));
  }

  // Canonical journal: header + one line per point in point order.
  std::string canonical = header_json(recipe, points).dump() + "\n";
  for (size_t i = 0; i < points.size(); ++i)
    if (results[i].done) canonical += result_line(i, points[i], results[i]).dump() + "\n";

  lut::Bundle bundle = kind.assemble(results);
  for (size_t i = 0; i < points.size(); ++i)
    if (results[i].done && !results[i].ok) {
      ++summary.failed;
      bundle.failures.push_back({points[i].id, results[i].error});
    }
  nlohmann::json prov;
  prov["recipe_file"] = display_path(recipe.file);
  prov["recipe_sha256"] = recipe.sha256;
  prov["recipe_text"] = recipe.text;
  prov["description"] = recipe.description;
  prov["kind"] = recipe.kind;
  prov["seed"] = recipe.seed;
  prov["engine"] = kind.engine();
  prov["xbarkit_version"] = XBARKIT_VERSION;
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : kind.model_files())
    models.push_back({{"file", display_path(m)}, {"sha256", sha256_hex(read_text_file(m))}});
  prov["model_files"] = models;
  prov["points"] = points.size();
  prov["date"] = utc_now();
  summary.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  prov["run"] = {{"elapsed_s", summary.elapsed_s}, {"computed", summary.computed}, {"reused", summary.reused},
                 {"threads", threads == 0 ? default_threads() : threads}};
  for (auto& [k, v] : bundle.provenance.items()) prov[k] = v;  // kind-specific extras (e.g. array seeds)
  bundle.provenance = prov;
  bundle.kind = recipe.kind;
  bundle.files.push_back({"recipe.toml", recipe.text});
  bundle.files.push_back({"journal.jsonl", canonical});
  lut::write_bundle(out, bundle);
  return summary;
}

}  // namespace xbarkit::characterize
