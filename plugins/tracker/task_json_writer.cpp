#include "task_json_writer.hpp"

#include <array>

#include "ates/protocol/time.hpp"

namespace ates::tracker {

namespace {

// What a byte of a string needs: copied as is, escaped, or checked as part
// of a multi-byte UTF-8 sequence.
enum class ByteClass : std::uint8_t { kPlain, kEscape, kUtf8 };

constexpr std::array<ByteClass, 256> kByteClass = [] {
  std::array<ByteClass, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    if (c < 0x20 || c == '"' || c == '\\') {
      classes[c] = ByteClass::kEscape;
    } else if (c >= 0x80) {
      classes[c] = ByteClass::kUtf8;
    } else {
      classes[c] = ByteClass::kPlain;
    }
  }
  return classes;
}();

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default: {
      const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(escaped, sizeof escaped);
    }
  }
}

// The UTF-8 sequence at the start of `text`, whose first byte is >= 0x80:
// how many bytes it takes and whether it is well-formed (RFC 3629: shortest
// form, no surrogates, at most U+10FFFF). An ill-formed one is its maximal
// well-formed prefix, at least one byte (Unicode's "maximal subpart", which
// is also what nlohmann's replace handler counts as one bad character).
struct Utf8Sequence {
  std::size_t length;
  bool valid;
};

Utf8Sequence utf8_sequence(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  std::size_t continuations = 0;
  unsigned char low = 0x80, high = 0xbf;  // the range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    continuations = 1;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    continuations = 2;
    if (lead == 0xe0) low = 0xa0;   // else overlong
    if (lead == 0xed) high = 0x9f;  // else a surrogate
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    continuations = 3;
    if (lead == 0xf0) low = 0x90;   // else overlong
    if (lead == 0xf4) high = 0x8f;  // else above U+10FFFF
  } else {
    return {1, false};  // a continuation byte, or a lead byte never used
  }
  for (std::size_t i = 1; i <= continuations; ++i) {
    if (i == text.size()) return {i, false};
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < low || c > high) return {i, false};
    low = 0x80;
    high = 0xbf;
  }
  return {continuations + 1, true};
}

// Writes `value` (< 100) as two digits at `at`.
void two_digits(char* at, unsigned value) {
  at[0] = static_cast<char>('0' + value / 10);
  at[1] = static_cast<char>('0' + value % 10);
}

// 10000-01-01T00:00:00Z: from here on strftime's %Y has five digits.
constexpr std::int64_t kYear10000 = 253402300800;

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t run = 0;  // the start of the bytes not yet copied
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const ByteClass kind = kByteClass[c];
    if (kind == ByteClass::kPlain) {
      ++i;
      continue;
    }
    if (kind == ByteClass::kEscape) {
      out.append(text.data() + run, i - run);
      append_escape(out, c);
      run = ++i;
      continue;
    }
    const Utf8Sequence sequence = utf8_sequence(text.substr(i));
    if (!sequence.valid) {
      out.append(text.data() + run, i - run);
      out += kReplacement;
      run = i + sequence.length;
    }
    i += sequence.length;
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void append_utc(std::string& out, std::int64_t micros) {
  // The same truncation as format_utc's.
  const std::int64_t seconds = micros / 1'000'000;
  if (seconds < 0 || seconds >= kYear10000) {
    out += protocol::format_utc(micros);  // rare: let gmtime and strftime decide
    return;
  }
  // The proleptic Gregorian date of a day since 1970-01-01 (H. Hinnant's
  // civil_from_days, for non-negative days).
  const std::int64_t z = seconds / 86400 + 719468;
  const std::int64_t era = z / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const auto day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  const auto year = static_cast<unsigned>(yoe + era * 400 + (month <= 2 ? 1 : 0));
  const auto of_day = static_cast<unsigned>(seconds % 86400);
  char text[] = "YYYY-MM-DDTHH:MM:SSZ";
  two_digits(text, year / 100);
  two_digits(text + 2, year % 100);
  two_digits(text + 5, month);
  two_digits(text + 8, day);
  two_digits(text + 11, of_day / 3600);
  two_digits(text + 14, of_day / 60 % 60);
  two_digits(text + 17, of_day % 60);
  out.append(text, sizeof text - 1);
}

void append_task_json(std::string& out, const Task& task) {
  // nlohmann::json keeps an object's keys sorted: this order.
  out += "{\"assignee_id\":";
  append_json_string(out, task.assignee_id);
  out += ",\"completed_at\":";
  if (task.completed_at == 0) {
    out += "null";
  } else {
    out += '"';
    append_utc(out, task.completed_at);
    out += '"';
  }
  out += ",\"created_at\":\"";
  append_utc(out, task.created_at);
  out += "\",\"description\":";
  append_json_string(out, task.description);
  out += ",\"id\":";
  append_json_string(out, task.id);
  out += ",\"jira_id\":";
  if (task.jira_id.empty()) {
    out += "null";
  } else {
    append_json_string(out, task.jira_id);
  }
  out += ",\"status\":";
  append_json_string(out, storage::name_of(task.status));
  out += ",\"title\":";
  append_json_string(out, task.title);
  out += '}';
}

std::string tasks_page_json(std::span<const Task> tasks, std::size_t limit) {
  const bool more = tasks.size() > limit;
  if (more) tasks = tasks.first(limit);
  // The keys, quotes, commas and times take at most 156 bytes a task, the
  // strings their size unless escaped (rare): one allocation, as a rule.
  std::size_t estimate = 64;
  for (const Task& task : tasks) {
    estimate += 176 + task.id.size() + task.title.size() + task.jira_id.size() + task.description.size() +
                storage::name_of(task.status).size() + task.assignee_id.size();
  }
  std::string out;
  out.reserve(estimate);
  out += "{\"next\":";
  if (more && !tasks.empty()) {  // empty: limit 0, which parse_page refuses
    append_json_string(out, tasks.back().id);
  } else {
    out += "null";
  }
  out += ",\"tasks\":[";
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (i != 0) out += ',';
    append_task_json(out, tasks[i]);
  }
  out += "]}";
  return out;
}

std::string listed_page_json(std::string_view assignee, std::span<const std::string_view> after_assignee,
                             std::optional<std::string_view> next) {
  std::string head = "{\"assignee_id\":";
  append_json_string(head, assignee);
  std::size_t size = 32 + (next ? next->size() : 0);
  for (const std::string_view rest : after_assignee) size += head.size() + rest.size() + 1;
  std::string out;
  out.reserve(size);
  out += "{\"next\":";
  if (next) {
    append_json_string(out, *next);
  } else {
    out += "null";
  }
  out += ",\"tasks\":[";
  for (std::size_t i = 0; i < after_assignee.size(); ++i) {
    if (i != 0) out += ',';
    out += head;
    out += after_assignee[i];
  }
  out += "]}";
  return out;
}

}  // namespace ates::tracker
