#pragma once
// Runs a characterization recipe into a LUT bundle: every sweep point on all cores (thread points
// in a thread pool, SPICE points in ngspice worker processes), progress with an ETA on a terminal,
// and a journal in the output directory so an interrupted run resumes where it stopped.
//
// Journal (OUTPUT/journal.jsonl, JSON Lines): a header {"xbarkit_journal": 1, "recipe_sha256",
// "kind", "points", "ids_sha256"}, then one line per finished point {"i", "id", "ok", "data" |
// "error"}, appended with one write(2) each as the point finishes. A kill (Ctrl-C, kill -9, a crashed
// ngspice worker) loses only the points in flight; a torn last line is dropped on resume. On
// --resume, points with a result are reused, failed points are retried, and the recipe must be
// byte-identical (its SHA-256 is checked). When all points are done the journal is rewritten sorted
// by point (so identical sweeps give identical files) and kept in the bundle as the raw samples.
//
// The output directory is locked (core/file_lock.hpp) for the run's lifetime: a second run on the
// same output refuses to start. Shard runs (characterize/shard.hpp) share the directory's lock and
// each holds its own shard's; --merge takes the directory exclusively, so it never reads a journal a
// running shard is still writing.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "xbarkit/characterize/shard.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/progress.hpp"

namespace xbarkit::characterize {

struct RunOptions {
  std::filesystem::path output;
  bool resume = false;      // continue from OUTPUT/journal.jsonl
  bool force = false;       // discard an existing journal/bundle at OUTPUT and start over
  unsigned threads = 0;     // overrides the recipe's [characterize] threads when > 0
  ProgressMode progress = ProgressMode::automatic;  // on stderr (core/progress.hpp)
  std::optional<double> job_timeout_s;  // overrides the recipe's [characterize] job_timeout_s
  Shard shard;              // enabled: compute only this shard's points into its own journal
};

struct RunSummary {
  size_t points = 0;
  size_t computed = 0;   // in this run
  size_t reused = 0;     // from the journal
  size_t failed = 0;     // points whose final result is an error (listed in the bundle)
  double elapsed_s = 0;
  size_t shard_points = 0;  // shard runs: points this shard owns (no bundle is written)
  std::vector<std::string> failed_ids;  // ids of the failed points (first 50)
};

// Thrown when SIGINT/SIGTERM stopped the run after the points in flight were journaled.
class Interrupted : public Error {
public:
  using Error::Error;
};

RunSummary run_characterization(const std::filesystem::path& recipe_path, const RunOptions& options);

// Merges the shard journals in OUTPUT/shards into the bundle at OUTPUT. Refuses (InputError, nothing
// written) when a journal belongs to another recipe, shard counts disagree, or points are missing
// (the message lists the missing shards and point ids); failed points go to the bundle's failures
// as in a single run. Uses options.output and options.progress only.
RunSummary merge_shards(const std::filesystem::path& recipe_path, const RunOptions& options);

}  // namespace xbarkit::characterize
