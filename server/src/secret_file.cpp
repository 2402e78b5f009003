#include "secret_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <mutex>

#include <sys/stat.h>

namespace ates::server {

using base::Code;
using base::Status;

base::Result<std::filesystem::path> write_secret_file(const std::filesystem::path& dir, std::string_view name,
                                                      std::string_view secret) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return Status(Code::kInvalidArgument,
                  "a secret's file name must be a plain name, not '" + std::string(name) + "'");
  }
  const std::filesystem::path path = dir / name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST || errno == ELOOP) {
      return Status(Code::kConflict, path.string() +
                                         " exists already: ates never writes a secret over a file or through "
                                         "a link; read it if it is yours, move it away, and start again");
    }
    return Status(Code::kInternal, "cannot create " + path.string() + ": " + std::strerror(errno));
  }
  std::string text(secret);
  text += '\n';
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  // fchmod as well: the umask may have taken bits from 0600, never added any,
  // but the mode is the point of this file, so it is set, not assumed.
  const bool ok = written == text.size() && ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());  // half a secret helps no one
    return Status(Code::kInternal, "cannot write " + path.string() + ": " + std::strerror(err));
  }
  return path;
}

base::Result<std::filesystem::path> hand_over_secret(const std::filesystem::path& dir, std::string_view name,
                                                     std::string_view secret, std::string_view line) {
  if (::isatty(STDOUT_FILENO) == 1) {
    static std::mutex stdout_mutex;  // lines from plugins never interleave
    std::lock_guard lock(stdout_mutex);
    std::cout << line << std::endl;
    return std::filesystem::path();
  }
  return write_secret_file(dir, name, secret);
}

}  // namespace ates::server
