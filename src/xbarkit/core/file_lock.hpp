#pragma once
// Advisory locks on output directories (flock(2)), so two runs never write the same output.
//
// The lock file is a sibling of the directory, PARENT/.NAME.lock, not a file inside it: bundles are
// replaced by an atomic directory exchange (lut/bundle.hpp), which would swap a lock file inside the
// directory away from under its holder. The empty lock file stays behind on purpose (removing lock
// files races with the next locker). flock(2) is released by the kernel when the holder dies, so a
// kill -9 never leaves a stale lock; on NFS, Linux implements flock with POSIX byte-range locks
// (flock(2), NOTES), so shards on different machines see each other's locks.
#include <filesystem>
#include <string>

namespace xbarkit {

class FileLock {
public:
  enum class Mode { shared, exclusive };
  FileLock() = default;
  FileLock(FileLock&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  FileLock& operator=(FileLock&& o) noexcept;
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Takes the lock without waiting; returns false (and holds nothing) when another process holds a
  // conflicting one. Throws Error when the lock file cannot be created.
  bool try_lock(const std::filesystem::path& lock_file, Mode mode);
  bool held() const { return fd_ >= 0; }
  void release();
  const std::filesystem::path& path() const { return path_; }

private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// PARENT/.NAME.lock (or PARENT/.NAME.<tag>.lock) for an output directory.
std::filesystem::path lock_file_for(const std::filesystem::path& output_dir, const std::string& tag = "");

// Locks `output_dir` for a run; throws InputError naming the directory (and `option`) when another
// run holds it. `what` describes the holder in the message ("a characterization").
FileLock lock_output(const std::filesystem::path& output_dir, FileLock::Mode mode, const std::string& option,
                     const std::string& tag = "");

}  // namespace xbarkit
