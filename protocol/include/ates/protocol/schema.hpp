// The schema of an event payload: fields, their types and constraints.
//
// A payload is a MessagePack map from field name to value. The schema says
// which fields exist (an unknown field is an error: a new field means a new
// version), which are required (an optional field may be absent or nil),
// and what each value may be.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

namespace ates::protocol {

enum class FieldType {
  kString,  // UTF-8 text; min/max count code points
  kInt,     // signed 64-bit; min/max bound the value
  kUint,    // unsigned, at most INT64_MAX; min/max bound the value
  kBool,
  kBinary,  // raw bytes; min/max count bytes
  kTime,    // UTC microseconds since the epoch, >= 0
};

// Formats a string must have, beyond its length.
enum class Format {
  kNone,
  kUuid,       // canonical 8-4-4-4-12 hex
  kDay,        // YYYY-MM-DD, a real calendar date
  kJiraId,     // [A-Z][A-Z0-9]+-[0-9]+
  kTaskTitle,  // no '[' or ']' (the v1 shape "[JIRA-1] Title" is gone in v2)
  kUsername,   // [a-z0-9_.-]
  kEmail,      // something@something
};

struct FieldSpec {
  std::string_view name;
  FieldType type = FieldType::kString;
  bool required = true;
  Format format = Format::kNone;
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  std::vector<std::string_view> one_of;  // allowed values of a string, if any
  std::string_view doc;
};

// Business events say that something happened in the domain (a task was
// assigned); data-streaming events carry the current state of an entity to
// its replicas (a user was created or updated).
enum class EventKind { kBusiness, kDataStreaming };

struct EventSchema {
  std::string_view name;
  std::uint32_t version = 1;
  std::string_view stream;
  EventKind kind = EventKind::kBusiness;
  std::string_view doc;
  std::vector<FieldSpec> fields;
};

struct StreamSpec {
  std::string_view name;
  std::string_view producer;
  std::vector<std::string_view> consumers;
  std::string_view doc;
};

std::string_view to_string(FieldType type);
std::string_view to_string(Format format);
std::string_view to_string(EventKind kind);

// Format checks, shared with the HTTP validation of the same fields.
bool is_day(std::string_view text);
bool is_jira_id(std::string_view text);
bool is_task_title(std::string_view text);
bool is_username(std::string_view text);
bool is_email(std::string_view text);
// The number of code points of valid UTF-8, or -1 for invalid UTF-8.
std::int64_t utf8_length(std::string_view text);

}  // namespace ates::protocol
