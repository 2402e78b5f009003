#include "ates/protocol/text.hpp"

#include <cstdio>

namespace ates::protocol {

namespace {

constexpr char32_t kReplacement = 0xfffd;

// Decodes the code point at text[i], moving i past it; kReplacement (and
// one byte on) for anything that is not UTF-8.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t extra = 0;
  char32_t cp = 0;
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  if ((lead & 0xe0) == 0xc0) {
    extra = 1;
    cp = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    extra = 2;
    cp = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    extra = 3;
    cp = lead & 0x07;
  } else {
    ++i;
    return kReplacement;
  }
  if (i + extra >= text.size()) {
    i = text.size();
    return kReplacement;
  }
  for (std::size_t k = 1; k <= extra; ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    if ((c & 0xc0) != 0x80) {
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (c & 0x3f);
  }
  static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  i += extra + 1;
  if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return kReplacement;
  return cp;
}

bool always_forbidden(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::optional<char32_t> forbidden_character(std::string_view text, Lines lines) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t at = i;
    const char32_t cp = next_code_point(text, i);
    if (cp == kReplacement && text.substr(at, 3) != "\xef\xbf\xbd") return kReplacement;
    if (!always_forbidden(cp)) continue;
    if (lines == Lines::kMulti &&
        (cp == '\t' || cp == '\n' || (cp == '\r' && i < text.size() && text[i] == '\n'))) {
      continue;
    }
    return cp;
  }
  return std::nullopt;
}

std::string code_point_name(char32_t code_point) {
  char name[16];
  std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(code_point));
  return name;
}

}  // namespace ates::protocol
