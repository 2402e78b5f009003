// Fuzzes the UI's request-path resolver (server/src/static_files.hpp) with
// arbitrary request paths: whatever it resolves must name a file inside the
// UI folder, however the path was spelled. It aborts when a resolved name
// is absolute, has an empty, `.` or `..` segment, holds a NUL, backslash or
// control character, or when `root / name`, lexically normalised, is not
// below root; and when a refusal carries a name anyway.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "static_files.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_inside(const std::string& name) {
  check(!name.empty());
  check(name.front() != '/');
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    check(byte != '\0' && byte != '\\' && byte >= 0x20 && byte != 0x7f);
  }
  std::string_view rest = name;
  while (true) {  // every segment
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    check(!segment.empty() && segment != "." && segment != "..");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  const std::filesystem::path root = "/srv/ates/ui";
  const std::filesystem::path relative(name);
  check(relative.is_relative() && !relative.has_root_name() && !relative.has_root_directory());
  const std::filesystem::path joined = (root / relative).lexically_normal();
  const auto [in_root, in_joined] = std::mismatch(root.begin(), root.end(), joined.begin(), joined.end());
  check(in_root == root.end() && in_joined != joined.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  const ates::server::StaticPath resolved = ates::server::resolve_static_path(path);
  if (!resolved.ok()) {
    check(resolved.file.empty());
    return 0;
  }
  check(resolved.refusal.empty());
  check_inside(resolved.file);
  // A name the resolver gave is one it accepts again, unchanged, when
  // spelled plainly (what the loader relies on to keep only reachable files).
  if (resolved.file.size() < ates::server::kMaxStaticPathBytes) {
    const bool has_percent = resolved.file.find('%') != std::string::npos;
    check(!has_percent);  // a decoded '%' is refused: no double decoding
    const ates::server::StaticPath again = ates::server::resolve_static_path("/" + resolved.file);
    check(again.ok() && again.file == resolved.file);
  }
  return 0;
}
