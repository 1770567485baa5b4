// Sharded characterization: --shard I/N computes a deterministic share of the points into its own
// journal, --merge checks the shards belong to the recipe and writes the bundle. A merged bundle's
// tables and journal are byte-identical to a single-process run of the same recipe.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "util.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/characterize/shard.hpp"
#include "xbarkit/core/error.hpp"

using namespace rel;
namespace ch = xbarkit::characterize;

namespace {

// 20 points (15 training + 5 held-out, 2 patterns each) of a 16-row native array_ps sweep, plus the
// held-out check the bundle's validation carries: a few seconds on one core.
const char* kArrayPs = "[characterize]\nkind = \"array_ps\"\nseed = 5\nthreads = 1\n[array_ps]\ncells = [\"sram8t\"]\n"
                       "rows = [16]\npatterns = 30\nholdout_patterns = 10\npatterns_per_point = 2\n";

ch::RunOptions options(const fs::path& out) {
  ch::RunOptions o;
  o.output = out;
  o.progress = xbarkit::ProgressMode::off;
  return o;
}

ch::RunSummary shard(const fs::path& recipe, const fs::path& out, unsigned i, unsigned n) {
  auto o = options(out);
  o.shard = ch::Shard{true, i, n};
  return ch::run_characterization(recipe, o);
}

// Everything of a bundle that must not depend on how it was computed.
void check_identical(const fs::path& a, const fs::path& b) {
  size_t tables = 0;
  for (const auto& e : fs::directory_iterator(a / "tables")) {
    ++tables;
    INFO(e.path().filename());
    CHECK(read(e.path()) == read(b / "tables" / e.path().filename()));
  }
  CHECK(tables > 0);
  CHECK(read(a / "journal.jsonl") == read(b / "journal.jsonl"));
  auto ja = nlohmann::json::parse(read(a / "lut.json")), jb = nlohmann::json::parse(read(b / "lut.json"));
  for (auto* j : {&ja, &jb}) {
    (*j)["provenance"].erase("date");
    (*j)["provenance"].erase("run");
    j->erase("manifest_sha256");
  }
  CHECK(ja == jb);
}

}  // namespace

TEST_CASE("shard I/N parsing and the Slurm array environment", "[reliability][shard]") {
  CHECK(ch::parse_shard("3/16", "--shard").index == 3);
  CHECK(ch::parse_shard("0/1", "--shard").count == 1);
  for (const char* bad : {"16/16", "-1/4", "1/0", "a/b", "1", "1/4/5", "1 /4", "4294967297/4294967298", ""})
    CHECK_THROWS_AS(ch::parse_shard(bad, "--shard"), xbarkit::InputError);
  ::setenv("SLURM_ARRAY_TASK_ID", "7", 1);
  ::setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
  ::setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
  auto s = ch::shard_from_slurm_environment();
  REQUIRE(s);
  CHECK(s->index == 2);
  CHECK(s->count == 4);
  ::setenv("SLURM_ARRAY_TASK_ID", "9", 1);  // outside 5..8
  CHECK_THROWS_WITH(ch::shard_from_slurm_environment(), Catch::Contains("SLURM_ARRAY_TASK_ID"));
  ::setenv("SLURM_ARRAY_TASK_ID", "x", 1);
  CHECK_THROWS_AS(ch::shard_from_slurm_environment(), xbarkit::InputError);
  ::unsetenv("SLURM_ARRAY_TASK_ID");
  ::unsetenv("SLURM_ARRAY_TASK_COUNT");
  ::unsetenv("SLURM_ARRAY_TASK_MIN");
  CHECK_FALSE(ch::shard_from_slurm_environment());
}

TEST_CASE("shards + merge give a bundle byte-identical to a single run, requeued shards reuse their journal",
          "[reliability][shard]") {
  const auto dir = scratch("shard_merge");
  write(dir / "r.toml", kArrayPs);
  const auto single = ch::run_characterization(dir / "r.toml", options(dir / "single"));
  REQUIRE(single.failed == 0);
  const fs::path out = dir / "sharded";
  size_t owned = 0;
  // Shards in a scrambled order, as a scheduler might run them.
  for (unsigned i : {2u, 0u, 1u}) {
    const auto s = shard(dir / "r.toml", out, i, 3);
    CHECK(s.points == single.points);
    CHECK(s.computed == s.shard_points);
    owned += s.shard_points;
  }
  CHECK(owned == single.points);
  CHECK_FALSE(fs::exists(out / "lut.json"));
  // A requeued task (same command line) recomputes nothing.
  const auto again = shard(dir / "r.toml", out, 1, 3);
  CHECK(again.computed == 0);
  CHECK(again.reused == again.shard_points);
  const auto merged = ch::merge_shards(dir / "r.toml", options(out));
  CHECK(merged.points == single.points);
  CHECK(merged.failed == 0);
  check_identical(dir / "single", out);
  CHECK_FALSE(fs::exists(out / "shards"));  // the merged journal replaces them
  fs::remove_all(dir);
}

TEST_CASE("merge refuses missing shards, other recipes and mixed splits, naming what is wrong", "[reliability][shard]") {
  const auto dir = scratch("shard_refuse");
  write(dir / "r.toml", kArrayPs);
  const fs::path out = dir / "b";
  shard(dir / "r.toml", out, 0, 3);
  shard(dir / "r.toml", out, 2, 3);
  try {
    ch::merge_shards(dir / "r.toml", options(out));
    FAIL("merge with a missing shard succeeded");
  } catch (const xbarkit::InputError& e) {
    const std::string m = e.what();
    CHECK_THAT(m, Catch::Contains("shards never run: 1/3") && Catch::Contains("(shard 1/3)") &&
                      Catch::Contains("sram8t_r16_w1"));
  }
  CHECK_FALSE(fs::exists(out / "lut.json"));
  // A shard of another recipe (another seed) in the same directory.
  write(dir / "other.toml", std::string(kArrayPs).replace(std::string(kArrayPs).find("seed = 5"), 8, "seed = 6"));
  CHECK_THROWS_WITH(shard(dir / "other.toml", out, 0, 3), Catch::Contains("recipe_sha256"));  // its journal exists
  shard(dir / "other.toml", out, 1, 3);
  CHECK_THROWS_WITH(ch::merge_shards(dir / "r.toml", options(out)),
                    Catch::Contains("shard-1-of-3.jsonl") && Catch::Contains("recipe_sha256"));
  fs::remove(out / "shards" / "shard-1-of-3.jsonl");
  shard(dir / "r.toml", out, 1, 3);
  // A shard of a different split.
  write(out / "shards" / "shard-0-of-2.jsonl", read(out / "shards" / "shard-0-of-3.jsonl"));
  CHECK_THROWS_WITH(ch::merge_shards(dir / "r.toml", options(out)), Catch::Contains("split into 2 shards"));
  fs::remove(out / "shards" / "shard-0-of-2.jsonl");
  // The journal of shard 2 renamed to shard 0: its header disagrees with its name.
  fs::copy_file(out / "shards" / "shard-2-of-3.jsonl", out / "shards" / "shard-0-of-3.jsonl",
                fs::copy_options::overwrite_existing);
  CHECK_THROWS_WITH(ch::merge_shards(dir / "r.toml", options(out)), Catch::Contains("shard"));
  fs::remove_all(dir);
}

TEST_CASE("CLI: shard processes run concurrently and the merge equals a single run", "[reliability][shard]") {
  const auto dir = scratch("shard_cli");
  write(dir / "r.toml", kArrayPs);
  REQUIRE(cli("characterize " + (dir / "r.toml").string() + " -o " + (dir / "single").string() + " --no-progress").code == 0);
  const fs::path out = dir / "sharded";
  // Four shard processes at once (two via --shard, two via the Slurm array variables).
  std::vector<pid_t> pids;
  for (unsigned i = 0; i < 4; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open((dir / fmt::format("log{}", i)).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      const std::string recipe = (dir / "r.toml").string(), o = out.string(), sh = fmt::format("{}/4", i);
      if (i < 2) {
        ::execl(XBARKIT_CLI, XBARKIT_CLI, "characterize", recipe.c_str(), "-o", o.c_str(), "--shard", sh.c_str(),
                "--no-progress", nullptr);
      } else {
        ::setenv("SLURM_ARRAY_TASK_ID", std::to_string(i).c_str(), 1);
        ::setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
        ::setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
        ::execl(XBARKIT_CLI, XBARKIT_CLI, "characterize", recipe.c_str(), "-o", o.c_str(), "--no-progress", nullptr);
      }
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  for (size_t i = 0; i < pids.size(); ++i) {
    int status = 0;
    ::waitpid(pids[i], &status, 0);
    INFO(read(dir / fmt::format("log{}", i)));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_THAT(read(dir / fmt::format("log{}", i)), Catch::Contains(fmt::format("shard {}/4", i)));
  }
  const auto r = cli("characterize " + (dir / "r.toml").string() + " -o " + out.string() + " --merge");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("merged") && Catch::Contains("(0 failed)"));
  check_identical(dir / "single", out);
  CHECK(cli("lut check " + out.string()).code == 0);
  fs::remove_all(dir);
}
