// emscripten_fetch wrapper; see http.hpp for the contract.
#include "http.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <emscripten/emscripten.h>
#include <emscripten/fetch.h>

namespace ates::ui::http {
namespace {

std::string bearer;  // "Bearer <token>", or "" when logged out

// Owns what a request needs until its callback has run, including across
// the retries of a 503: emscripten_fetch reads the headers and body when a
// request starts, and a retry starts it again.
struct Pending {
  std::string method;
  std::string url;
  Callback done;
  std::string body;
  std::vector<std::string> header_text;  // name, value, ...
  std::vector<const char*> headers;      // pointers into header_text, then nullptr
  int retry_budget_s = kRetryBudgetS;    // seconds of waiting left for retries
};

// The Retry-After value of a finished fetch's response, or "".
std::string retry_after(emscripten_fetch_t* fetch) {
  const size_t length = emscripten_fetch_get_response_headers_length(fetch);
  if (length == 0) return {};
  std::string text(length + 1, '\0');
  emscripten_fetch_get_response_headers(fetch, text.data(), text.size());
  text.resize(length);
  // "name: value\r\n" lines; names are case-insensitive.
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "retry-after") continue;
    size_t from = colon + 1;
    while (from < line.size() && (line[from] == ' ' || line[from] == '\t')) ++from;
    size_t to = line.size();
    while (to > from && (line[to - 1] == '\r' || line[to - 1] == ' ' || line[to - 1] == '\t')) --to;
    return line.substr(from, to - from);
  }
  return {};
}

void start(std::unique_ptr<Pending> pending);

void retry(void* arg) { start(std::unique_ptr<Pending>(static_cast<Pending*>(arg))); }

void finish(emscripten_fetch_t* fetch) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(fetch->userData));
  Response response;
  response.status = fetch->status;
  response.status_text = fetch->statusText;
  if (fetch->data != nullptr && fetch->numBytes > 0) {
    response.body.assign(fetch->data, static_cast<size_t>(fetch->numBytes));
  }
  if (response.status == 0) {
    // XHR does not tell a refused connection from a timeout or a CORS
    // failure; say all of it rather than guess.
    response.transport_error = "no answer from the host (it is down, unreachable, or took longer than " +
                               std::to_string(kTimeoutMs / 1000) + " s)";
  }
  const int wait_s = response.status == 503 ? retry_after_seconds(retry_after(fetch)) : -1;
  emscripten_fetch_close(fetch);
  if (wait_s > 0 && wait_s <= pending->retry_budget_s) {
    pending->retry_budget_s -= wait_s;
    emscripten_async_call(retry, pending.release(), wait_s * 1000);
    return;
  }
  pending->done(response);
}

void start(std::unique_ptr<Pending> pending) {
  pending->headers.clear();
  for (const std::string& text : pending->header_text) pending->headers.push_back(text.c_str());
  pending->headers.push_back(nullptr);

  emscripten_fetch_attr_t attr;
  emscripten_fetch_attr_init(&attr);
  std::strncpy(attr.requestMethod, pending->method.c_str(), sizeof(attr.requestMethod) - 1);
  attr.attributes = EMSCRIPTEN_FETCH_LOAD_TO_MEMORY;
  attr.timeoutMSecs = kTimeoutMs;
  attr.requestHeaders = pending->headers.data();
  if (!pending->body.empty()) {
    attr.requestData = pending->body.data();
    attr.requestDataSize = pending->body.size();
  }
  // Error statuses come through onerror with their body intact (Fetch.js
  // stores the response before choosing the callback), so one handler serves
  // both: the caller decides what a status means.
  attr.onsuccess = finish;
  attr.onerror = finish;
  attr.userData = pending.get();

  if (emscripten_fetch(&attr, pending->url.c_str()) == nullptr) {
    Response response;
    response.transport_error = "the browser refused to start the request to " + pending->url;
    pending->done(response);
    return;
  }
  pending.release();  // finish() owns it now
}

void request(const char* method, const std::string& url, std::string body, std::vector<std::string> headers,
             Callback done) {
  if (!bearer.empty()) {
    headers.push_back("Authorization");
    headers.push_back(bearer);
  }
  start(std::make_unique<Pending>(
      Pending{method, url, std::move(done), std::move(body), std::move(headers), {}, kRetryBudgetS}));
}

}  // namespace

int retry_after_seconds(const std::string& value) {
  if (value.empty() || value.size() > 9) return -1;
  int seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return -1;
    seconds = seconds * 10 + (c - '0');
  }
  return std::clamp(seconds, kRetryMinS, kRetryMaxS);
}

void set_bearer_token(std::string token) { bearer = token.empty() ? std::string() : "Bearer " + token; }

void get(const std::string& url, Callback done) {
  // no-cache: a status poll must see the host's answer now, not a cached one.
  request("GET", url, {},
          {"Accept", "application/json, application/problem+json", "Cache-Control", "no-cache"},
          std::move(done));
}

void post_json(const std::string& url, std::string json_body, Callback done) {
  request("POST", url, std::move(json_body),
          {"Content-Type", "application/json", "Accept", "application/json, application/problem+json"},
          std::move(done));
}

void patch_json(const std::string& url, std::string json_body, Callback done) {
  request("PATCH", url, std::move(json_body),
          {"Content-Type", "application/json", "Accept", "application/json, application/problem+json"},
          std::move(done));
}

}  // namespace ates::ui::http
