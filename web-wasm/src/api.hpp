// The host's HTTP API as the UI sees it: request bodies it sends and the
// answers it reads (docs/api.md). Pure functions over strings, with no
// browser dependency, so they are unit-tested natively (api_test.cpp).
//
// Everything here reads bytes from the network: malformed input is answered
// with an error value, never an assertion or a crash.
// [SECTION] index (by area of the API)
//   - common: routes, Result, Page, failures, money, dates
//   - host: /readyz
//   - auth: log in, register, profile, users (admin)
//   - tracker: tasks
//   - accounting: my account and audit log; accounts, earnings, days (accountants, admins)
//   - analytics (admins)
//   - events (admins)
// api.cpp defines them in the same sections and order of areas.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http.hpp"

namespace ates::ui::api {

// ---- common ----------------------------------------------------------------

inline constexpr const char* kReadyzPath = "/readyz";
inline constexpr const char* kLoginPath = "/api/v1/auth/login";
inline constexpr const char* kLogoutPath = "/api/v1/auth/logout";
inline constexpr const char* kRegisterPath = "/api/v1/auth/register";
inline constexpr const char* kMyUserPath = "/api/v1/auth/users/me";
inline constexpr const char* kUsersPath = "/api/v1/auth/users";
inline constexpr const char* kSummaryPath = "/api/v1/analytics/summary";
inline constexpr const char* kTasksPath = "/api/v1/tracker/tasks";
inline constexpr const char* kMyOpenTasksPath = "/api/v1/tracker/tasks/mine?status=open";
inline constexpr const char* kMyDoneTasksPath = "/api/v1/tracker/tasks/mine?status=done";
inline constexpr const char* kShufflePath = "/api/v1/tracker/tasks/shuffle";
inline constexpr const char* kMyAccountPath = "/api/v1/accounting/accounts/me";
inline constexpr const char* kMyEntriesPath = "/api/v1/accounting/accounts/me/entries";
inline constexpr const char* kAccountsPath = "/api/v1/accounting/accounts";
inline constexpr const char* kDaysPath = "/api/v1/accounting/days";
inline constexpr const char* kStreamsPath = "/api/v1/events/streams";
inline constexpr const char* kDeadLettersPath = "/api/v1/events/dead-letters";

// The largest page a list route gives (API.md): lists are walked page by
// page with ?after= from their `next`.
inline constexpr int kPageLimit = 1000;

// `base` with ?limit=kPageLimit, and &after=<cursor> when `after` is not
// empty (`base` may already carry a query).
std::string page_path(std::string_view base, std::string_view after);

// GET /api/v1/tracker/tasks with ?status= when `status` is not empty.
std::string all_tasks_path(std::string_view status);

// POST /api/v1/tracker/tasks/{id}/complete
std::string complete_task_path(std::string_view task_id);

// Either a value or the reason there is none.
template <typename T>
struct Result {
  T value{};
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

// A list answer: the items and the cursor of the next page ("" at the end).
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next;
};

// The answers of the API routes the screens use. A non-2xx status is an
// error carrying describe_failure(); so is a 2xx body of the wrong shape.

// One line for the user about a failed answer: the problem+json `detail`
// (else `title`), else the status line and the start of the body, else the
// transport error. Never empty.
std::string describe_failure(const http::Response& response);

// The field a validation problem names: its detail reads "field: why"
// (API.md). Returns "" when the detail does not start with a field name.
std::string problem_field(std::string_view detail);

// Money for people: 1234 -> "$12.34", -5 -> "-$0.05".
std::string format_cents(long long cents);

// `days` days after (negative: before) a YYYY-MM-DD date; "" when `date`
// is not one or the result falls outside the years 0000-9999.
std::string add_days(std::string_view date, int days);

// ---- host ------------------------------------------------------------------

struct PluginState {
  std::string name;
  std::string state;  // "running", "starting", "failed", ... as the host says
};

// GET /readyz: 200 {"status":"ready",...} or 503 {"status":"starting",...}.
struct Readiness {
  std::string status;
  std::vector<PluginState> plugins;
};

// Reads a /readyz answer. Both 200 and 503 carry the readiness document; any
// other status, or a body that is not that document, is an error whose text
// says what arrived.
Result<Readiness> parse_readiness(const http::Response& response);

// ---- auth ------------------------------------------------------------------

// `user` of the auth API.
struct User {
  std::string id;
  std::string username;
  std::string email;  // empty when the host has none (null)
  std::string role;   // "admin", "manager", "accountant" or "worker"
  bool active = false;
};

// 200 of POST /api/v1/auth/login.
struct Session {
  std::string token;
  std::string expires_at;
  User user;
};

Result<Session> parse_session(const http::Response& response);

// {"username": ..., "password": ...} with proper JSON escaping.
std::string login_request_body(std::string_view username, std::string_view password);

// {"username", "password", "email"} for POST /api/v1/auth/register.
std::string register_request_body(std::string_view username, std::string_view password,
                                  std::string_view email);

// PATCH /api/v1/auth/users/me: {email?, password?, current_password};
// empty optional fields are left out.
std::string profile_request_body(std::string_view email, std::string_view new_password,
                                 std::string_view current_password);

// {"user": {...}} (the answer of PATCH /auth/users/{id|me}).
Result<User> parse_user(const http::Response& response);

// GET /api/v1/auth/users: {users: [user], next}.
Result<Page<User>> parse_users(const http::Response& response);

// PATCH /api/v1/auth/users/{id} bodies (admin).
std::string role_request_body(std::string_view role);
std::string active_request_body(bool active);

// ---- tracker ---------------------------------------------------------------

// `task` of the tracker API.
struct Task {
  std::string id;
  std::string title;
  std::string jira_id;  // empty when null
  std::string description;
  std::string status;  // "open" or "done"
  std::string assignee_id;
  std::string created_at;
  std::string completed_at;  // empty while open
};

Result<Task> parse_task(const http::Response& response);
Result<Page<Task>> parse_tasks(const http::Response& response);
// 200 of a shuffle: {reassigned, shuffle_id}; the number reassigned.
Result<long long> parse_shuffle(const http::Response& response);

// {"title", "jira_id"?, "description"?}: empty optional fields are left out.
std::string create_task_body(std::string_view title, std::string_view jira_id, std::string_view description);

// ---- accounting ------------------------------------------------------------

// `account` of the accounting API.
struct Account {
  std::string user_id;
  std::string username;
  long long balance_cents = 0;
};

// `entry` of an account's audit log.
struct Entry {
  std::string id;
  std::string occurred_at;
  std::string date;
  std::string kind;  // "fee", "reward", "payout", "fee_reversal" or "reward_reversal"
  long long amount_cents = 0;
  std::string task_title;  // empty when the entry has no task
  std::string task_jira_id;
  std::string description;
};

Result<Account> parse_account(const http::Response& response);
Result<Page<Entry>> parse_entries(const http::Response& response);

// The audit log grouped by day: newest day first, and in each day the
// newest entry first (the host lists entries oldest first).
struct EntryDay {
  std::string date;
  long long net_cents = 0;  // the day's entries added up
  std::vector<Entry> entries;
};
std::vector<EntryDay> group_entries_by_day(const std::vector<Entry>& oldest_first);

// GET /api/v1/accounting/accounts: {accounts: [account], next}.
Result<Page<Account>> parse_accounts(const http::Response& response);

// One day of GET /api/v1/accounting/earnings.
struct DayEarnings {
  std::string date;
  long long earnings_cents = 0;  // fees - rewards: management's earnings
  long long fees_cents = 0;
  long long rewards_cents = 0;
};
Result<std::vector<DayEarnings>> parse_earnings(const http::Response& response);
std::string earnings_path(std::string_view from, std::string_view to);

// What a day close waits for: events of `stream` that may still arrive.
struct Waiting {
  std::string stream;
  std::string watermark;  // the stream's watermark as accounting has it; "" when none yet
  std::string waiting_since;
  std::string reason;  // the host's words; may be empty
};
// One line for people: "tracker.tasks: events up to <watermark> are in,
// waiting since <since> - <reason>".
std::string describe_waiting(const Waiting& waiting);

// A day of GET /api/v1/accounting/days.
struct Day {
  std::string date;
  std::string status;  // "open", "waiting" or "closed"
  long long payouts = 0;
  long long paid_cents = 0;
  std::vector<Waiting> waiting_for;
};
Result<Page<Day>> parse_days(const http::Response& response);

// POST /api/v1/accounting/days/{date}/close: 200 {day} (closed), or 409
// {day, waiting_for} (waiting: not an error, the answer to show). Any other
// answer, a 409 without `waiting_for` (a day not over yet) included, is an
// error with the host's detail.
struct CloseOutcome {
  bool closed = false;
  Day day;
  std::string detail;                // the 409's detail
  std::vector<Waiting> waiting_for;  // non-empty when waiting
};
Result<CloseOutcome> parse_close_day(const http::Response& response);
std::string close_day_path(std::string_view date);

// ---- analytics -------------------------------------------------------------

// GET /api/v1/analytics/summary (admin).
struct Summary {
  std::string date;
  long long management_earnings_cents = 0;
  long long negative_balance_users = 0;
};
Result<Summary> parse_summary(const http::Response& response);

// GET /api/v1/analytics/expensive-task (admin): the task, if any.
struct ExpensiveTask {
  std::string from_date;
  std::string end_date;
  bool found = false;  // false: no task completed in the range
  std::string title;
  std::string jira_id;
  long long reward_cents = 0;
  std::string completed_at;
};
Result<ExpensiveTask> parse_expensive_task(const http::Response& response);
std::string expensive_task_path(std::string_view from_date, std::string_view end_date);

// ---- events ----------------------------------------------------------------

struct ConsumerProgress {
  std::string plugin;
  long long applied_seq = 0;
  long long lag = 0;
  std::string state;
  std::string error;
};

// A stream of GET /api/v1/events/streams.
struct Stream {
  std::string name;
  std::string producer;
  std::string head_seq;   // as text; "" when unknown (null)
  std::string watermark;  // "" when unknown
  std::vector<ConsumerProgress> consumers;
};
Result<std::vector<Stream>> parse_streams(const http::Response& response);

struct DeadLetter {
  std::string id;
  std::string stream;
  long long seq = 0;
  std::string consumer;
  std::string reason;
  std::string time;
  bool resolved = false;
};
Result<Page<DeadLetter>> parse_dead_letters(const http::Response& response);
// 200 of POST .../dead-letters/{id}/redrive: {dead_letter}.
Result<DeadLetter> parse_redriven(const http::Response& response);
std::string redrive_path(std::string_view dead_letter_id);

}  // namespace ates::ui::api
