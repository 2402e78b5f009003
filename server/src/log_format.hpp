// How the log reads: lines of text (the default) or, with log.format =
// json, one JSON object per line for log collectors:
//
//   {"time":"2026-12-04T15:30:00.123456Z","level":"info","component":"auth",
//    "request_id":"e5615912-7","message":"..."}
//
// Lines name their part as "[component] " and a request as "[request id] "
// at the front of the text (PluginLogger and the access log write them so);
// the JSON form moves both into fields. A line written on a thread while it
// handles a request (RequestScope) carries that request's id even when its
// writer did not name it, in both forms.
#pragma once

#include <string>
#include <string_view>

#include "ates/base/status.hpp"

namespace ates::server {

// "text" or "json" (log.format); anything else is an error naming the key.
base::Status use_log_format(std::string_view format);

// The request the calling thread is handling, if any.
std::string_view current_request_id();

// Marks the calling thread as handling `request_id` until it goes.
class RequestScope {
 public:
  explicit RequestScope(std::string request_id);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  std::string previous_;
};

// The JSON line for one message (without the newline): exposed for tests.
std::string json_log_line(std::int64_t time_us, std::string_view level, std::string_view text,
                          std::string_view request_id);

}  // namespace ates::server
