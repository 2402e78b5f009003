// emscripten_fetch wrapper; see http.hpp for the contract.
#include "http.hpp"

#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <emscripten/fetch.h>

namespace ates::ui::http {
namespace {

// Owns what a request needs until its callback has run: emscripten_fetch
// reads the headers and body when the request starts, but keeping them with
// the callback makes the lifetime obvious and costs nothing.
struct Pending {
  Callback done;
  std::string body;
  std::vector<const char*> headers;  // name, value, ..., nullptr (static strings)
};

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
  emscripten_fetch_close(fetch);
  pending->done(response);
}

void start(const char* method, const std::string& url, std::string body, std::vector<const char*> headers,
           Callback done) {
  auto pending = std::make_unique<Pending>(Pending{std::move(done), std::move(body), std::move(headers)});
  pending->headers.push_back(nullptr);

  emscripten_fetch_attr_t attr;
  emscripten_fetch_attr_init(&attr);
  std::strncpy(attr.requestMethod, method, sizeof(attr.requestMethod) - 1);
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

  if (emscripten_fetch(&attr, url.c_str()) == nullptr) {
    Response response;
    response.transport_error = "the browser refused to start the request to " + url;
    pending->done(response);
    return;
  }
  pending.release();  // finish() owns it now
}

}  // namespace

void get(const std::string& url, Callback done) {
  // no-cache: a status poll must see the host's answer now, not a cached one.
  start("GET", url, {}, {"Accept", "application/json, application/problem+json", "Cache-Control", "no-cache"},
        std::move(done));
}

void post_json(const std::string& url, std::string json_body, Callback done) {
  start("POST", url, std::move(json_body),
        {"Content-Type", "application/json", "Accept", "application/json, application/problem+json"},
        std::move(done));
}

}  // namespace ates::ui::http
