// Parsing and building the host's JSON; see api.hpp.
#include "api.hpp"

#include <algorithm>
#include <cstdio>

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

// A JSON string member, or "" when absent, null or not a string.
std::string text(const json& object, const char* key) { return string_member(object, key); }

long long integer(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

// The JSON object of a 2xx answer, or the error to show.
Result<json> object_of(const http::Response& response) {
  if (!response.ok()) return {.error = describe_failure(response)};
  json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return {.error = status_line(response) +
                     " with a body that is not a JSON object: " + quote_body(response.body)};
  }
  return {.value = std::move(doc)};
}

// The object member `key` of a 2xx answer's document.
Result<json> member_object(const http::Response& response, const char* key) {
  Result<json> doc = object_of(response);
  if (!doc.ok()) return doc;
  auto it = doc.value.find(key);
  if (it == doc.value.end() || !it->is_object()) {
    return {.error = std::string("the answer has no \"") + key + "\" object: " + quote_body(response.body)};
  }
  return {.value = *it};
}

User user_from(const json& u) {
  bool active = false;
  if (auto it = u.find("active"); it != u.end() && it->is_boolean()) active = it->get<bool>();
  return {.id = text(u, "id"),
          .username = text(u, "username"),
          .email = text(u, "email"),
          .role = text(u, "role"),
          .active = active};
}

Task task_from(const json& t) {
  return {.id = text(t, "id"),
          .title = text(t, "title"),
          .jira_id = text(t, "jira_id"),
          .description = text(t, "description"),
          .status = text(t, "status"),
          .assignee_id = text(t, "assignee_id"),
          .created_at = text(t, "created_at"),
          .completed_at = text(t, "completed_at")};
}

Entry entry_from(const json& e) {
  Entry entry{.id = text(e, "id"),
              .occurred_at = text(e, "occurred_at"),
              .date = text(e, "date"),
              .kind = text(e, "kind"),
              .amount_cents = integer(e, "amount_cents"),
              .description = text(e, "description")};
  if (auto it = e.find("task"); it != e.end() && it->is_object()) {
    entry.task_title = text(*it, "title");
    entry.task_jira_id = text(*it, "jira_id");
  }
  return entry;
}

Account account_from(const json& a) {
  return {.user_id = text(a, "user_id"),
          .username = text(a, "username"),
          .balance_cents = integer(a, "balance_cents")};
}

std::vector<Waiting> waiting_from(const json& list) {
  std::vector<Waiting> out;
  for (const json& w : list) {
    if (!w.is_object()) continue;
    out.push_back({.stream = text(w, "stream"),
                   .watermark = text(w, "watermark"),
                   .waiting_since = text(w, "waiting_since"),
                   .reason = text(w, "reason")});
  }
  return out;
}

Day day_from(const json& d) {
  Day day{.date = text(d, "date"),
          .status = text(d, "status"),
          .payouts = integer(d, "payouts"),
          .paid_cents = integer(d, "paid_cents")};
  if (auto waiting = d.find("waiting_for"); waiting != d.end() && waiting->is_array()) {
    day.waiting_for = waiting_from(*waiting);
  }
  return day;
}

DeadLetter dead_letter_from(const json& l) {
  bool resolved = false;
  if (auto it = l.find("resolved"); it != l.end() && it->is_boolean()) resolved = it->get<bool>();
  return {.id = text(l, "id"),
          .stream = text(l, "stream"),
          .seq = integer(l, "seq"),
          .consumer = text(l, "consumer"),
          .reason = text(l, "reason"),
          .time = text(l, "time"),
          .resolved = resolved};
}

// {"<key>": [item...], "next": cursor|null}
template <typename T, typename From>
Result<Page<T>> page_of(const http::Response& response, const char* key, From from) {
  Result<json> doc = object_of(response);
  if (!doc.ok()) return {.error = std::move(doc.error)};
  auto it = doc.value.find(key);
  if (it == doc.value.end() || !it->is_array()) {
    return {.error = std::string("the answer has no \"") + key + "\" array: " + quote_body(response.body)};
  }
  Page<T> page;
  for (const json& item : *it) {
    if (!item.is_object()) {
      return {.error =
                  std::string("an item of \"") + key + "\" is not an object: " + quote_body(response.body)};
    }
    page.items.push_back(from(item));
  }
  page.next = text(doc.value, "next");
  return {.value = std::move(page)};
}

}  // namespace

// ---- common ----------------------------------------------------------------

std::string page_path(std::string_view base, std::string_view after) {
  std::string path(base);
  path += base.find('?') == std::string_view::npos ? "?" : "&";
  path += "limit=" + std::to_string(kPageLimit);
  if (!after.empty()) path += "&after=" + std::string(after);
  return path;
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

std::string problem_field(std::string_view detail) {
  size_t colon = detail.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  for (char c : detail.substr(0, colon)) {
    if (!((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9'))) return {};
  }
  return std::string(detail.substr(0, colon));
}

std::string format_cents(long long cents) {
  const bool negative = cents < 0;
  unsigned long long magnitude =
      negative ? 0ULL - static_cast<unsigned long long>(cents) : static_cast<unsigned long long>(cents);
  std::string fraction = std::to_string(magnitude % 100);
  if (fraction.size() < 2) fraction.insert(0, "0");
  return (negative ? "-$" : "$") + std::to_string(magnitude / 100) + "." + fraction;
}

std::string add_days(std::string_view date, int days) {
  // Howard Hinnant's days_from_civil / civil_from_days.
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return {};
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (date[i] < '0' || date[i] > '9') return {};
  }
  int y = 0, m = 0, d = 0;
  for (int i : {0, 1, 2, 3}) y = y * 10 + (date[i] - '0');
  for (int i : {5, 6}) m = m * 10 + (date[i] - '0');
  for (int i : {8, 9}) d = d * 10 + (date[i] - '0');
  if (m < 1 || m > 12 || d < 1 || d > 31) return {};
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  long z = era * 146097 + doe - 719468 + days;
  z += 719468;
  const long era2 = (z >= 0 ? z : z - 146096) / 146097;
  const long doe2 = z - era2 * 146097;
  const long yoe2 = (doe2 - doe2 / 1460 + doe2 / 36524 - doe2 / 146096) / 365;
  long year = yoe2 + era2 * 400;
  const long doy2 = doe2 - (365 * yoe2 + yoe2 / 4 - yoe2 / 100);
  const long mp = (5 * doy2 + 2) / 153;
  const long day = doy2 - (153 * mp + 2) / 5 + 1;
  const long month = mp < 10 ? mp + 3 : mp - 9;
  year += month <= 2;
  if (year < 0 || year > 9999) return {};  // no date field can spell it
  char out[64];                            // room for any three longs: never truncated
  std::snprintf(out, sizeof out, "%04ld-%02ld-%02ld", year, month, day);
  return out;
}

// ---- host ------------------------------------------------------------------

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

// ---- auth ------------------------------------------------------------------

Result<Session> parse_session(const http::Response& response) {
  Result<json> doc = object_of(response);
  if (!doc.ok()) return {.error = std::move(doc.error)};
  Session session{.token = text(doc.value, "token"), .expires_at = text(doc.value, "expires_at")};
  auto user = doc.value.find("user");
  if (session.token.empty() || user == doc.value.end() || !user->is_object()) {
    return {.error = "the log-in answer has no token or user: " + quote_body(response.body)};
  }
  session.user = user_from(*user);
  return {.value = std::move(session)};
}

std::string login_request_body(std::string_view username, std::string_view password) {
  // dump() would abort on invalid UTF-8 (exceptions are off in the wasm
  // build); `replace` keeps the request well-formed and lets the host judge.
  return json{{"username", username}, {"password", password}}.dump(-1, ' ', false,
                                                                   json::error_handler_t::replace);
}

std::string register_request_body(std::string_view username, std::string_view password,
                                  std::string_view email) {
  return json{{"username", username}, {"password", password}, {"email", email}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

std::string profile_request_body(std::string_view email, std::string_view new_password,
                                 std::string_view current_password) {
  json body{{"current_password", current_password}};
  if (!email.empty()) body["email"] = email;
  if (!new_password.empty()) body["password"] = new_password;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<User> parse_user(const http::Response& response) {
  Result<json> user = member_object(response, "user");
  if (!user.ok()) return {.error = std::move(user.error)};
  return {.value = user_from(user.value)};
}

Result<Page<User>> parse_users(const http::Response& response) {
  return page_of<User>(response, "users", user_from);
}

std::string role_request_body(std::string_view role) { return json{{"role", role}}.dump(); }

std::string active_request_body(bool active) { return json{{"active", active}}.dump(); }

// ---- tracker ---------------------------------------------------------------

std::string all_tasks_path(std::string_view status) {
  std::string path = kTasksPath;
  if (!status.empty()) path += "?status=" + std::string(status);
  return path;
}

std::string complete_task_path(std::string_view task_id) {
  return std::string(kTasksPath) + "/" + std::string(task_id) + "/complete";
}

Result<Task> parse_task(const http::Response& response) {
  Result<json> task = member_object(response, "task");
  if (!task.ok()) return {.error = std::move(task.error)};
  return {.value = task_from(task.value)};
}

Result<Page<Task>> parse_tasks(const http::Response& response) {
  return page_of<Task>(response, "tasks", task_from);
}

Result<long long> parse_shuffle(const http::Response& response) {
  Result<json> doc = object_of(response);
  if (!doc.ok()) return {.error = std::move(doc.error)};
  auto it = doc.value.find("reassigned");
  if (it == doc.value.end() || !it->is_number_integer()) {
    return {.error = "the shuffle's answer has no \"reassigned\" number: " + quote_body(response.body)};
  }
  return {.value = it->get<long long>()};
}

std::string create_task_body(std::string_view title, std::string_view jira_id, std::string_view description) {
  json body{{"title", title}};
  if (!jira_id.empty()) body["jira_id"] = jira_id;
  if (!description.empty()) body["description"] = description;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- accounting ------------------------------------------------------------

Result<Account> parse_account(const http::Response& response) {
  Result<json> account = member_object(response, "account");
  if (!account.ok()) return {.error = std::move(account.error)};
  return {.value = account_from(account.value)};
}

Result<Page<Entry>> parse_entries(const http::Response& response) {
  return page_of<Entry>(response, "entries", entry_from);
}

std::vector<EntryDay> group_entries_by_day(const std::vector<Entry>& oldest_first) {
  std::vector<EntryDay> days;
  for (auto it = oldest_first.rbegin(); it != oldest_first.rend(); ++it) {
    // Entries come in the order written, and a late entry counts on the day
    // it was booked, so equal dates are not always adjacent: look the day up.
    auto day = std::find_if(days.begin(), days.end(), [&](const EntryDay& d) { return d.date == it->date; });
    if (day == days.end()) day = days.insert(days.end(), EntryDay{.date = it->date});
    day->net_cents += it->amount_cents;
    day->entries.push_back(*it);
  }
  std::stable_sort(days.begin(), days.end(),
                   [](const EntryDay& a, const EntryDay& b) { return a.date > b.date; });
  return days;
}

Result<Page<Account>> parse_accounts(const http::Response& response) {
  return page_of<Account>(response, "accounts", account_from);
}

Result<std::vector<DayEarnings>> parse_earnings(const http::Response& response) {
  Result<Page<DayEarnings>> page = page_of<DayEarnings>(response, "days", [](const json& d) {
    return DayEarnings{.date = text(d, "date"),
                       .earnings_cents = integer(d, "earnings_cents"),
                       .fees_cents = integer(d, "fees_cents"),
                       .rewards_cents = integer(d, "rewards_cents")};
  });
  if (!page.ok()) return {.error = std::move(page.error)};
  return {.value = std::move(page.value.items)};
}

std::string earnings_path(std::string_view from, std::string_view to) {
  return "/api/v1/accounting/earnings?from=" + std::string(from) + "&to=" + std::string(to);
}

std::string describe_waiting(const Waiting& waiting) {
  std::string line = waiting.stream + ": ";
  line +=
      waiting.watermark.empty() ? "no watermark heard yet" : "events up to " + waiting.watermark + " are in";
  if (!waiting.waiting_since.empty()) line += ", waiting since " + waiting.waiting_since;
  // The reason often ends in its own parentheses: a dash reads better.
  if (!waiting.reason.empty()) line += " - " + waiting.reason;
  return line;
}

Result<Page<Day>> parse_days(const http::Response& response) {
  return page_of<Day>(response, "days", day_from);
}

Result<CloseOutcome> parse_close_day(const http::Response& response) {
  if (response.status == 409) {
    json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object()) {
      if (auto waiting = doc.find("waiting_for");
          waiting != doc.end() && waiting->is_array() && !waiting->empty()) {
        CloseOutcome outcome{.detail = text(doc, "detail"), .waiting_for = waiting_from(*waiting)};
        if (auto day = doc.find("day"); day != doc.end() && day->is_object()) outcome.day = day_from(*day);
        return {.value = std::move(outcome)};
      }
    }
  }
  Result<json> day = member_object(response, "day");
  if (!day.ok()) return {.error = std::move(day.error)};
  CloseOutcome outcome{.closed = true, .day = day_from(day.value)};
  outcome.closed = outcome.day.status == "closed";
  if (!outcome.closed) {
    return {.error = "the host answered the close with the day " + outcome.day.status + ": " +
                     quote_body(response.body)};
  }
  return {.value = std::move(outcome)};
}

std::string close_day_path(std::string_view date) {
  return std::string(kDaysPath) + "/" + std::string(date) + "/close";
}

// ---- analytics -------------------------------------------------------------

Result<Summary> parse_summary(const http::Response& response) {
  Result<json> doc = object_of(response);
  if (!doc.ok()) return {.error = std::move(doc.error)};
  return {.value = {.date = text(doc.value, "date"),
                    .management_earnings_cents = integer(doc.value, "management_earnings_cents"),
                    .negative_balance_users = integer(doc.value, "negative_balance_users")}};
}

Result<ExpensiveTask> parse_expensive_task(const http::Response& response) {
  Result<json> doc = object_of(response);
  if (!doc.ok()) return {.error = std::move(doc.error)};
  ExpensiveTask result{.from_date = text(doc.value, "from_date"), .end_date = text(doc.value, "end_date")};
  if (auto it = doc.value.find("task"); it != doc.value.end() && it->is_object()) {
    result.found = true;
    result.title = text(*it, "title");
    result.jira_id = text(*it, "jira_id");
    result.reward_cents = integer(*it, "reward_cents");
    result.completed_at = text(*it, "completed_at");
  }
  return {.value = std::move(result)};
}

std::string expensive_task_path(std::string_view from_date, std::string_view end_date) {
  std::string path = "/api/v1/analytics/expensive-task?from_date=" + std::string(from_date);
  if (!end_date.empty()) path += "&end_date=" + std::string(end_date);
  return path;
}

// ---- events ----------------------------------------------------------------

Result<std::vector<Stream>> parse_streams(const http::Response& response) {
  Result<Page<Stream>> page = page_of<Stream>(response, "streams", [](const json& s) {
    Stream stream{
        .name = text(s, "name"), .producer = text(s, "producer"), .watermark = text(s, "watermark")};
    if (auto head = s.find("head_seq"); head != s.end() && head->is_number_integer()) {
      stream.head_seq = std::to_string(head->get<long long>());
    }
    if (auto consumers = s.find("consumers"); consumers != s.end() && consumers->is_array()) {
      for (const json& c : *consumers) {
        if (!c.is_object()) continue;
        stream.consumers.push_back({.plugin = text(c, "plugin"),
                                    .applied_seq = integer(c, "applied_seq"),
                                    .lag = integer(c, "lag"),
                                    .state = text(c, "state"),
                                    .error = text(c, "error")});
      }
    }
    return stream;
  });
  if (!page.ok()) return {.error = std::move(page.error)};
  return {.value = std::move(page.value.items)};
}

Result<Page<DeadLetter>> parse_dead_letters(const http::Response& response) {
  return page_of<DeadLetter>(response, "dead_letters", dead_letter_from);
}

Result<DeadLetter> parse_redriven(const http::Response& response) {
  Result<json> letter = member_object(response, "dead_letter");
  if (!letter.ok()) return {.error = std::move(letter.error)};
  return {.value = dead_letter_from(letter.value)};
}

std::string redrive_path(std::string_view dead_letter_id) {
  return std::string(kDeadLettersPath) + "/" + std::string(dead_letter_id) + "/redrive";
}

}  // namespace ates::ui::api
