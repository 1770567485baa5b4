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
#include <cstddef>
#include <filesystem>
#include <string>

#include "xbarkit/core/error.hpp"

namespace xbarkit::characterize {

struct RunOptions {
  std::filesystem::path output;
  bool resume = false;      // continue from OUTPUT/journal.jsonl
  bool force = false;       // discard an existing journal/bundle at OUTPUT and start over
  unsigned threads = 0;     // overrides the recipe's [characterize] threads when > 0
  int progress = -1;        // -1: on stderr when it is a terminal; 0: never; 1: always
};

struct RunSummary {
  size_t points = 0;
  size_t computed = 0;   // in this run
  size_t reused = 0;     // from the journal
  size_t failed = 0;     // points whose final result is an error (listed in the bundle)
  double elapsed_s = 0;
};

// Thrown when SIGINT/SIGTERM stopped the run after the points in flight were journaled.
class Interrupted : public Error {
public:
  using Error::Error;
};

RunSummary run_characterization(const std::filesystem::path& recipe_path, const RunOptions& options);

}  // namespace xbarkit::characterize
