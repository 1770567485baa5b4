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
#include "xbarkit/core/file_lock.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/progress.hpp"
#include "xbarkit/core/stop.hpp"
#include "xbarkit/spice/worker_pool.hpp"

namespace xbarkit::characterize {

namespace fs = std::filesystem;

namespace {

std::string ids_hash(const std::vector<Point>& points) {
  std::string all;
  for (const auto& p : points) all += p.id + "\n";
  return sha256_hex(all);
}

nlohmann::json header_json(const Recipe& r, const std::vector<Point>& points, const Shard& shard = {}) {
  nlohmann::json h{{"xbarkit_journal", 1}, {"recipe_sha256", r.sha256}, {"kind", r.kind}, {"points", points.size()},
                   {"ids_sha256", ids_hash(points)}};
  if (shard.enabled) h["shard"] = {shard.index, shard.count};
  return h;
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
                  std::vector<PointResult>& results, const Shard& shard = {}, bool truncate_torn = true) {
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
    const std::string where = fmt::format("line {}", lineno);
    try {
    if (!j.is_object())
      throw InputError(path.string(), where, "is not a JSON object; the journal is damaged (use --force to start over)");
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
      const nlohmann::json want_shard =
          shard.enabled ? nlohmann::json{shard.index, shard.count} : nlohmann::json(nullptr);
      const nlohmann::json have_shard = j.contains("shard") ? j["shard"] : nlohmann::json(nullptr);
      if (have_shard != want_shard)
        throw InputError(path.string(), "shard",
                         fmt::format("the journal is for shard {}, this run is {}", have_shard.dump(),
                                     shard.enabled ? shard.label() : std::string("not sharded")));
      header_seen = true;
    } else {
      const size_t i = j.at("i").get<size_t>();
      if (i >= points.size() || j.value("id", "") != points[i].id)
        throw InputError(path.string(), where, "names a point this recipe does not have");
      if (!shard.owns(i))
        throw InputError(path.string(), where,
                         fmt::format("point {} does not belong to shard {}", points[i].id, shard.label()));
      PointResult r;
      r.done = true;
      r.ok = j.at("ok").get<bool>();
      if (r.ok) r.data = j.at("data");
      else r.error = j.value("error", "");
      // A success always wins over an earlier failure of the same point (a retried failure).
      if (!results[i].done || !results[i].ok) results[i] = std::move(r);
    }
    } catch (const nlohmann::json::exception& e) {
      // Valid JSON of the wrong shape ({}, "i": "seven", ...): the journal was not written by xbarkit.
      throw InputError(path.string(), where,
                       fmt::format("has the wrong shape for an xbarkit journal line ({}); the journal is damaged "
                                   "(use --force to start over)",
                                   e.what()));
    }
    pos = nl + 1;
    good_end = pos;
  }
  if (!header_seen) throw InputError(path.string(), "", "has no header line; use --force to start over");
  if (good_end < text.size() && truncate_torn) {
    if (::truncate(path.c_str(), static_cast<off_t>(good_end)) != 0)
      throw Error(fmt::format("{}: cannot drop the torn last line ({})", path.string(), std::strerror(errno)));
  }
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

namespace {

// Computes the points in `todo` (thread points in a thread pool, SPICE points in worker processes),
// journaling each as it finishes. Throws Interrupted after SIGINT/SIGTERM, once the points in flight
// are journaled (or abandoned: a point cut short by the interrupt is not a result).
void compute_points(const fs::path& recipe_path, const fs::path& out, const fs::path& journal_path,
                    const std::string& resume_hint, const Recipe& recipe, const Kind& kind,
                    const std::vector<Point>& points, const std::vector<size_t>& todo,
                    std::vector<PointResult>& results, const RunOptions& options, RunSummary& summary,
                    size_t progress_total, size_t progress_done) {
  std::vector<size_t> thread_todo, spice_todo;
  for (size_t i : todo) (points[i].engine == Point::Engine::spice ? spice_todo : thread_todo).push_back(i);
  const unsigned threads = options.threads > 0 ? options.threads : recipe.threads;
  const double job_timeout_s = options.job_timeout_s.value_or(recipe.job_timeout_s);
  Journal journal(journal_path);
  StopSignals stop;
  ProgressReporter progress(recipe.kind, "points", progress_total, options.progress, progress_done);
  auto record = [&](size_t i, PointResult r) {
    r.done = true;
    journal.append(result_line(i, points[i], r));
    results[i] = std::move(r);
    progress.advance();
  };
  std::atomic<size_t> computed{0};
  parallel_for(thread_todo.size(), threads, [&](size_t n) {
    if (stop_requested()) return;
    const size_t i = thread_todo[n];
    PointResult r;
    try {
      r.data = kind.run(i);
      r.ok = true;
    } catch (const std::exception& e) {
      r.ok = false;
      r.error = e.what();
    }
    if (stop_requested() && !r.ok) return;  // a failure caused by the interrupt is not a result
    record(i, std::move(r));
    ++computed;
  });
  if (!spice_todo.empty() && !stop_requested()) {
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
    pool.set_job_timeout(job_timeout_s);
    pool.set_stop([] { return stop_requested(); });
    pool.run(jobs, [&](size_t j, const spice::SpiceJobResult& res) {
      const size_t i = job_point[j];
      if (stop_requested()) return;  // workers die with the interrupt; their errors are not results
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
  if (const int sig = stop_signal())
    throw Interrupted(fmt::format("interrupted by signal {} ({}); finished points are in {}. Continue with: "
                                  "xbarkit characterize {} -o {} {}",
                                  sig, strsignal(sig), journal_path.string(), recipe_path.string(), out.string(),
                                  resume_hint));
}

// Assembles the bundle from every point's result and writes it atomically to `out`.
void write_results(const LoadedRecipe& loaded, const fs::path& out, const std::vector<PointResult>& results,
                   RunSummary& summary, unsigned threads, const std::chrono::steady_clock::time_point& t0,
                   const nlohmann::json& run_extra) {
  const Recipe& recipe = loaded.recipe;
  const Kind& kind = *loaded.kind;
  const auto& points = kind.points();
  // Canonical journal: header + one line per point in point order.
  std::string canonical = header_json(recipe, points).dump() + "\n";
  for (size_t i = 0; i < points.size(); ++i)
    if (results[i].done) canonical += result_line(i, points[i], results[i]).dump() + "\n";

  lut::Bundle bundle;
  try {
    bundle = kind.assemble(results);
  } catch (const nlohmann::json::exception& e) {
    // Fresh results have the shape the kind wrote; a journal's may not (edited, or another version).
    throw InputError((out / "journal.jsonl").string(), "data",
                     fmt::format("a journaled point's data has the wrong shape for kind '{}' ({}); the journal is "
                                 "damaged: use --force to start over",
                                 recipe.kind, e.what()));
  }
  for (size_t i = 0; i < points.size(); ++i)
    if (results[i].done && !results[i].ok) {
      ++summary.failed;
      if (summary.failed_ids.size() < 50) summary.failed_ids.push_back(points[i].id);
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
  for (auto& [k, v] : run_extra.items()) prov["run"][k] = v;
  for (auto& [k, v] : bundle.provenance.items()) prov[k] = v;  // kind-specific extras (e.g. array seeds)
  bundle.provenance = prov;
  bundle.kind = recipe.kind;
  bundle.files.push_back({"recipe.toml", recipe.text});
  bundle.files.push_back({"journal.jsonl", canonical});
  lut::write_bundle(out, bundle);
}

void check_output_dir(const fs::path& out) {
  if (out.empty()) throw InputError("", "-o", "no output directory given (-o BUNDLE)");
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    throw InputError(out.string(), "-o", "exists and is not a directory");
}

void make_output_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir.string(), "-o", fmt::format("cannot create the output directory ({})", ec.message()));
}

RunSummary run_shard(const fs::path& recipe_path, const RunOptions& options, const LoadedRecipe& loaded) {
  const auto t0 = std::chrono::steady_clock::now();
  const Recipe& recipe = loaded.recipe;
  const Kind& kind = *loaded.kind;
  const auto& points = kind.points();
  const fs::path out = options.output;
  const Shard& shard = options.shard;
  if (options.resume && options.force) throw InputError("", "--resume", "--resume and --force exclude each other");
  check_output_dir(out);
  make_output_dir(shards_dir(out));
  // Many shards share the directory; each owns its journal. A merge or a whole-sweep run excludes all.
  FileLock dir_lock = lock_output(out, FileLock::Mode::shared, "-o");
  FileLock shard_lock = lock_output(out, FileLock::Mode::exclusive, "--shard",
                                    fmt::format("shard-{}-of-{}", shard.index, shard.count));
  if (fs::exists(out / "lut.json") && !options.force)
    throw InputError(out.string(), "--shard",
                     "already holds a merged bundle; use --force to recompute this shard into it, or another output");
  if (fs::exists(out / "journal.jsonl"))
    throw InputError(out.string(), "--shard",
                     "holds the journal of a single-process run; finish it with --resume, or use another output");
  const fs::path journal_path = shard_journal_path(out, shard);
  std::vector<PointResult> results(points.size());
  // A re-run shard (a requeued Slurm task) continues its journal: no --resume needed.
  if (!options.force && fs::exists(journal_path)) read_journal(journal_path, recipe, points, results, shard);
  else write_file_atomic(journal_path, header_json(recipe, points, shard).dump() + "\n");
  write_file_atomic(out / "recipe.toml", recipe.text);

  RunSummary summary;
  summary.points = points.size();
  std::vector<size_t> todo;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!shard.owns(i)) continue;
    ++summary.shard_points;
    if (results[i].done && results[i].ok) ++summary.reused;
    else todo.push_back(i);
  }
  compute_points(recipe_path, out, journal_path, "--shard " + shard.label(), recipe, kind, points, todo, results,
                 options, summary, summary.shard_points, summary.reused);
  for (size_t i = 0; i < points.size(); ++i)
    if (shard.owns(i) && results[i].done && !results[i].ok) {
      ++summary.failed;
      if (summary.failed_ids.size() < 50) summary.failed_ids.push_back(points[i].id);
    }
  summary.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace

RunSummary run_characterization(const fs::path& recipe_path, const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = load_recipe(recipe_path);
  if (options.shard.enabled) return run_shard(recipe_path, options, loaded);
  const Recipe& recipe = loaded.recipe;
  const Kind& kind = *loaded.kind;
  const auto& points = kind.points();
  const fs::path out = options.output;
  check_output_dir(out);
  const fs::path journal_path = out / "journal.jsonl";
  if (options.resume && options.force) throw InputError("", "--resume", "--resume and --force exclude each other");
  // Lock before looking at the directory: a concurrent run must not see (or delete) our journal.
  make_output_dir(out);
  FileLock lock = lock_output(out, FileLock::Mode::exclusive, "-o");

  std::vector<PointResult> results(points.size());
  const bool has_shards = fs::exists(shards_dir(out));
  const bool looks_like_ours = fs::exists(out / "lut.json") || fs::exists(journal_path) || has_shards;
  const bool empty_dir = fs::is_empty(out);
  if (!empty_dir && !looks_like_ours)
    throw InputError(out.string(), "", "exists and is neither empty nor a LUT bundle; choose another output directory");
  if (looks_like_ours && !options.resume && !options.force)
    throw InputError(out.string(), "",
                     has_shards ? "holds shard journals; merge them with --merge, or use --force to start over"
                                : "already holds a bundle or an interrupted characterization; use --resume to continue "
                                  "it or --force to start over");
  if (options.resume && has_shards && !fs::exists(journal_path))
    throw InputError(out.string(), "--resume", "holds shard journals, not a single run's; merge them with --merge");
  if (options.force) {
    if (fs::exists(journal_path)) fs::remove(journal_path);
    fs::remove_all(shards_dir(out));
  }
  if (options.resume && fs::exists(journal_path)) {
    read_journal(journal_path, recipe, points, results);
  } else {
    write_file_atomic(journal_path, header_json(recipe, points).dump() + "\n");
  }
  write_file_atomic(out / "recipe.toml", recipe.text);  // so an interrupted run is self-describing

  RunSummary summary;
  summary.points = points.size();
  std::vector<size_t> todo;
  for (size_t i = 0; i < points.size(); ++i) {
    if (results[i].done && results[i].ok) ++summary.reused;
    else todo.push_back(i);
  }
  compute_points(recipe_path, out, journal_path, "--resume", recipe, kind, points, todo, results, options, summary,
                 points.size(), summary.reused);
  const unsigned threads = options.threads > 0 ? options.threads : recipe.threads;
  write_results(loaded, out, results, summary, threads, t0, nlohmann::json::object());
  return summary;
}

RunSummary merge_shards(const fs::path& recipe_path, const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = load_recipe(recipe_path);
  const Recipe& recipe = loaded.recipe;
  const auto& points = loaded.kind->points();
  const fs::path out = options.output;
  check_output_dir(out);
  const fs::path dir = shards_dir(out);
  if (!fs::is_directory(dir))
    throw InputError(out.string(), "--merge",
                     fmt::format("has no shard journals ({} is missing); run the shards first (--shard I/N)",
                                 dir.string()));
  FileLock lock;
  if (!lock.try_lock(lock_file_for(out), FileLock::Mode::exclusive))
    throw InputError(out.string(), "--merge",
                     "a shard or another run is still writing this output; merge when every shard has finished");
  std::vector<std::pair<Shard, fs::path>> journals;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.rfind('.', 0) == 0) continue;  // temporaries of atomic writes
    const auto sh = shard_of_journal_name(name);
    if (!sh) throw InputError(e.path().string(), "--merge", "is not a shard journal (expected shard-I-of-N.jsonl)");
    journals.push_back({*sh, e.path()});
  }
  if (journals.empty()) throw InputError(dir.string(), "--merge", "holds no shard journals");
  const unsigned n = journals.front().first.count;
  std::vector<bool> present(n, false);
  for (const auto& [sh, path] : journals) {
    if (sh.count != n)
      throw InputError(path.string(), "--merge",
                       fmt::format("belongs to a sweep split into {} shards, but {} is split into {}; remove the "
                                   "journals of the other split",
                                   sh.count, journals.front().second.string(), n));
    present[sh.index] = true;
  }
  std::vector<PointResult> results(points.size());
  for (const auto& [sh, path] : journals) read_journal(path, recipe, points, results, sh, /*truncate_torn=*/false);
  std::vector<std::string> missing_shards, missing_ids;
  size_t missing = 0;
  for (unsigned k = 0; k < n; ++k)
    if (!present[k]) missing_shards.push_back(fmt::format("{}/{}", k, n));
  for (size_t i = 0; i < points.size(); ++i)
    if (!results[i].done) {
      ++missing;
      if (missing_ids.size() < 20) missing_ids.push_back(fmt::format("{} (shard {}/{})", points[i].id, i % n, n));
    }
  if (missing > 0) {
    std::string msg = fmt::format("{} of {} points have no result", missing, points.size());
    if (!missing_shards.empty()) msg += fmt::format("; shards never run: {}", fmt::join(missing_shards, ", "));
    msg += fmt::format("; missing points: {}{}", fmt::join(missing_ids, ", "), missing > missing_ids.size() ? ", ..." : "");
    msg += ". Run (or re-run) those shards with --shard I/N, then merge again";
    throw InputError(out.string(), "--merge", msg);
  }
  RunSummary summary;
  summary.points = points.size();
  summary.reused = points.size();
  const unsigned threads = options.threads > 0 ? options.threads : recipe.threads;
  write_results(loaded, out, results, summary, threads, t0, {{"shards", n}});
  return summary;
}

}  // namespace xbarkit::characterize
