#include "ates/protocol/schema.hpp"

namespace ates::protocol {

std::string_view to_string(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kInt:
      return "int";
    case FieldType::kUint:
      return "uint";
    case FieldType::kBool:
      return "bool";
    case FieldType::kBinary:
      return "binary";
    case FieldType::kTime:
      return "time";
  }
  return "?";
}

std::string_view to_string(Format format) {
  switch (format) {
    case Format::kNone:
      return "";
    case Format::kUuid:
      return "uuid";
    case Format::kDay:
      return "day";
    case Format::kJiraId:
      return "jira-id";
    case Format::kTaskTitle:
      return "task-title";
    case Format::kUsername:
      return "username";
    case Format::kEmail:
      return "email";
  }
  return "?";
}

std::string_view to_string(EventKind kind) { return kind == EventKind::kBusiness ? "business" : "data"; }

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

}  // namespace

bool is_day(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!is_digit(t[i])) return false;
  }
  const int year = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
  const int month = (t[5] - '0') * 10 + (t[6] - '0');
  const int day = (t[8] - '0') * 10 + (t[9] - '0');
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int last = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= last;
}

bool is_jira_id(std::string_view t) {
  // [A-Z][A-Z0-9]+-[0-9]+
  const auto dash = t.find('-');
  if (dash == std::string_view::npos || dash < 2 || dash + 1 == t.size()) return false;
  if (!is_upper(t[0])) return false;
  for (std::size_t i = 1; i < dash; ++i) {
    if (!is_upper(t[i]) && !is_digit(t[i])) return false;
  }
  for (std::size_t i = dash + 1; i < t.size(); ++i) {
    if (!is_digit(t[i])) return false;
  }
  return true;
}

bool is_task_title(std::string_view t) { return t.find_first_of("[]") == std::string_view::npos; }

bool is_username(std::string_view t) {
  for (char c : t) {
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

bool is_email(std::string_view t) {
  const auto at = t.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < t.size() &&
         t.find('@', at + 1) == std::string_view::npos &&
         t.find_first_of(" \t\r\n<>") == std::string_view::npos;
}

std::int64_t utf8_length(std::string_view t) {
  std::int64_t count = 0;
  for (std::size_t i = 0; i < t.size();) {
    const auto c = static_cast<unsigned char>(t[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return -1;
    }
    if (i + extra >= t.size()) return -1;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(t[i + k]);
      if ((cc & 0xc0) != 0x80) return -1;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong encodings, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    i += extra + 1;
    ++count;
  }
  return count;
}

}  // namespace ates::protocol
