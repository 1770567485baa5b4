// Defect 1: runs that could not be stopped or timed out. A hung ngspice worker (SIGSTOP) made the
// pool wait forever in poll(-1); an mtj_psw point with a long pulse ignored SIGTERM.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <chrono>
#include <thread>

#include "util.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/spice/worker_pool.hpp"

using namespace rel;
using Clock = std::chrono::steady_clock;

namespace {

// Child processes of this process (the pool's ngspice workers), from /proc/<pid>/stat (proc(5)).
std::vector<pid_t> children() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    const std::string stat = read(fmt::format("/proc/{}/stat", pid));
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == ::getpid() && state != 'Z')
      out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

// A 32x32 passive array's operating point: ~0.1-0.3 s of ngspice per job (docs/PERFORMANCE.md).
xbarkit::spice::SpiceJob passive_job() {
  auto x = xbarkit::netlist::make_crossbar(xbarkit::netlist::load_technology("7nm"), "passive", 32, 32);
  for (size_t i = 0; i < x.inputs.size(); ++i) x.inputs[i] = i % 2;
  for (size_t i = 0; i < x.weights.size(); ++i) x.weights[i] = (i / 3) % 2;
  return {xbarkit::netlist::write_deck(x, {}), {"vsense0#branch"}};
}

}  // namespace

TEST_CASE("worker pool: a job over the time limit is killed and fails with the reason, the rest finish",
          "[reliability][timeout]") {
  // A 32x32 sram8t operating point takes ngspice ~20 s wall, 4.4 s CPU (docs/PERFORMANCE.md), a
  // 32x32 passive one ~0.1-0.3 s; the limit, 2 s, leaves the quick ones room on a loaded machine.
  auto slow = xbarkit::netlist::make_crossbar(xbarkit::netlist::load_technology("7nm"), "sram8t", 32, 32);
  for (size_t i = 0; i < slow.inputs.size(); ++i) slow.inputs[i] = 1;
  for (size_t i = 0; i < slow.weights.size(); ++i) slow.weights[i] = (i / 3) % 2;
  std::vector<xbarkit::spice::SpiceJob> jobs(4, passive_job());
  jobs[1] = {xbarkit::netlist::write_deck(slow, {}), {"vsense0#branch"}};
  std::vector<xbarkit::spice::SpiceJobResult> results;
  double elapsed = 0;
  {
    xbarkit::spice::WorkerPool pool(2);
    pool.set_job_timeout(2.0);
    const auto t0 = Clock::now();
    results = pool.run(jobs);
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }  // the pool's idle workers exit with it
  for (size_t i : {0, 2, 3}) {
    INFO("job " << i << ": " << results[i].error);
    CHECK(results[i].ok);
  }
  REQUIRE_FALSE(results[1].ok);
  CHECK_THAT(results[1].error, Catch::Contains("timed out after") && Catch::Contains("--job-timeout") &&
                                   Catch::Contains("was killed"));
  CHECK(elapsed < 10);
  CHECK(children().empty());
}

TEST_CASE("worker pool: a SIGSTOPped worker never blocks the pool, the stopped process is killed and reaped",
          "[reliability][timeout]") {
  auto pool = std::make_unique<xbarkit::spice::WorkerPool>(2);
  pool->set_job_timeout(2.0);
  const std::vector<xbarkit::spice::SpiceJob> jobs(8, passive_job());
  std::atomic<pid_t> stopped{0};
  std::thread stopper([&] {
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      const auto kids = children();
      if (!kids.empty()) {
        ::kill(kids.front(), SIGSTOP);
        stopped = kids.front();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  const auto t0 = Clock::now();
  const auto results = pool->run(jobs);
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  stopper.join();
  pool.reset();  // the idle workers exit with the pool
  REQUIRE(stopped.load() > 0);
  size_t ok = 0, timed_out = 0;
  for (const auto& r : results) {
    if (r.ok) ++ok;
    else if (r.error.find("timed out") != std::string::npos) ++timed_out;
    else FAIL("unexpected failure: " << r.error);
  }
  // Stopped while busy: that job times out. Stopped while idle (or before it read its job): the job
  // could not be handed over within the limit and ran on a fresh worker instead.
  CHECK(timed_out <= 1);
  CHECK(ok + timed_out == jobs.size());
  CHECK(elapsed < 15);  // bounded by the 2 s limit plus the work, never forever
  CHECK(::kill(stopped.load(), 0) != 0);  // killed and reaped
  CHECK(children().empty());
}

TEST_CASE("worker pool: a stop request returns within a second even with every worker stopped",
          "[reliability][timeout]") {
  xbarkit::spice::WorkerPool pool(2);
  std::atomic<bool> stop{false};
  pool.set_stop([&] { return stop.load(); });
  const std::vector<xbarkit::spice::SpiceJob> jobs(6, passive_job());
  std::atomic<double> stop_at{0};
  std::thread stopper([&] {
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline && children().size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (pid_t p : children()) ::kill(p, SIGSTOP);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop_at = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    stop = true;
  });
  const auto results = pool.run(jobs);
  const double returned = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  stopper.join();
  CHECK(returned - stop_at.load() < 1.0);  // polled every 100 ms
  size_t ok = 0;
  for (const auto& r : results) ok += r.ok;
  CHECK(ok < jobs.size());  // it really stopped early
  CHECK(children().empty());  // busy workers were killed and reaped
}

namespace {

// Starts `xbarkit ARGS` (stdout+stderr to `log`), SIGTERMs it after `after_s`, and returns
// {exit status, seconds from SIGTERM to exit}.
std::pair<int, double> terminate_after(const std::vector<std::string>& args, const fs::path& log, double after_s) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(XBARKIT_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(XBARKIT_CLI, argv.data());
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(after_s));
  ::kill(pid, SIGTERM);
  const auto t0 = Clock::now();
  int status = 0;
  // Wait at most 20 s, then kill (a failure of the test, reported by the caller).
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() - t0 > std::chrono::seconds(20)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return {-1, 20};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), dt};
}

}  // namespace

TEST_CASE("characterize: an mtj_psw point with a long pulse stops within seconds of SIGTERM and journals",
          "[reliability][signals]") {
  const auto dir = scratch("psw_term");
  // Each point: 1000 trajectories of a 2 us pulse at 1 ps steps (2e9 steps): hours if not stopped.
  write(dir / "r.toml",
        "[characterize]\nkind = \"mtj_psw\"\nseed = 1\nthreads = 1\n[mtj_psw]\ndevices = [\"sot_imtj_typey\"]\n"
        "currents_A = [1e-4, 2e-4, 3e-4]\npulses_s = [2e-6]\ntrials = 1000\n");
  const auto [code, seconds] =
      terminate_after({"characterize", (dir / "r.toml").string(), "-o", (dir / "b").string(), "--no-progress"},
                      dir / "log", 1.5);
  const auto log = read(dir / "log");
  INFO(log);
  CHECK(code == 128 + SIGTERM);  // README "Exit status": interrupted, the shell's 143
  CHECK(seconds < 3.0);
  CHECK_THAT(log, Catch::Contains("interrupted by signal 15") && Catch::Contains("--resume"));
  // The journal holds its header (nothing finished, nothing half-written) and no bundle exists.
  const auto journal = read(dir / "b" / "journal.jsonl");
  CHECK(journal.find("\"xbarkit_journal\":1") < journal.find('\n'));
  CHECK(std::count(journal.begin(), journal.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(dir / "b" / "lut.json"));
  fs::remove_all(dir);
}

TEST_CASE("mtj psw with a long pulse stops within seconds of SIGTERM", "[reliability][signals]") {
  const auto dir = scratch("psw_cli_term");
  const auto [code, seconds] = terminate_after(
      {"mtj", "psw", "sot_imtj_typey", "--currents", "100u,200u", "--pulse", "2u", "--trials", "1000", "--threads", "1"},
      dir / "log", 1.0);
  INFO(read(dir / "log"));
  CHECK(code == 128 + SIGTERM);  // README "Exit status": interrupted, the shell's 143
  CHECK(seconds < 3.0);
  CHECK_THAT(read(dir / "log"), Catch::Contains("interrupted by signal 15"));
  fs::remove_all(dir);
}

TEST_CASE("characterize: SPICE points over the job timeout fail with the reason, the sweep completes",
          "[reliability][timeout]") {
  const auto dir = scratch("job_timeout");
  // Two 16x16 sram8t ngspice checks take ~5 s each (docs/PERFORMANCE.md); the limit is 0.2 s.
  const std::string recipe = "[characterize]\nkind = \"array_ps\"\nseed = 2\nthreads = 2\n[array_ps]\ncells = [\"sram8t\"]\n"
                             "rows = [16]\npatterns = 30\nholdout_patterns = 10\n[array_ps.spice_check]\nrows = 16\npatterns = 2\n";
  write(dir / "r.toml", recipe);
  auto r = cli("characterize " + (dir / "r.toml").string() + " -o " + (dir / "b").string() + " --no-progress --job-timeout 0.2");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("2 failed"));
  CHECK(r.seconds < 20);
  r = cli("lut check " + (dir / "b").string());
  CHECK_THAT(r.out, Catch::Contains("spice/0: timed out after") && Catch::Contains("job_timeout_s") &&
                        Catch::Contains("was killed"));
  // The same limit as a recipe key; bad values name the key.
  write(dir / "k.toml", "[characterize]\nkind = \"array_ps\"\nseed = 2\nthreads = 2\njob_timeout_s = 0.2\n" +
                            recipe.substr(recipe.find("[array_ps]")));
  r = cli("characterize " + (dir / "k.toml").string() + " -o " + (dir / "k").string() + " --no-progress");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("2 failed"));
  for (const char* bad : {"0", "-1", "1e12", "nan"}) {
    write(dir / "bad.toml", std::string("[characterize]\nkind = \"array_ps\"\njob_timeout_s = ") + bad +
                                "\n[array_ps]\nrows = [16]\n");
    r = cli("characterize " + (dir / "bad.toml").string() + " -o " + (dir / "x").string());
    INFO(bad << ": " << r.out);
    CHECK(r.code == 1);
    CHECK_THAT(r.out, Catch::Contains("characterize.job_timeout_s"));
  }
  fs::remove_all(dir);
}
