#include "xbarkit/spice/worker_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/spice/session.hpp"

namespace xbarkit::spice {

namespace {

// Messages are length-prefixed JSON. Returns false on EOF or a broken pipe.
bool write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool read_all(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t k = ::read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool send_message(int fd, const nlohmann::json& j) {
  const std::string s = j.dump();
  const uint64_t n = s.size();
  return write_all(fd, &n, sizeof n) && write_all(fd, s.data(), s.size());
}

bool receive_message(int fd, nlohmann::json& j) {
  uint64_t n = 0;
  if (!read_all(fd, &n, sizeof n)) return false;
  std::string s(n, '\0');
  if (!read_all(fd, s.data(), n)) return false;
  j = nlohmann::json::parse(s);
  return true;
}

double monotonic_s();

// Parent side of the pipes: non-blocking descriptors and a deadline, so a worker that stops reading
// or writing (SIGSTOP, a hang inside ngspice) can never block the pool. Returns false on EOF, error,
// a passed deadline or a stop request.
bool wait_fd(int fd, short events, double deadline, const std::function<bool()>& stop) {
  for (;;) {
    if (stop && stop()) return false;
    const double left = deadline - monotonic_s();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::ceil(std::min(left, 0.1) * 1000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

bool write_all_until(int fd, const void* data, size_t n, double deadline, const std::function<bool()>& stop) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t k = ::write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && wait_fd(fd, POLLOUT, deadline, stop)) continue;
      return false;
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool read_all_until(int fd, void* data, size_t n, double deadline, const std::function<bool()>& stop) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t k = ::read(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && wait_fd(fd, POLLIN, deadline, stop)) continue;
      return false;
    }
    if (k == 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool send_message_until(int fd, const nlohmann::json& j, double deadline, const std::function<bool()>& stop) {
  const std::string s = j.dump();
  const uint64_t n = s.size();
  return write_all_until(fd, &n, sizeof n, deadline, stop) && write_all_until(fd, s.data(), s.size(), deadline, stop);
}

bool receive_message_until(int fd, nlohmann::json& j, double deadline, const std::function<bool()>& stop) {
  uint64_t n = 0;
  if (!read_all_until(fd, &n, sizeof n, deadline, stop)) return false;
  if (n > (uint64_t(1) << 32)) return false;  // not a reply of ours
  std::string s(n, '\0');
  if (!read_all_until(fd, s.data(), n, deadline, stop)) return false;
  try {
    j = nlohmann::json::parse(s);
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

// A live worker is idle in read(2) when a job is sent and writes its reply in one go: it has this
// long (or the job limit, if shorter) to take a job or finish a reply before it counts as hung.
constexpr double kPipeDeadline_s = 30;

double monotonic_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

[[noreturn]] void worker_main(int in, int out) {
  try {
    Session::forget_inherited_session();
    Session session;
    nlohmann::json job;
    auto cpu_seconds = [] {
      rusage ru{};
      ::getrusage(RUSAGE_SELF, &ru);
      return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    };
    while (receive_message(in, job)) {
      nlohmann::json reply;
      const double cpu0 = cpu_seconds();
      try {
        session.load(job.at("deck").get<std::string>());
        const auto r = session.run_op(job.at("vectors").get<std::vector<std::string>>());
        reply["ok"] = true;
        reply["values"] = r.values;
        reply["elapsed_s"] = r.elapsed_s;
        reply["op_method"] = r.method;
      } catch (const std::exception& e) {
        reply["ok"] = false;
        reply["error"] = e.what();
      }
      rusage ru{};
      ::getrusage(RUSAGE_SELF, &ru);
      reply["peak_rss_kB"] = ru.ru_maxrss;
      reply["cpu_s"] = cpu_seconds() - cpu0;
      if (!send_message(out, reply)) break;
      if (!session.alive()) break;  // ngspice asked to exit: this process is done
    }
  } catch (...) {
  }
  ::_exit(0);
}

}  // namespace

WorkerPool::WorkerPool(unsigned workers, unsigned jobs_per_worker)
    : workers_(workers == 0 ? default_threads() : workers), jobs_per_worker_(jobs_per_worker) {
  ::signal(SIGPIPE, SIG_IGN);  // a dead worker must show up as EPIPE, not kill the caller
  pool_.resize(workers_);
}

WorkerPool::~WorkerPool() {
  for (auto& w : pool_) retire(w);
}

std::vector<int> WorkerPool::busy_worker_pids() const {
  std::vector<int> pids;
  for (const auto& w : pool_)
    if (w.job >= 0) pids.push_back(w.pid);
  return pids;
}

void WorkerPool::spawn(Worker& w) {
  int down[2], up[2];
  if (::pipe(down) != 0 || ::pipe(up) != 0) throw Error(fmt::format("cannot create pipe: {}", std::strerror(errno)));
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(fmt::format("cannot start ngspice worker: {}", std::strerror(errno)));
  if (pid == 0) {
    // The child must not hold other workers' pipe ends, or their EOFs would never arrive.
    for (auto& other : pool_) {
      if (other.to_child >= 0) ::close(other.to_child);
      if (other.from_child >= 0) ::close(other.from_child);
    }
    ::close(down[1]);
    ::close(up[0]);
    worker_main(down[0], up[1]);
  }
  ::close(down[0]);
  ::close(up[1]);
  ::fcntl(down[1], F_SETFL, ::fcntl(down[1], F_GETFL) | O_NONBLOCK);
  ::fcntl(up[0], F_SETFL, ::fcntl(up[0], F_GETFL) | O_NONBLOCK);
  w.pid = pid;
  w.to_child = down[1];
  w.from_child = up[0];
  w.job = -1;
  w.done = 0;
}

void WorkerPool::kill_worker(Worker& w) {
  if (w.pid < 0) return;
  ::kill(w.pid, SIGKILL);  // works on stopped (SIGSTOP) and hung processes alike
  ::close(w.to_child);
  ::close(w.from_child);
  int status = 0;
  while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
  }
  w = Worker{};
}

void WorkerPool::retire(Worker& w) {
  if (w.pid < 0) return;
  if (w.job >= 0) {  // busy: it would never read the EOF
    kill_worker(w);
    return;
  }
  ::close(w.to_child);  // EOF: the worker leaves its loop and exits
  ::close(w.from_child);
  int status = 0;
  ::waitpid(w.pid, &status, 0);
  w = Worker{};
}

std::vector<SpiceJobResult> WorkerPool::run(const std::vector<SpiceJob>& jobs,
                                            const std::function<void(size_t, const SpiceJobResult&)>& on_done) {
  std::vector<SpiceJobResult> results(jobs.size());
  size_t next = 0, finished = 0;

  auto dispatch = [&](Worker& w) {
    while (next < jobs.size()) {
      if (w.pid < 0) spawn(w);
      nlohmann::json msg{{"deck", jobs[next].deck}, {"vectors", jobs[next].vectors}};
      if (send_message_until(w.to_child, msg, monotonic_s() + std::min(kPipeDeadline_s, job_timeout_s_), stop_)) {
        w.job = static_cast<long>(next++);
        w.started = monotonic_s();
        return;
      }
      if (stop_ && stop_()) {
        kill_worker(w);
        return;
      }
      kill_worker(w);  // died or hung while idle: start a fresh one and retry the same job
    }
  };

  for (auto& w : pool_) dispatch(w);
  while (finished < jobs.size()) {
    if (stop_ && stop_()) {
      for (auto& w : pool_)
        if (w.job >= 0) kill_worker(w);
      return results;
    }
    std::vector<pollfd> fds;
    std::vector<Worker*> owners;
    for (auto& w : pool_)
      if (w.job >= 0) {
        fds.push_back({w.from_child, POLLIN, 0});
        owners.push_back(&w);
      }
    if (fds.empty()) throw Error("ngspice worker pool stalled with jobs left (internal error)");
    // Wake at least every 100 ms to honour a stop request, and at the earliest job deadline.
    const double now = monotonic_s();
    double wait_s = 0.1;
    for (auto* w : owners) wait_s = std::min(wait_s, std::max(0.0, w->started + job_timeout_s_ - now));
    const int rc = ::poll(fds.data(), fds.size(), static_cast<int>(std::ceil(wait_s * 1000)));
    if (rc < 0 && errno != EINTR) throw Error(fmt::format("poll failed: {}", std::strerror(errno)));
    if (stop_ && stop_()) {
      for (auto& w : pool_)
        if (w.job >= 0) kill_worker(w);
      return results;
    }
    for (size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Worker& w = *owners[k];
      const auto job = static_cast<size_t>(w.job);
      SpiceJobResult& r = results[job];
      nlohmann::json reply;
      if (receive_message_until(w.from_child, reply, monotonic_s() + std::min(kPipeDeadline_s, job_timeout_s_), stop_)) {
        r.ok = reply.at("ok").get<bool>();
        if (r.ok) {
          r.values = reply.at("values").get<std::map<std::string, double>>();
          r.elapsed_s = reply.at("elapsed_s").get<double>();
          r.op_method = reply.value("op_method", std::string("newton"));
        } else {
          r.error = reply.at("error").get<std::string>();
        }
        r.peak_rss_kB = reply.value("peak_rss_kB", 0L);
        r.cpu_s = reply.value("cpu_s", 0.0);
        w.job = -1;
        if (++w.done == jobs_per_worker_) retire(w);
      } else {
        // The worker died mid-job (crash, kill, ngspice exit) or stopped mid-reply. Report it and
        // replace the worker.
        int status = 0;
        ::kill(w.pid, SIGKILL);  // no-op for a dead one; ends one stuck half-way through its reply
        ::close(w.to_child);
        ::close(w.from_child);
        while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
        }
        r.ok = false;
        r.error = WIFSIGNALED(status)
                      ? fmt::format("ngspice worker process died with signal {} ({})", WTERMSIG(status),
                                    strsignal(WTERMSIG(status)))
                      : fmt::format("ngspice worker process exited ({}) without a result", WEXITSTATUS(status));
        w = Worker{};
      }
      ++finished;
      if (on_done) on_done(job, r);
      dispatch(w);
    }
    // Jobs over their time limit: kill the worker, fail the job with the reason, go on.
    const double t_now = monotonic_s();
    for (auto& w : pool_) {
      if (w.job < 0 || t_now - w.started < job_timeout_s_) continue;
      const auto job = static_cast<size_t>(w.job);
      SpiceJobResult& r = results[job];
      r.ok = false;
      r.elapsed_s = t_now - w.started;
      r.error = fmt::format("timed out after {:.3g} s (the per-job limit: recipe key characterize.job_timeout_s or "
                            "option --job-timeout); the ngspice worker (pid {}) was killed",
                            r.elapsed_s, w.pid);
      kill_worker(w);
      ++finished;
      if (on_done) on_done(job, r);
      dispatch(w);
    }
  }
  return results;
}

}  // namespace xbarkit::spice
