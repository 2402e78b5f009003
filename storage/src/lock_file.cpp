#include "ates/storage/lock_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <sys/file.h>
#include <sys/stat.h>

namespace ates::storage {

using base::Code;
using base::Status;

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

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Makes `dir` (its parents as usual) when it is missing: the directory
// itself 0700 whatever the umask, since it will hold keys and hashes.
Status make_private_dir(const std::filesystem::path& dir) {
  std::error_code error;
  if (std::filesystem::exists(dir, error)) return Status::ok();
  if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), error);
  if (error)
    return Status(Code::kInternal, "cannot create data directory " + dir.string() + ": " + error.message());
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Status::ok();  // made meanwhile by someone else: check_private_dir judges it
    return Status(Code::kInternal,
                  "cannot create data directory " + dir.string() + ": " + std::strerror(errno));
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Status(Code::kInternal, "cannot make data directory " + dir.string() +
                                       " private (chmod 0700): " + std::strerror(errno));
  }
  return Status::ok();
}

// Refuses a data directory another user owns or others can write to:
// ates keeps signing keys and password hashes there, and whoever can write
// in it can plant what ates will open.
Status check_private_dir(const std::filesystem::path& dir) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) {
    return Status(Code::kInternal,
                  "cannot read data directory " + dir.string() + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(info.st_mode)) {
    return Status(Code::kInvalidArgument,
                  "data directory " + dir.string() + " is not a directory; choose another --data");
  }
  const uid_t me = ::geteuid();
  if (info.st_uid != me) {
    return Status(
        Code::kPermissionDenied,
        "data directory " + dir.string() + " belongs to uid " + std::to_string(info.st_uid) +
            ", not to this user (uid " + std::to_string(me) +
            "); it holds signing keys and password hashes, so ates uses only a directory of its own: "
            "run ates as its owner, or give it to this user (chown -R " +
            std::to_string(me) + " " + dir.string() + ")");
  }
  if ((info.st_mode & 022) != 0) {
    return Status(Code::kPermissionDenied,
                  "data directory " + dir.string() + " is writable by its group or by others (mode " +
                      octal_mode(info.st_mode) +
                      "): whoever can write there can plant files ates opens; check its contents, then "
                      "chmod 700 " +
                      dir.string() + " and start again");
  }
  return Status::ok();
}

}  // namespace

base::Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& dir) {
  if (Status made = make_private_dir(dir); !made) return made;
  if (Status checked = check_private_dir(dir); !checked) return checked;
  const auto path = dir / kLockName;
  // O_NOFOLLOW: a symbolic link planted as the lock file would make us
  // truncate and write whatever it points to.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (fd < 0) {
    if (errno == ELOOP) {
      return Status(Code::kPermissionDenied, path.string() +
                                                 " is a symbolic link, which ates never follows: remove it "
                                                 "(ates makes its own lock file) and start again");
    }
    return Status(Code::kInternal, "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status(
        Code::kPermissionDenied,
        path.string() + " is not a regular file: remove it (ates makes its own lock file) and start again");
  }
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
  const int fd = ::open((dir / kLockName).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

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
