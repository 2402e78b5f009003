#include "static_files.hpp"

#include <optional>

namespace ates::server {

namespace {

std::optional<int> hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// A byte no file name needs, raw or decoded.
std::optional<std::string_view> forbidden_byte(unsigned char c) {
  if (c == '\0') return "a NUL byte";
  if (c == '\\') return "a backslash";
  if (is_control(c)) return "a control character";
  return std::nullopt;
}

}  // namespace

StaticPath resolve_static_path(std::string_view raw_path) {
  if (raw_path.size() > kMaxStaticPathBytes) return StaticPath::refused("the path is too long");
  if (raw_path.empty() || raw_path.front() != '/')
    return StaticPath::refused("the path does not start with '/'");
  if (raw_path == "/") return StaticPath::resolved("index.html");

  // Decode and check in one pass. Segments are split on the raw '/' only:
  // an encoded one is refused, so a decoded byte never separates segments.
  std::string file;
  file.reserve(raw_path.size());
  std::size_t segment_start = 0;  // in `file`
  auto end_segment = [&]() -> std::optional<std::string_view> {
    const std::string_view segment = std::string_view(file).substr(segment_start);
    if (segment.empty()) return "an empty segment ('//' or a trailing '/')";
    if (segment.front() == '.') return "a segment starting with '.' (., .. or a hidden file)";
    return std::nullopt;
  };
  for (std::size_t i = 1; i < raw_path.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw_path[i]);
    if (c == '/') {
      if (auto why = end_segment()) return StaticPath::refused("the path has " + std::string(*why));
      file += '/';
      segment_start = file.size();
      continue;
    }
    if (auto why = forbidden_byte(c)) return StaticPath::refused("the path has " + std::string(*why));
    if (c != '%') {
      file += static_cast<char>(c);
      continue;
    }
    if (i + 2 >= raw_path.size()) {
      return StaticPath::refused("the path has a truncated percent-encoding");
    }
    const auto high = hex_value(raw_path[i + 1]);
    const auto low = hex_value(raw_path[i + 2]);
    if (!high || !low) return StaticPath::refused("the path has an invalid percent-encoding");
    const auto decoded = static_cast<unsigned char>(*high * 16 + *low);
    if (decoded == '.' || decoded == '/' || decoded == '%') {
      return StaticPath::refused("the path has a percent-encoded '.', '/' or '%'");
    }
    if (auto why = forbidden_byte(decoded))
      return StaticPath::refused("the path has an encoded " + std::string(*why));
    file += static_cast<char>(decoded);
    i += 2;
  }
  if (auto why = end_segment()) return StaticPath::refused("the path has " + std::string(*why));
  return StaticPath::resolved(std::move(file));
}

}  // namespace ates::server
