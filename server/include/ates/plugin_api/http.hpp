// The plugin API's own HTTP types: what a plugin sees of a request and what
// it answers. RESTinio stays inside the host (it costs ~35 s per file to
// compile), so plugins include only this.
//
// Handlers are asynchronous: a handler gets the request and a Responder and
// may answer later from any thread (typically from a storage unit's
// completion, after the commit). It must answer exactly once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/base/status.hpp"
#include "ates/plugin_api/json_schema.hpp"
#include "ates/protocol/calendar_day.hpp"

namespace ates::plugin_api {

enum class Method { kGet, kPost, kPatch, kPut, kDelete };
inline std::string_view to_string(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kPost:
      return "POST";
    case Method::kPatch:
      return "PATCH";
    case Method::kPut:
      return "PUT";
    case Method::kDelete:
      return "DELETE";
  }
  return "?";
}

enum class Role { kAdmin, kManager, kAccountant, kWorker };
inline std::string_view to_string(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kManager:
      return "manager";
    case Role::kAccountant:
      return "accountant";
    case Role::kWorker:
      return "worker";
  }
  return "?";
}

inline std::optional<Role> role_from_string(std::string_view text) {
  for (Role role : {Role::kAdmin, Role::kManager, Role::kAccountant, Role::kWorker}) {
    if (to_string(role) == text) return role;
  }
  return std::nullopt;
}

// Who is calling: verified by the host from the bearer token.
struct Principal {
  std::string user_id;
  Role role = Role::kWorker;
  // The bearer token the request came with, as the host verified it: its
  // id (jti) and expiry (exp, seconds since the epoch), for a log-out.
  std::string token_id;
  std::int64_t token_expires_at = 0;
};

struct Request {
  Method method = Method::kGet;
  std::string path;                                // without the query
  std::map<std::string, std::string> path_params;  // {id} -> value
  std::map<std::string, std::string> query;        // decoded; last value wins
  std::map<std::string, std::string> headers;      // names in lower case
  std::string body;
  std::optional<Principal> principal;  // set when a valid token came; absent on public routes without one
  std::string request_id;              // also in every log line
  // The caller's IP address: the TCP peer, or behind a trusted reverse
  // proxy (http.trusted_proxies) the address X-Forwarded-For names. Use this,
  // never the header itself, for anything keyed on the caller's address.
  std::string client_address;

  std::optional<std::string_view> header(std::string_view lower_case_name) const {
    const auto it = headers.find(std::string(lower_case_name));
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  std::optional<std::string_view> query_value(std::string_view name) const {
    const auto it = query.find(std::string(name));
    if (it == query.end()) return std::nullopt;
    return std::string_view(it->second);
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(int status, const nlohmann::json& body) {
    return Response{status, "application/json", body.dump(), {}};
  }
  // RFC 7807 problem+json: {type, title, status, detail}. `type` is a
  // stable identifier clients may switch on, e.g. "validation". A 503
  // carries Retry-After: 1.
  static Response problem(int status, std::string_view type, std::string_view detail);
  // The HTTP answer for a Status from any module (400, 404, 409, 403, 401,
  // 507, 503, 500), with the status message as the detail.
  static Response from_status(const base::Status& status);
};

// The reason phrase of the HTTP statuses ates answers.
inline std::string_view status_title(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 507:
      return "Insufficient Storage";
    default:
      return "Error";
  }
}

inline Response Response::problem(int status, std::string_view type, std::string_view detail) {
  const nlohmann::json body = {{"type", "https://ates.uberpopug.example/problems/" + std::string(type)},
                               {"title", std::string(status_title(status))},
                               {"status", status},
                               {"detail", std::string(detail)}};
  Response response{status, "application/problem+json", body.dump(), {}};
  // A 503 is always worth retrying: every one says when (docs/api.md).
  if (status == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
}

inline Response Response::from_status(const base::Status& status) {
  using base::Code;
  switch (status.code()) {
    case Code::kOk:
      return json(200, nlohmann::json::object());
    case Code::kInvalidArgument:
      return problem(400, "validation", status.message());
    case Code::kNotFound:
      return problem(404, "not-found", status.message());
    case Code::kConflict:
      return problem(409, "conflict", status.message());
    case Code::kPermissionDenied:
      return problem(403, "forbidden", status.message());
    case Code::kUnauthenticated:
      return problem(401, "unauthenticated", status.message());
    case Code::kStorageFull:
      return problem(507, "storage-full", status.message());
    case Code::kUnavailable:
      return problem(503, "unavailable", status.message());
    case Code::kInternal:
      return problem(500, "internal", status.message());
  }
  return problem(500, "internal", status.message());
}

using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request, Responder)>;

// Who may call a route. An empty `roles` with `authenticated` means any
// signed-in user; `authenticated = false` makes the route public.
struct Access {
  bool authenticated = true;
  std::vector<Role> roles;

  static Access anyone() { return {false, {}}; }
  static Access any_role() { return {true, {}}; }
  static Access only(std::vector<Role> roles) { return {true, std::move(roles)}; }
  bool allows(const std::optional<Principal>& principal) const {
    if (!authenticated) return true;
    if (!principal) return false;
    return roles.empty() || std::find(roles.begin(), roles.end(), principal->role) != roles.end();
  }
};

// ---- the contract of a route (docs/api.md, "The contract") --------------------------

// A path, query or header parameter. Its value is text; the schema's type
// says how to read it (an integer is decimal digits, a boolean true or
// false), then the schema is checked as for a body.
struct Parameter {
  enum class In { kPath, kQuery, kHeader };
  In in = In::kQuery;
  std::string name;  // header names in lower case
  Schema schema = Schema::string();
  bool required = false;
  std::string description;

  static Parameter path(std::string name, Schema schema, std::string description = {}) {
    return {In::kPath, std::move(name), std::move(schema), true, std::move(description)};
  }
  static Parameter query(std::string name, Schema schema, std::string description = {}) {
    return {In::kQuery, std::move(name), std::move(schema), false, std::move(description)};
  }
  static Parameter required_query(std::string name, Schema schema, std::string description = {}) {
    return {In::kQuery, std::move(name), std::move(schema), true, std::move(description)};
  }
  static Parameter header(std::string name, Schema schema, std::string description = {}) {
    return {In::kHeader, std::move(name), std::move(schema), false, std::move(description)};
  }
};

// One answer a route gives: its status, what it means, and the shape of
// its body (none for a bodiless answer). Errors other than those listed
// are problem+json, as for every route (the document's `default`).
struct Answer {
  int status = 200;
  std::string description;
  std::optional<Schema> body;
  std::string content_type = "application/json";
};

// What a route takes and answers. The host checks every request against
// it before the handler runs (a 400 naming the field), and the OpenAPI
// document is made from it: what is documented is what is enforced.
struct Contract {
  std::vector<Parameter> parameters;  // path parameters not listed are any non-empty string
  std::optional<Schema> body;         // a JSON body, checked; absent: the body is not read
  bool body_required = true;          // false: an empty body is also accepted
  std::vector<Answer> answers;        // at least the successful ones
  // Takes Idempotency-Key (docs/api.md): a retry gets the first answer.
  bool idempotent = false;

  bool declared() const { return !answers.empty(); }
};

struct Route {
  Method method = Method::kGet;
  // Relative to the plugin's prefix /api/v1/<plugin>; segments in braces
  // are parameters: "/tasks/{id}/complete".
  std::string pattern;
  Access access;
  Handler handler;
  std::string summary;  // one line for the OpenAPI document
  Contract contract;
};

// The shared schemas of docs/api.md's conventions.
inline Schema problem_schema() {
  return Schema::object({{"type", Schema::string()},
                         {"title", Schema::string()},
                         {"status", Schema::integer().minimum(100).maximum(599)},
                         {"detail", Schema::string()}})
      .titled("Problem")
      .describe("RFC 7807 problem details; `type` is a stable URI a client may switch on");
}
// `?limit=&after=` of every list (parse_page).
inline std::vector<Parameter> page_parameters() {
  return {Parameter::query("limit", Schema::integer().minimum(1).maximum(1000), "page size, default 100"),
          Parameter::query("after", Schema::cursor(), "the `next` of the previous page")};
}

// ---- shared helpers (the conventions of docs/api.md) -------------------------------------

// Parses a JSON request body; a malformed body or a non-object is
// invalid_argument (400).
inline base::Result<nlohmann::json> parse_json_object(std::string_view body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return base::invalid_argument("the body is not valid JSON");
  if (!parsed.is_object()) return base::invalid_argument("the body must be a JSON object");
  return parsed;
}

// `?limit=` (default 100, 1..1000) and `?after=<cursor>` (docs/api.md). Lists
// answer `next`: the cursor of the following page, or null.
struct Page {
  std::size_t limit = 100;
  std::optional<std::string> after;
};

// A page cursor as ates hands them out (ids, usernames, days): short and
// printable, so one is never an LMDB key that cannot exist, a NUL or a line
// break in a log.
inline constexpr std::size_t kMaxCursorBytes = 256;
inline bool is_cursor(std::string_view text) {
  if (text.empty() || text.size() > kMaxCursorBytes) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

inline base::Result<Page> parse_page(const Request& request) {
  Page page;
  if (auto limit = request.query_value("limit")) {
    std::size_t value = 0;
    if (limit->empty() || limit->size() > 4) return base::invalid_argument("limit must be 1..1000");
    for (char c : *limit) {
      if (c < '0' || c > '9') return base::invalid_argument("limit must be 1..1000");
      value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (value < 1 || value > 1000) return base::invalid_argument("limit must be 1..1000");
    page.limit = value;
  }
  if (auto after = request.query_value("after")) {
    if (!is_cursor(*after)) {
      return base::invalid_argument("after: a cursor from an earlier page's next (1.." +
                                    std::to_string(kMaxCursorBytes) + " printable ASCII characters)");
    }
    page.after = std::string(*after);
  }
  return page;
}

// ---- days in queries -----------------------------------------------------------

// The longest date range any route accepts, in days, both ends counted:
// what one request may make the server walk, and a year of statements.
inline constexpr std::int64_t kMaxRangeDays = 366;

// `?<name>=YYYY-MM-DD` as a day between 1970-01-01 and 9999-12-31; absent,
// `fallback`, or an error naming the field when there is none.
inline base::Result<protocol::CalendarDay> parse_day_query(const Request& request, std::string_view name,
                                                           std::optional<protocol::CalendarDay> fallback) {
  const auto text = request.query_value(name);
  if (!text) {
    if (fallback) return *fallback;
    return base::invalid_argument(std::string(name) + ": required, a date YYYY-MM-DD");
  }
  const auto day = protocol::CalendarDay::parse(*text);
  if (!day) {
    return base::invalid_argument(std::string(name) + ": a date YYYY-MM-DD from 1970-01-01 to 9999-12-31");
  }
  return *day;
}

struct DayRange {
  protocol::CalendarDay from;
  protocol::CalendarDay to;  // counted: the range ends after it
  std::int64_t days() const { return protocol::days_inclusive(from, to); }
};

// `?<from_name>=&<to_name>=`: both days valid, `to` not before `from`, at
// most kMaxRangeDays in all. A missing `from` is `default_from`; a missing
// `to` is `from`. Each error names the field it is about.
inline base::Result<DayRange> parse_day_range(const Request& request, std::string_view from_name,
                                              std::string_view to_name,
                                              std::optional<protocol::CalendarDay> default_from) {
  auto from = parse_day_query(request, from_name, default_from);
  if (!from) return from.status();
  auto to = parse_day_query(request, to_name, *from);
  if (!to) return to.status();
  const DayRange range{*from, *to};
  if (range.days() < 1) {
    return base::invalid_argument(std::string(to_name) + ": must not be before " + std::string(from_name));
  }
  if (range.days() > kMaxRangeDays) {
    return base::invalid_argument(std::string(to_name) + ": at most " + std::to_string(kMaxRangeDays) +
                                  " days from " + std::string(from_name) + ", both counted");
  }
  return range;
}

// Cuts `items` (sorted by cursor, at most limit + 1 of them, read from
// after the cursor) to one page and says where the next one starts.
template <class Item, class CursorOf>
nlohmann::json page_of(std::vector<Item> items, const Page& page, CursorOf cursor_of, std::string_view field,
                       const std::function<nlohmann::json(const Item&)>& to_json) {
  nlohmann::json next = nullptr;
  if (items.size() > page.limit) {
    items.resize(page.limit);
    next = cursor_of(items.back());
  }
  nlohmann::json list = nlohmann::json::array();
  for (const Item& item : items) list.push_back(to_json(item));
  return {{std::string(field), std::move(list)}, {"next", std::move(next)}};
}

}  // namespace ates::plugin_api
