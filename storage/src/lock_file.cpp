#include "ates/storage/lock_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <sys/file.h>
#include <sys/stat.h>

namespace ates::storage {

using protocol::Code;
using protocol::Status;

namespace {

constexpr const char* kLockName = "ates.lock";

std::string read_pid(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return "unknown";
  std::string pid(buffer, static_cast<std::size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

protocol::Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return Status(Code::kInternal, "cannot create data directory " + dir.string() + ": " + error.message());
  ::chmod(dir.c_str(), 0700);
  const auto path = dir / kLockName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kInternal, "cannot open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = read_pid(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status(Code::kConflict, "data directory " + dir.string() + " is in use by process " + holder +
                                         "; stop it first or choose another --data");
    }
    return Status(Code::kInternal, "cannot lock " + path.string() + ": " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    ::close(fd);
    return Status(Code::kInternal, "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return DataDirLock(fd);
}

bool DataDirLock::is_held(const std::filesystem::path& dir) {
  const int fd = ::open((dir / kLockName).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace ates::storage
