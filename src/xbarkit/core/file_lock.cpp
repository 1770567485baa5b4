#include "xbarkit/core/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit {

namespace fs = std::filesystem;

FileLock& FileLock::operator=(FileLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
    fd_ = -1;
  }
}

bool FileLock::try_lock(const fs::path& lock_file, Mode mode) {
  release();
  const int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error(fmt::format("{}: cannot create the lock file ({})", lock_file.string(), std::strerror(errno)));
  int rc;
  do {
    rc = ::flock(fd, (mode == Mode::exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return false;
    throw Error(fmt::format("{}: cannot lock ({})", lock_file.string(), std::strerror(e)));
  }
  fd_ = fd;
  path_ = lock_file;
  return true;
}

fs::path lock_file_for(const fs::path& output_dir, const std::string& tag) {
  const fs::path abs = fs::absolute(output_dir).lexically_normal();
  fs::path dir = abs;
  if (!dir.has_filename()) dir = dir.parent_path();  // "out/" -> "out"
  const std::string name = "." + dir.filename().string() + (tag.empty() ? "" : "." + tag) + ".lock";
  return dir.parent_path() / name;
}

FileLock lock_output(const fs::path& output_dir, FileLock::Mode mode, const std::string& option, const std::string& tag) {
  const fs::path lf = lock_file_for(output_dir, tag);
  std::error_code ec;
  if (!fs::is_directory(lf.parent_path(), ec))
    throw InputError(output_dir.string(), option,
                     fmt::format("the parent directory {} does not exist", lf.parent_path().string()));
  FileLock lock;
  try {
    if (lock.try_lock(lf, mode)) return lock;
  } catch (const Error& e) {
    throw InputError(output_dir.string(), option, fmt::format("cannot lock the output ({})", e.what()));
  }
  throw InputError(output_dir.string(), option,
                   fmt::format("another xbarkit run is writing this output (it holds {}); wait for it to finish or "
                               "choose another output",
                               lf.string()));
}

}  // namespace xbarkit
