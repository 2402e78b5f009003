// Secrets handed to the operator once (the first admin's password), never
// through the log: on the terminal when stdout is one, else in a file of
// the data directory that only its owner can read.
//
// Thread-safety: hand_over_secret serialises its own writes to stdout; the
// file is created with O_EXCL, so two callers never share one.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ates/base/status.hpp"

namespace ates::server {

// Creates dir/name holding `secret` and a newline: mode 0600, O_CREAT |
// O_EXCL | O_NOFOLLOW, so an existing file or a planted symbolic link is
// refused, never followed or overwritten; synced before the answer. `name`
// is a plain file name. Returns the file's path.
base::Result<std::filesystem::path> write_secret_file(const std::filesystem::path& dir, std::string_view name,
                                                      std::string_view secret);

// `line` on stdout when stdout is a terminal (answers an empty path);
// otherwise write_secret_file(dir, name, secret) (answers its path).
base::Result<std::filesystem::path> hand_over_secret(const std::filesystem::path& dir, std::string_view name,
                                                     std::string_view secret, std::string_view line);

}  // namespace ates::server
