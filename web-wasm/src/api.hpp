// The host's HTTP API as the UI sees it: request bodies it sends and the
// answers it reads (DESIGN §8). Pure functions over strings, with no browser
// dependency, so they are unit-tested natively (api_test.cpp).
//
// Everything here reads bytes from the network: malformed input is answered
// with an error value, never an assertion or a crash (STYLE habit 6).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http.hpp"

namespace ates::ui::api {

inline constexpr const char* kReadyzPath = "/readyz";
inline constexpr const char* kLoginPath = "/api/v1/auth/login";

struct PluginState {
  std::string name;
  std::string state;  // "running", "starting", "failed", ... as the host says
};

// GET /readyz: 200 {"status":"ready",...} or 503 {"status":"starting",...}.
struct Readiness {
  std::string status;
  std::vector<PluginState> plugins;
};

// Either a value or the reason there is none.
template <typename T>
struct Result {
  T value{};
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

// Reads a /readyz answer. Both 200 and 503 carry the readiness document; any
// other status, or a body that is not that document, is an error whose text
// says what arrived.
Result<Readiness> parse_readiness(const http::Response& response);

// {"username": ..., "password": ...} with proper JSON escaping.
std::string login_request_body(std::string_view username, std::string_view password);

// One line for the user about a failed answer: the problem+json `detail`
// (else `title`), else the status line and the start of the body, else the
// transport error. Never empty.
std::string describe_failure(const http::Response& response);

}  // namespace ates::ui::api
