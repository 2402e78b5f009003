#include "ates/protocol/upcast.hpp"

#include <algorithm>

namespace ates::protocol {

using base::Result;

namespace {

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

// Keeps at most `max` code points of valid UTF-8.
std::string truncate_code_points(std::string text, std::size_t max) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {
      if (count == max) {
        text.resize(i);
        break;
      }
      ++count;
    }
  }
  return text;
}

}  // namespace

TaskCreated upcast(const TaskCreatedV1& v1) {
  TaskCreated v2;
  v2.task_id = v1.task_id;
  v2.created_by = v1.created_by;
  std::string_view rest = v1.title;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close != std::string_view::npos && is_jira_id(rest.substr(1, close - 1))) {
      v2.jira_id = std::string(rest.substr(1, close - 1));
      rest.remove_prefix(close + 1);
    }
  }
  std::string title = trim(rest);
  title.erase(std::remove_if(title.begin(), title.end(), [](char c) { return c == '[' || c == ']'; }),
              title.end());
  title = trim(title);
  if (title.empty()) title = v2.jira_id.value_or("untitled");
  v2.title = truncate_code_points(std::move(title), 200);
  return v2;
}

Result<Envelope> upcast(Envelope envelope) {
  if (envelope.name == TaskCreatedV1::kName && envelope.version == TaskCreatedV1::kVersion) {
    Result<TaskCreatedV1> v1 = decode_payload<TaskCreatedV1>(envelope);
    if (!v1) return v1.status();
    envelope.version = TaskCreated::kVersion;
    envelope.payload = encode_payload(upcast(*v1));
  }
  return envelope;
}

}  // namespace ates::protocol
