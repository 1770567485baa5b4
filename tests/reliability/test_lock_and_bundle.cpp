// Defect 5: nothing locked an output directory (two --force runs both printed "wrote", one result
// was lost). Defect 6: lut check did not verify lut.json itself, nor table values.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "util.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/file_lock.hpp"
#include "xbarkit/lut/bundle.hpp"

using namespace rel;

namespace {

const char* kAdc = "[characterize]\nkind = \"adc\"\nseed = 4\nthreads = 1\n[adc]\nbits = 4\nfull_scale_A = 1e-3\n"
                   "columns = 8\ncolumns_per_point = 4\nsigma_offset_lsb = 0.3\n";

}  // namespace

TEST_CASE("an output directory is locked for the run: a second run on it refuses", "[reliability][lock]") {
  const auto dir = scratch("lock");
  write(dir / "adc.toml", kAdc);
  // Another process holds the lock (a child, so the lock is not this process's own).
  const auto lock_file = xbarkit::lock_file_for(dir / "b");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t holder = ::fork();
  if (holder == 0) {
    xbarkit::FileLock l;
    if (!l.try_lock(lock_file, xbarkit::FileLock::Mode::exclusive)) ::_exit(3);
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  auto r = cli("characterize " + (dir / "adc.toml").string() + " -o " + (dir / "b").string() + " --force --no-progress");
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("another xbarkit run is writing this output") && Catch::Contains("-o"));
  CHECK_FALSE(fs::exists(dir / "b" / "lut.json"));
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  // The kernel dropped the dead holder's lock: the same command now succeeds.
  r = cli("characterize " + (dir / "adc.toml").string() + " -o " + (dir / "b").string() + " --force --no-progress");
  CHECK(r.code == 0);
  CHECK(fs::exists(dir / "b" / "lut.json"));
  fs::remove_all(dir);
}

TEST_CASE("two real runs on one output: the second refuses while the first runs", "[reliability][lock]") {
  const auto dir = scratch("lock2");
  write(dir / "slow.toml", "[characterize]\nkind = \"mtj_psw\"\nseed = 1\nthreads = 1\n[mtj_psw]\ndevices = "
                           "[\"sot_imtj_typey\"]\ncurrents_A = [1e-4, 2e-4, 3e-4]\npulses_s = [2e-6]\ntrials = 1000\n");
  const pid_t first = ::fork();
  if (first == 0) {
    const int fd = ::open("/dev/null", O_WRONLY);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string recipe = (dir / "slow.toml").string(), out = (dir / "b").string();
    ::execl(XBARKIT_CLI, XBARKIT_CLI, "characterize", recipe.c_str(), "-o", out.c_str(), "--no-progress", nullptr);
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fs::exists(dir / "b" / "journal.jsonl") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto r = cli("characterize " + (dir / "slow.toml").string() + " -o " + (dir / "b").string() + " --force");
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("another xbarkit run is writing this output"));
  ::kill(first, SIGTERM);
  int status = 0;
  ::waitpid(first, &status, 0);
  CHECK(WIFEXITED(status));  // it stopped on SIGTERM, cleanly
  // The first run's journal survived the refused --force.
  const auto journal = read(dir / "b" / "journal.jsonl");
  CHECK(journal.find("\"xbarkit_journal\":1") < journal.find('\n'));
  fs::remove_all(dir);
}

namespace {

// A valid bundle written by the library: one 2-axis table with a std column and one NaN node.
void make_bundle(const fs::path& dir) {
  xbarkit::lut::Bundle b;
  b.kind = "test";
  xbarkit::lut::Table t("t", {{"k", "1", {0, 1, 2}}, {"q", "1", {0, 1}}}, {{"mean_A", "A"}, {"std_A", "A"}});
  for (size_t n = 0; n < t.node_count(); ++n) {
    t.value(n, 0) = 1e-6 * static_cast<double>(n);
    t.value(n, 1) = 1e-8;
  }
  t.value(5, 1) = std::nan("");
  b.tables.push_back(t);
  b.validation = {{"nrmse_mean", 0.0123}, {"coverage_2sigma", 0.951}};
  xbarkit::lut::write_bundle(dir, b);
}

void recompute_file_hash(const fs::path& dir, const std::string& rel, bool also_manifest_digest) {
  auto j = nlohmann::json::parse(read(dir / "lut.json"));
  for (auto& t : j["tables"])
    if (t["file"] == rel) t["sha256"] = xbarkit::sha256_hex(read(dir / rel));
  if (also_manifest_digest) {
    auto copy = j;
    copy.erase("manifest_sha256");
    j["manifest_sha256"] = xbarkit::sha256_hex(copy.dump());
  }
  write(dir / "lut.json", j.dump(2));
}

}  // namespace

TEST_CASE("lut check verifies lut.json's own content and the tables' values", "[reliability][bundle]") {
  const auto dir = scratch("bundle_check");
  const auto b = dir / "b";
  make_bundle(b);
  REQUIRE(cli("lut check " + b.string()).code == 0);

  // Edited evidence (NRMSE 0.000, coverage 0.999) and an edited kind used to pass as OK.
  auto j = nlohmann::json::parse(read(b / "lut.json"));
  j["validation"]["nrmse_mean"] = 0.0;
  j["validation"]["coverage_2sigma"] = 0.999;
  write(b / "lut.json", j.dump(2));
  auto r = cli("lut check " + b.string());
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("lut.json") && Catch::Contains("manifest_sha256") && Catch::Contains("edited"));
  make_bundle(b);
  j = nlohmann::json::parse(read(b / "lut.json"));
  j["kind"] = "array_ps";
  write(b / "lut.json", j.dump());
  CHECK(cli("lut check " + b.string()).code == 1);
  make_bundle(b);
  j = nlohmann::json::parse(read(b / "lut.json"));
  j.erase("manifest_sha256");
  write(b / "lut.json", j.dump());
  r = cli("lut check " + b.string());
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("manifest_sha256: missing"));

  // NaN means with a recomputed CSV hash: refused by the digest, and (digest recomputed as well) by
  // the NaN count recorded at write time.
  make_bundle(b);
  auto csv = read(b / "tables" / "t.csv");
  const auto first_row = csv.find('\n', csv.find("mean_A")) + 1;
  const auto comma2 = csv.find(',', csv.find(',', first_row) + 1);
  csv.replace(comma2 + 1, csv.find(',', comma2 + 1) - comma2 - 1, "nan");
  write(b / "tables" / "t.csv", csv);
  recompute_file_hash(b, "tables/t.csv", false);
  CHECK(cli("lut check " + b.string()).code == 1);
  recompute_file_hash(b, "tables/t.csv", true);
  r = cli("lut check " + b.string());
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("t.csv") && Catch::Contains("NaN"));

  // A negative standard deviation and an infinite value, hashes and digest recomputed.
  for (const std::string bad : {"-1e-8", "inf"}) {
    make_bundle(b);
    csv = read(b / "tables" / "t.csv");
    const auto row = csv.find('\n', csv.find("std_A")) + 1;
    const auto eol = csv.find('\n', row);
    const auto last_comma = csv.rfind(',', eol);
    csv.replace(last_comma + 1, eol - last_comma - 1, bad);
    write(b / "tables" / "t.csv", csv);
    recompute_file_hash(b, "tables/t.csv", true);
    r = cli("lut check " + b.string());
    INFO(bad << ": " << r.out);
    CHECK(r.code == 1);
    CHECK_THAT(r.out, Catch::Contains("std_A"));
  }
  fs::remove_all(dir);
}
