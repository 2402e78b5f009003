// One process owns a data directory.
//
// DataDirLock creates the directory (0700) if needed and holds an exclusive
// flock on <dir>/ates.lock for as long as it lives; the kernel releases it
// when the process dies, however it dies, so a crash never leaves a stale
// lock. A second holder gets an error naming the process that holds it.
//
// The directory holds signing keys and password hashes, and whoever can
// write in it can plant files ates opens, so acquire() refuses, saying what
// to do, a directory not owned by this user or writable by its group or by
// others (mode & 022); an existing directory is otherwise used as it is.
// The lock file is opened with O_NOFOLLOW: a symbolic link (or anything
// but a regular file) planted as ates.lock is refused, never followed.
#pragma once

#include <filesystem>

#include "ates/base/status.hpp"

namespace ates::storage {

class DataDirLock {
 public:
  static base::Result<DataDirLock> acquire(const std::filesystem::path& dir);

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

  // True when some process holds the lock on `dir` (used by CLI commands to
  // choose between the control socket and opening the storage themselves).
  static bool is_held(const std::filesystem::path& dir);

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace ates::storage
