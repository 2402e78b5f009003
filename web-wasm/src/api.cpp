// Parsing and building the host's JSON; see api.hpp.
#include "api.hpp"

#include <nlohmann/json.hpp>

namespace ates::ui::api {
namespace {

using nlohmann::json;

// Bodies quoted in messages are cut here so one bad answer cannot flood the
// screen.
constexpr size_t kQuoteLimit = 160;

std::string quote_body(const std::string& body) {
  if (body.empty()) return "an empty body";
  std::string excerpt = body.substr(0, kQuoteLimit);
  for (char& c : excerpt) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return "\"" + excerpt + (body.size() > kQuoteLimit ? "...\"" : "\"");
}

std::string status_line(const http::Response& response) {
  std::string line = "HTTP " + std::to_string(response.status);
  if (!response.status_text.empty()) line += " " + response.status_text;
  return line;
}

// The string member `key` of `object`, or "" when absent or not a string.
std::string string_member(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<Readiness> parse_readiness(const http::Response& response) {
  if (response.status == 0) return {.error = response.transport_error};
  if (response.status != 200 && response.status != 503) {
    return {.error = describe_failure(response)};
  }
  json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return {.error = status_line(response) +
                     " with a body that is not a JSON object: " + quote_body(response.body)};
  }
  Readiness readiness;
  readiness.status = string_member(doc, "status");
  if (readiness.status.empty()) {
    return {.error = status_line(response) + " without a \"status\" string: " + quote_body(response.body)};
  }
  if (auto plugins = doc.find("plugins"); plugins != doc.end()) {
    if (!plugins->is_array()) {
      return {.error = "\"plugins\" in the /readyz answer is not an array: " + quote_body(response.body)};
    }
    for (const json& plugin : *plugins) {
      if (!plugin.is_object()) {
        return {.error = "a plugin in the /readyz answer is not an object: " + quote_body(response.body)};
      }
      readiness.plugins.push_back(
          {.name = string_member(plugin, "name"), .state = string_member(plugin, "state")});
    }
  }
  return {.value = std::move(readiness)};
}

std::string login_request_body(std::string_view username, std::string_view password) {
  // dump() would abort on invalid UTF-8 (exceptions are off in the wasm
  // build); `replace` keeps the request well-formed and lets the host judge.
  return json{{"username", username}, {"password", password}}.dump(-1, ' ', false,
                                                                   json::error_handler_t::replace);
}

std::string describe_failure(const http::Response& response) {
  if (response.status == 0) {
    return response.transport_error.empty() ? "no answer from the host" : response.transport_error;
  }
  json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    if (std::string detail = string_member(doc, "detail"); !detail.empty()) return detail;
    if (std::string title = string_member(doc, "title"); !title.empty()) return title;
  }
  return status_line(response) + ": " + quote_body(response.body);
}

}  // namespace ates::ui::api
