// HTTP for the UI: asynchronous requests to the host through emscripten_fetch.
//
// Every request ends in exactly one call of its callback, on the browser's
// main thread, from a later turn of the event loop than the one that started
// it (or, if the request could not even start, before the start function
// returns). The callback sees every outcome: a 2xx answer, an error answer
// with its body (the host's application/problem+json), or no answer at all
// (status 0: network error, timeout, host down) with a reason. Nothing is
// dropped here; deciding what to show is the caller's job. The one retry:
// a 503 that carries Retry-After (the host sends it while a plugin reloads
// or is stopped, and while it shuts down) is asked again after that many
// seconds, bounded to kRetryMinS..kRetryMaxS, until kRetryBudgetS seconds
// of waiting have passed; only then does the caller see the 503. A 503
// without Retry-After goes to the caller at once.
//
// Not thread-safe: the UI is single-threaded (no pthreads in this build).
#pragma once

#include <functional>
#include <string>

namespace ates::ui::http {

struct Response {
  // The HTTP status, or 0 when no answer arrived.
  int status = 0;
  // "Not Found", ...: as the browser reported it; may be empty.
  std::string status_text;
  // The whole body, also for error statuses.
  std::string body;
  // Why no answer arrived (status 0 only), in words for the user.
  std::string transport_error;

  bool ok() const { return status >= 200 && status < 300; }
};

using Callback = std::function<void(const Response&)>;

// How long a request may take before it ends as status 0 with a timeout.
inline constexpr unsigned kTimeoutMs = 10'000;

// The bounds on one wait before a retry (Retry-After seconds are clamped to
// them), and on the waits of one request in total.
inline constexpr int kRetryMinS = 1;
inline constexpr int kRetryMaxS = 5;
inline constexpr int kRetryBudgetS = 30;

// The wait, in seconds, that a 503's Retry-After value asks for, clamped to
// kRetryMinS..kRetryMaxS; -1 when `value` is not a number of seconds (an
// HTTP date, empty, garbage), which the UI does not retry.
int retry_after_seconds(const std::string& value);

// The session's token: sent as "Authorization: Bearer <token>" on every
// request from now on; "" (log-out) stops sending it.
void set_bearer_token(std::string token);

// GET `url` (relative URLs resolve against the page, i.e. the host).
void get(const std::string& url, Callback done);

// POST `json_body` to `url` with Content-Type application/json.
void post_json(const std::string& url, std::string json_body, Callback done);

// PATCH `json_body` to `url` with Content-Type application/json.
void patch_json(const std::string& url, std::string json_body, Callback done);

}  // namespace ates::ui::http
