#include "xbarkit/characterize/shard.hpp"

#include <charconv>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::characterize {

namespace {

// A plain non-negative decimal integer (no sign, no spaces, no suffix), at most `max`.
std::optional<uint64_t> parse_count(const std::string& s, uint64_t max) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

}  // namespace

std::string Shard::label() const { return fmt::format("{}/{}", index, count); }

Shard parse_shard(const std::string& text, const std::string& option) {
  const auto slash = text.find('/');
  if (slash == std::string::npos)
    throw InputError("", option, fmt::format("'{}': expected I/N (shard I of N, 0 <= I < N), e.g. 3/16", text));
  const auto i = parse_count(text.substr(0, slash), kMaxShards);
  const auto n = parse_count(text.substr(slash + 1), kMaxShards);
  if (!n || *n < 1)
    throw InputError("", option, fmt::format("'{}': N must be an integer in [1, {}]", text, kMaxShards));
  if (!i || *i >= *n)
    throw InputError("", option, fmt::format("'{}': I must be an integer with 0 <= I < N = {}", text, *n));
  return Shard{true, static_cast<unsigned>(*i), static_cast<unsigned>(*n)};
}

std::optional<Shard> shard_from_slurm_environment() {
  const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
  const char* count = std::getenv("SLURM_ARRAY_TASK_COUNT");
  if (!id || !count) return std::nullopt;
  const char* min = std::getenv("SLURM_ARRAY_TASK_MIN");
  const auto v_id = parse_count(id, 1u << 30);
  const auto v_count = parse_count(count, kMaxShards);
  const auto v_min = min ? parse_count(min, 1u << 30) : std::optional<uint64_t>(0);
  if (!v_id) throw InputError("", "SLURM_ARRAY_TASK_ID", fmt::format("'{}' is not a task index", id));
  if (!v_count || *v_count < 1)
    throw InputError("", "SLURM_ARRAY_TASK_COUNT", fmt::format("'{}' is not a task count in [1, {}]", count, kMaxShards));
  if (!v_min) throw InputError("", "SLURM_ARRAY_TASK_MIN", fmt::format("'{}' is not a task index", min));
  if (*v_id < *v_min || *v_id - *v_min >= *v_count)
    throw InputError("", "SLURM_ARRAY_TASK_ID",
                     fmt::format("task {} is not one of the {} tasks starting at {}: submit the array as "
                                 "--array=0-{} (contiguous, step 1), or pass --shard I/N",
                                 *v_id, *v_count, *v_min, *v_count - 1));
  return Shard{true, static_cast<unsigned>(*v_id - *v_min), static_cast<unsigned>(*v_count)};
}

std::filesystem::path shards_dir(const std::filesystem::path& output) { return output / "shards"; }

std::filesystem::path shard_journal_path(const std::filesystem::path& output, const Shard& shard) {
  return shards_dir(output) / fmt::format("shard-{}-of-{}.jsonl", shard.index, shard.count);
}

std::optional<Shard> shard_of_journal_name(const std::string& filename) {
  static const std::regex re(R"(shard-([0-9]+)-of-([0-9]+)\.jsonl)");
  std::smatch m;
  if (!std::regex_match(filename, m, re)) return std::nullopt;
  const auto i = parse_count(m[1].str(), kMaxShards), n = parse_count(m[2].str(), kMaxShards);
  if (!i || !n || *n < 1 || *i >= *n) return std::nullopt;
  return Shard{true, static_cast<unsigned>(*i), static_cast<unsigned>(*n)};
}

}  // namespace xbarkit::characterize
