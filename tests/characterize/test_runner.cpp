#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "helpers.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/lut/bundle.hpp"

using namespace xbarkit;
using namespace test_helpers;
namespace fs = std::filesystem;

namespace {

const char* kAdcRecipe =
    "[characterize]\nkind = \"adc\"\nseed = 4\nthreads = 2\n[adc]\nbits = 5\nfull_scale_A = 1e-3\ncolumns = 64\n"
    "columns_per_point = 4\nsigma_offset_lsb = 0.3\nsigma_gain = 0.01\nsigma_inl_lsb = 0.4\nsigma_dnl_lsb = 0.1\n";

characterize::RunSummary run(const fs::path& recipe, const fs::path& out, bool resume = false, bool force = false) {
  characterize::RunOptions o;
  o.output = out;
  o.resume = resume;
  o.force = force;
  o.progress = xbarkit::ProgressMode::off;
  return characterize::run_characterization(recipe, o);
}

size_t count_lines(const fs::path& p) {
  if (!fs::exists(p)) return 0;
  const auto t = read_text_file(p);
  return static_cast<size_t>(std::count(t.begin(), t.end(), '\n'));
}

void check_same_bundle(const fs::path& a, const fs::path& b) {
  CHECK(comparable_manifest(a) == comparable_manifest(b));
  for (const auto& e : fs::directory_iterator(a / "tables"))
    CHECK(read_text_file(e.path()) == read_text_file(b / "tables" / e.path().filename()));
  CHECK(read_text_file(a / "journal.jsonl") == read_text_file(b / "journal.jsonl"));
}

}  // namespace

TEST_CASE("an existing bundle is neither overwritten nor resumed by accident") {
  const auto dir = temp_dir("guard");
  write(dir / "r.toml", kAdcRecipe);
  run(dir / "r.toml", dir / "b");
  CHECK_THROWS_WITH(run(dir / "r.toml", dir / "b"), Catch::Contains("--resume") && Catch::Contains("--force"));
  const auto again = run(dir / "r.toml", dir / "b", true);  // resuming a finished bundle recomputes nothing
  CHECK(again.computed == 0);
  CHECK(again.reused == again.points);
  CHECK(run(dir / "r.toml", dir / "b", false, true).computed == again.points);
  fs::create_directories(dir / "other");
  write(dir / "other" / "notes.txt", "mine");
  CHECK_THROWS_WITH(run(dir / "r.toml", dir / "other"), Catch::Contains("neither empty nor a LUT bundle"));
  CHECK(fs::exists(dir / "other" / "notes.txt"));
  fs::remove_all(dir);
}

TEST_CASE("resume: a torn last journal line is dropped, finished points are reused, the bundle is identical") {
  const auto dir = temp_dir("torn");
  write(dir / "r.toml", kAdcRecipe);
  run(dir / "r.toml", dir / "full");
  // Build an "interrupted" output: the header and the first 5 points of the canonical journal, plus
  // half of the 6th line, and no lut.json.
  const auto journal = read_text_file(dir / "full" / "journal.jsonl");
  size_t pos = 0;
  for (int i = 0; i < 6; ++i) pos = journal.find('\n', pos) + 1;
  const size_t next = journal.find('\n', pos);
  fs::create_directories(dir / "cut");
  write(dir / "cut" / "journal.jsonl", journal.substr(0, pos + (next - pos) / 2));
  CHECK_THROWS_WITH(lut::load_bundle(dir / "cut"), Catch::Contains("--resume"));
  const auto s = run(dir / "r.toml", dir / "cut", true);
  CHECK(s.reused == 5);
  CHECK(s.computed == s.points - 5);
  check_same_bundle(dir / "full", dir / "cut");
  fs::remove_all(dir);
}

TEST_CASE("resume refuses a journal written by a different recipe") {
  const auto dir = temp_dir("changed");
  write(dir / "r.toml", kAdcRecipe);
  run(dir / "r.toml", dir / "b");
  write(dir / "r.toml", std::string(kAdcRecipe) + "# edited\n");
  CHECK_THROWS_WITH(run(dir / "r.toml", dir / "b", true),
                    Catch::Contains("journal.jsonl") && Catch::Contains("different recipe"));
  fs::remove_all(dir);
}

TEST_CASE("a sweep killed with SIGKILL resumes and gives the bundle of an uninterrupted run") {
  const auto dir = temp_dir("sigkill");
  // 60 sweep points of 5 native-solver 48x48 arrays each, on one thread: a few seconds, so the kill
  // lands mid-sweep.
  write(dir / "r.toml",
        "[characterize]\nkind = \"array_ps\"\nseed = 3\nthreads = 1\n[array_ps]\ncells = [\"sram8t\"]\nrows = [48]\n"
        "patterns = 250\nholdout_patterns = 40\npatterns_per_point = 5\nmin_samples = 12\n");
  const fs::path killed = dir / "killed";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      run(dir / "r.toml", killed);
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(0);
  }
  // Kill once at least 10 points are journaled (header + 10 lines).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (count_lines(killed / "journal.jsonl") < 11 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));  // it really was killed mid-run, not finished
  REQUIRE_FALSE(fs::exists(killed / "lut.json"));
  const size_t journaled = count_lines(killed / "journal.jsonl") - 1;
  const auto resumed = run(dir / "r.toml", killed, true);
  CHECK(resumed.reused >= 10);
  CHECK(resumed.reused <= journaled);
  CHECK(resumed.computed + resumed.reused == resumed.points);
  CHECK(resumed.failed == 0);
  run(dir / "r.toml", dir / "straight");
  check_same_bundle(dir / "straight", killed);
  fs::remove_all(dir);
}
