// The UI's files (web-wasm/dist), read into memory at start and served from
// there: a request never touches the file system, so no request path can
// reach a file outside the UI folder, a device or a FIFO.
//
// Loading keeps only regular files whose real path (symlinks resolved) lies
// inside the real UI folder, under a bound on their number and total size;
// everything else is left out and listed in `skipped()`. Each file carries
// its content type and a strong ETag (a hash of its bytes).
//
// UiFiles is one immutable load. UiServer is what the host holds: the
// folder and its current load, and the HTTP answer for a GET. Thread-safe:
// answer() runs on the HTTP threads while reload() runs on the --dev
// watcher; a reload builds a whole new load and swaps the pointer under a
// mutex, and an answer keeps the load it started with.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ates/base/status.hpp"
#include "ates/plugin_api/http.hpp"

namespace ates::server {

// What the HTML page may do: run its own scripts and compile WebAssembly
// ('wasm-unsafe-eval'; no JavaScript eval), its own style sheet, images
// from itself or data: URLs (the empty favicon), requests to the host; no
// plugins, frames, forms, <base> or framing by other sites.
inline constexpr std::string_view kUiContentSecurityPolicy =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct UiLimits {
  std::size_t max_total_bytes = std::size_t{64} << 20;  // the wasm is a few MB
  std::size_t max_files = 1000;
  int max_depth = 8;  // folders below the UI folder
};

struct UiFile {
  std::string content;
  std::string content_type;
  std::string etag;  // "\"<32 hex digits>\"": BLAKE2b-128 of the content
};

// The content type the host sends for a file name; application/octet-stream
// for an unknown extension (with nosniff, never guessed by the browser).
std::string_view ui_content_type(std::string_view name);

class UiFiles {
 public:
  // Reads every servable file under `dir`. Fails when `dir` is not a
  // readable folder (kNotFound, kInternal) or when the files that qualify
  // exceed the limits (kInvalidArgument): a UI served in part would be
  // worse than none.
  static base::Result<std::shared_ptr<const UiFiles>> load(const std::filesystem::path& dir,
                                                           const UiLimits& limits = {});

  // The file for a name from resolve_static_path(), or nullptr.
  const UiFile* find(std::string_view name) const;
  std::size_t size() const { return files_.size(); }
  std::size_t total_bytes() const { return total_bytes_; }
  // "name: why" for each entry left out (a symlink out, a FIFO, ...), for the log.
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  std::map<std::string, UiFile, std::less<>> files_;
  std::size_t total_bytes_ = 0;
  std::vector<std::string> skipped_;
};

class UiServer {
 public:
  // An empty `dir`: no UI; every answer is a 404 saying so.
  explicit UiServer(std::filesystem::path dir = {}, UiLimits limits = {});

  // Loads the folder again and, on success, serves the new load; on a
  // failure it keeps serving the files it had. Returns the load (for the
  // log) or why there is none.
  base::Result<std::shared_ptr<const UiFiles>> reload();

  // The answer to GET `raw_path` (percent-encoded, without the query):
  // 200 with the file, 304 when `if_none_match` names its ETag, else a 404
  // problem. Every answer is nosniff and no-referrer; the HTML page also
  // carries kUiContentSecurityPolicy. A 304 has no body and carries the
  // length of the content it stands for in a Content-Length header.
  plugin_api::Response answer(std::string_view raw_path, std::optional<std::string_view> if_none_match) const;

  const std::filesystem::path& dir() const { return dir_; }
  std::shared_ptr<const UiFiles> current() const;

 private:
  std::filesystem::path dir_;
  UiLimits limits_;
  mutable std::mutex mutex_;  // guards files_ (the pointer, not what it points to)
  std::shared_ptr<const UiFiles> files_;
};

// True when an If-None-Match value names `etag` (weak comparison, as RFC
// 9110 asks for If-None-Match: a W/ prefix is ignored; `*` matches).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace ates::server
