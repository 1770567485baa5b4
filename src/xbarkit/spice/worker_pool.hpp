#pragma once
// Parallel ngspice runs in isolated worker processes. ngspice is not reentrant and can crash or ask
// to exit; each worker owns one Session in its own process, so a failing deck is reported with
// ngspice's message and a dead worker is replaced while the other decks complete.
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace xbarkit::spice {

struct SpiceJob {
  std::string deck;                   // full deck text with its .op
  std::vector<std::string> vectors;   // vectors to read back, e.g. "vsense0#branch"
};

struct SpiceJobResult {
  bool ok = false;
  std::string error;                       // ngspice's messages when !ok
  std::map<std::string, double> values;
  double elapsed_s = 0;                    // load + op inside the worker
  std::string op_method;                   // OpResult::method: "newton" or ngspice's fallback
  long peak_rss_kB = 0;                    // worker's peak resident memory after this job
  double cpu_s = 0;                        // worker CPU time (user + system) for this job
};

// A job that runs longer than this is taken to be hung: its worker is killed and the job fails with
// the reason. Two hours covers the slowest shipped decks (ngspice needs about an hour of CPU for a
// 128x128 sram8t array that falls back to gmin stepping; docs/VALIDATION.md).
constexpr double kDefaultJobTimeout_s = 7200;

class WorkerPool {
public:
  // `workers` processes (0 = one per core). `jobs_per_worker` > 0 restarts a worker after that many
  // jobs (1 gives each job a fresh process, e.g. to measure its peak memory alone).
  explicit WorkerPool(unsigned workers = 0, unsigned jobs_per_worker = 0);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs all jobs, in any order, and returns their results in job order. `on_done` (optional) is
  // called in the caller's thread as each job finishes.
  std::vector<SpiceJobResult> run(const std::vector<SpiceJob>& jobs,
                                  const std::function<void(size_t, const SpiceJobResult&)>& on_done = {});

  unsigned workers() const { return workers_; }
  // Per-job wall-clock limit in seconds (> 0); a job over it fails with "timed out" and its worker
  // is killed (SIGKILL also ends a stopped or hung process) and replaced.
  void set_job_timeout(double seconds) { job_timeout_s_ = seconds; }
  double job_timeout() const { return job_timeout_s_; }
  // Polled at least every 100 ms while jobs run: when it returns true, run() kills the busy workers
  // and returns at once; jobs not finished keep ok = false and an empty error.
  void set_stop(std::function<bool()> stop) { stop_ = std::move(stop); }
  // Process ids of the workers with a job in flight (for supervision and tests).
  std::vector<int> busy_worker_pids() const;

private:
  struct Worker {
    int pid = -1;
    int to_child = -1;
    int from_child = -1;
    long job = -1;       // index of the job in flight, -1 when idle
    double started = 0;  // monotonic seconds when the job was sent
    unsigned done = 0;   // jobs completed by this process
  };
  void spawn(Worker& w);
  void retire(Worker& w);
  void kill_worker(Worker& w);

  unsigned workers_;
  unsigned jobs_per_worker_;
  std::vector<Worker> pool_;
  double job_timeout_s_ = kDefaultJobTimeout_s;
  std::function<bool()> stop_;
};

}  // namespace xbarkit::spice
