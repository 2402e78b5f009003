#include "ui_files.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <sys/stat.h>

#include "static_files.hpp"

namespace ates::server {

using base::Code;
using base::Status;

namespace {

std::string etag_of(std::string_view content) {
  unsigned char hash[16];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(content.data()),
                     content.size(), nullptr, 0);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string etag = "\"";
  for (unsigned char byte : hash) {
    etag += kHex[byte >> 4];
    etag += kHex[byte & 0xf];
  }
  etag += '"';
  return etag;
}

// `path` is `root` or below it; both canonical.
bool is_inside(const std::filesystem::path& root, const std::filesystem::path& path) {
  auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end() && p != path.end();
}

// Reads a regular file whose real path was checked, checking again on the
// open descriptor in case the file was swapped meanwhile: O_NOFOLLOW
// refuses a symlink put in its place, O_NONBLOCK keeps the open of a FIFO
// from waiting for a writer, and fstat must still say "regular". At most
// `budget` bytes.
base::Result<std::string> read_regular(const std::filesystem::path& real, std::size_t budget) {
  const int fd = ::open(real.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Status(Code::kNotFound, std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return Status(Code::kNotFound, "not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > budget)
    return Status(Code::kInvalidArgument, "over the size bound");
  std::string content;
  content.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[65536];
  while (true) {  // to the end, which may not be st_size if the file changes meanwhile
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(Code::kInternal, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    if (content.size() + static_cast<std::size_t>(n) > budget)
      return Status(Code::kInvalidArgument, "over the size bound");
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
}

Status too_much(const std::filesystem::path& dir, const UiLimits& limits) {
  return Status(Code::kInvalidArgument, "the UI folder " + dir.string() + " holds more than " +
                                            std::to_string(limits.max_files) + " files or " +
                                            std::to_string(limits.max_total_bytes) + " bytes");
}

}  // namespace

std::string_view ui_content_type(std::string_view name) {
  const auto dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? std::string_view() : name.substr(dot);
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".json") return "application/json";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

base::Result<std::shared_ptr<const UiFiles>> UiFiles::load(const std::filesystem::path& dir,
                                                           const UiLimits& limits) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return Status(Code::kNotFound, "the UI folder " + dir.string() + ": " + ec.message());
  if (!fs::is_directory(root, ec))
    return Status(Code::kNotFound, "the UI folder " + dir.string() + " is not a folder");

  auto files = std::make_shared<UiFiles>();
  auto skip = [&](const std::string& name, std::string_view why) {
    files->skipped_.push_back(name + ": " + std::string(why));
  };
  // Symlinked folders are not followed (directory_options::none): a file
  // below one is reached only through a symlink to the file itself, which
  // is checked like any other.
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) return Status(Code::kNotFound, "the UI folder " + dir.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status(Code::kInternal, "reading the UI folder " + dir.string() + ": " + ec.message());
    const fs::directory_entry& entry = *it;
    const std::string name = entry.path().lexically_relative(root).generic_string();
    const fs::file_status own = entry.symlink_status(ec);
    if (ec) {
      skip(name, ec.message());
      ec.clear();
      continue;
    }
    if (fs::is_directory(own)) {
      if (entry.path().filename().string().starts_with('.')) {
        it.disable_recursion_pending();
        skip(name, "a hidden folder");
      } else if (it.depth() + 1 > limits.max_depth) {
        it.disable_recursion_pending();
        skip(name, "too deep");
      }
      continue;
    }
    // Only names a request can spell are kept; this also leaves out
    // hidden files and names with backslashes or control characters.
    const StaticPath spelled = resolve_static_path("/" + name);
    if (!spelled.ok() || spelled.file != name) {
      skip(name, "a name no request path resolves to");
      continue;
    }
    const fs::path real = fs::canonical(entry.path(), ec);
    if (ec) {
      skip(name, "unresolvable (" + ec.message() + ")");
      ec.clear();
      continue;
    }
    if (!is_inside(root, real)) {
      skip(name, "its real path " + real.string() + " is outside the UI folder");
      continue;
    }
    // Judged before opening: opening a device can act on it, and a FIFO
    // would wait for a writer.
    if (!fs::is_regular_file(fs::status(real, ec))) {
      skip(name, "not a regular file");
      ec.clear();
      continue;
    }
    if (files->files_.size() >= limits.max_files) return too_much(dir, limits);
    auto content = read_regular(real, limits.max_total_bytes - files->total_bytes_);
    if (!content) {
      if (content.status().code() == Code::kInvalidArgument) return too_much(dir, limits);
      skip(name, content.status().message());
      continue;
    }
    files->total_bytes_ += content->size();
    UiFile file;
    file.etag = etag_of(*content);
    file.content = std::move(content).value();
    file.content_type = std::string(ui_content_type(name));
    files->files_.emplace(name, std::move(file));
  }
  return std::shared_ptr<const UiFiles>(std::move(files));
}

const UiFile* UiFiles::find(std::string_view name) const {
  const auto it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  auto trim = [](std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
  };
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    std::string_view tag = trim(if_none_match.substr(0, comma));
    if_none_match = comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (!tag.empty() && tag == etag) return true;
  }
  return false;
}

UiServer::UiServer(std::filesystem::path dir, UiLimits limits) : dir_(std::move(dir)), limits_(limits) {}

base::Result<std::shared_ptr<const UiFiles>> UiServer::reload() {
  if (dir_.empty()) return Status(Code::kNotFound, "the UI is not installed");
  auto loaded = UiFiles::load(dir_, limits_);
  if (!loaded) return loaded;
  std::lock_guard lock(mutex_);
  files_ = *loaded;
  return loaded;
}

std::shared_ptr<const UiFiles> UiServer::current() const {
  std::lock_guard lock(mutex_);
  return files_;
}

plugin_api::Response UiServer::answer(std::string_view raw_path,
                                      std::optional<std::string_view> if_none_match) const {
  using plugin_api::Response;
  auto with_common_headers = [](Response response) {
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
    return response;
  };
  const std::shared_ptr<const UiFiles> files = current();
  if (!files) return with_common_headers(Response::problem(404, "not-found", "the UI is not installed"));
  const StaticPath path = resolve_static_path(raw_path);
  const UiFile* file = path.ok() ? files->find(path.file) : nullptr;
  if (file == nullptr) return with_common_headers(Response::problem(404, "not-found", "no such file"));

  const bool not_modified = if_none_match && etag_matches(*if_none_match, file->etag);
  Response response{
      not_modified ? 304 : 200, file->content_type, not_modified ? std::string() : file->content, {}};
  response.headers.emplace_back("ETag", file->etag);
  // Cached, but asked again each time: a rebuilt UI is seen at once, and
  // an unchanged one costs a 304.
  response.headers.emplace_back("Cache-Control", "no-cache");
  if (file->content_type.starts_with("text/html")) {
    response.headers.emplace_back("Content-Security-Policy", std::string(kUiContentSecurityPolicy));
  }
  if (not_modified) response.headers.emplace_back("Content-Length", std::to_string(file->content.size()));
  return with_common_headers(std::move(response));
}

}  // namespace ates::server
