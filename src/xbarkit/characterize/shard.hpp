#pragma once
// Sharding a characterization sweep over independent processes (machines, Slurm array tasks).
//
// Shard I of N owns the points whose index i satisfies i mod N == I: a fixed partition that needs no
// coordination, gives every shard a similar mix of slow and fast points (kinds order points by
// configuration, so neighbours cost alike), and does not change when a shard is re-run. Each shard
// journals into OUTPUT/shards/shard-I-of-N.jsonl (the runner's journal format, with "shard": [I, N]
// in the header); re-running a shard continues its journal, so a requeued Slurm task only recomputes
// the points it had in flight. `characterize --merge` reads every shard journal, checks they belong
// to this recipe (its SHA-256 and its points' ids) and writes the bundle from them exactly as a
// single-process run would (the tables are byte-identical: the same kind assembles the same results).
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace xbarkit::characterize {

struct Shard {
  bool enabled = false;
  unsigned index = 0;  // I, 0-based
  unsigned count = 1;  // N
  bool owns(size_t point) const { return !enabled || point % count == index; }
  std::string label() const;  // "I/N"
};

// Most shards one sweep may have (one Slurm array holds at most MaxArraySize - 1 = 1000 tasks by
// default, slurm.conf(5); a little headroom for larger sites).
constexpr unsigned kMaxShards = 100000;

// "I/N" with 0 <= I < N <= kMaxShards. Errors name `option`.
Shard parse_shard(const std::string& text, const std::string& option);

// The shard of a Slurm array task: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of
// SLURM_ARRAY_TASK_COUNT (sbatch(1), "OUTPUT ENVIRONMENT VARIABLES"), or nullopt outside an array job.
// Malformed values are InputErrors naming the variable.
std::optional<Shard> shard_from_slurm_environment();

std::filesystem::path shards_dir(const std::filesystem::path& output);
std::filesystem::path shard_journal_path(const std::filesystem::path& output, const Shard& shard);
// Parses "shard-I-of-N.jsonl"; nullopt for other names.
std::optional<Shard> shard_of_journal_name(const std::string& filename);

}  // namespace xbarkit::characterize
