// The request path of a UI file, checked and decoded: which file of the UI
// folder a GET names, or why it names none.
//
// This is the whole of what an untrusted path decides, so it is small,
// pure and dependency-free (only the standard library: the fuzz target
// compiles it alone). The answer is a relative name to look up in the
// files loaded at start (ui_files.hpp), never a path handed to the file
// system, and a name this accepts can never leave the folder: it is not
// absolute, has no empty, `.` or `..` segment, and holds no backslash, NUL
// or control character. Thread-safe: no state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ates::server {

// Longer request paths are refused before they are decoded.
inline constexpr std::size_t kMaxStaticPathBytes = 1024;

// A resolved path: `file` (e.g. "index.html", "sub/app.js") when `ok()`,
// else `refusal` says why (for the log; clients only see a 404).
struct StaticPath {
  std::string file;
  std::string refusal;

  bool ok() const { return refusal.empty(); }
  static StaticPath resolved(std::string file) { return {std::move(file), {}}; }
  static StaticPath refused(std::string why) { return {{}, std::move(why)}; }
};

// `raw_path` is the request target's path as it came off the wire: without
// the query, still percent-encoded (RESTinio does not decode it). "/" is
// "index.html". Refused, besides what the contract above rules out:
// anything not starting with one '/', a doubled or trailing '/', names
// starting with '.' (hidden files, which also covers `.` and `..`),
// percent-encoded '.', '/', '\\', '%' or control characters (no name needs
// them, and a second decoding elsewhere could turn them into a traversal),
// invalid percent-encoding, and paths over kMaxStaticPathBytes.
StaticPath resolve_static_path(std::string_view raw_path);

}  // namespace ates::server
