#include "api.hpp"

#include <limits>
#include <map>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "paged_get.hpp"

namespace ates::ui::api {
namespace {

http::Response answer(int status, std::string body, std::string status_text = {}) {
  http::Response response;
  response.status = status;
  response.body = std::move(body);
  response.status_text = std::move(status_text);
  return response;
}

BOOST_AUTO_TEST_SUITE(readiness)

BOOST_AUTO_TEST_CASE(ready_with_plugins) {
  auto result = parse_readiness(answer(
      200,
      R"({"status":"ready","plugins":[{"name":"auth","state":"running"},{"name":"tracker","state":"running"}]})"));
  BOOST_TEST_REQUIRE(result.ok(), result.error);
  BOOST_TEST(result.value.status == "ready");
  BOOST_TEST_REQUIRE(result.value.plugins.size() == 2u);
  BOOST_TEST(result.value.plugins[0].name == "auth");
  BOOST_TEST(result.value.plugins[1].state == "running");
}

BOOST_AUTO_TEST_CASE(starting_is_a_503_with_the_same_document) {
  auto result = parse_readiness(answer(503, R"({"status":"starting","plugins":[]})"));
  BOOST_TEST_REQUIRE(result.ok(), result.error);
  BOOST_TEST(result.value.status == "starting");
}

BOOST_AUTO_TEST_CASE(no_answer_reports_the_transport_error) {
  http::Response response;
  response.transport_error = "no answer from the host";
  auto result = parse_readiness(response);
  BOOST_TEST(!result.ok());
  BOOST_TEST(result.error == "no answer from the host");
}

BOOST_AUTO_TEST_CASE(other_statuses_and_malformed_bodies_are_errors_that_quote_the_answer) {
  auto not_found = parse_readiness(answer(404, "no such page", "Not Found"));
  BOOST_TEST(not_found.error == R"(HTTP 404 Not Found: "no such page")");

  auto not_json = parse_readiness(answer(200, "<html>"));
  BOOST_TEST(not_json.error.find("not a JSON object") != std::string::npos);

  auto no_status = parse_readiness(answer(200, R"({"plugins":[]})"));
  BOOST_TEST(no_status.error.find("\"status\"") != std::string::npos);

  auto bad_plugins = parse_readiness(answer(200, R"({"status":"ready","plugins":{}})"));
  BOOST_TEST(!bad_plugins.ok());

  auto bad_plugin = parse_readiness(answer(200, R"({"status":"ready","plugins":[7]})"));
  BOOST_TEST(!bad_plugin.ok());
}

BOOST_AUTO_TEST_CASE(every_truncation_is_an_error_not_a_crash) {
  const std::string body = R"({"status":"ready","plugins":[{"name":"auth","state":"running"}]})";
  for (size_t size = 0; size < body.size(); ++size) {
    BOOST_TEST(!parse_readiness(answer(200, body.substr(0, size))).ok());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(failures)

BOOST_AUTO_TEST_CASE(problem_detail_wins_then_title) {
  BOOST_TEST(
      describe_failure(answer(
          404,
          R"({"type":"about:blank","title":"Not Found","status":404,"detail":"no plugin serves /api/v1/auth/login"})")) ==
      "no plugin serves /api/v1/auth/login");
  BOOST_TEST(describe_failure(answer(404, R"({"title":"Not Found","status":404})")) == "Not Found");
  BOOST_TEST(describe_failure(answer(404, R"({"title":"Not Found","detail":""})")) == "Not Found");
}

BOOST_AUTO_TEST_CASE(anything_else_quotes_status_and_a_bounded_excerpt) {
  BOOST_TEST(describe_failure(answer(500, "", "Internal Server Error")) ==
             "HTTP 500 Internal Server Error: an empty body");
  const std::string long_body(1000, 'x');
  const std::string message = describe_failure(answer(502, long_body));
  BOOST_TEST(message.size() < 200u);
  BOOST_TEST(message.find("...") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_answer_is_never_an_empty_message) {
  BOOST_TEST(!describe_failure(http::Response{}).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(login_body_is_escaped_json) {
  const std::string body = login_request_body("po\"pug", "pa\\ss\n");
  const auto doc = nlohmann::json::parse(body);
  BOOST_TEST(doc.at("username").get<std::string>() == "po\"pug");
  BOOST_TEST(doc.at("password").get<std::string>() == "pa\\ss\n");
  // Invalid UTF-8 is replaced, not a crash: the host judges the result.
  BOOST_TEST(!login_request_body("\xff", "x").empty());
}

BOOST_AUTO_TEST_SUITE(screens)

BOOST_AUTO_TEST_CASE(session_has_token_and_user) {
  auto result = parse_session(answer(200, R"({"token":"t.k.n","expires_at":"2026-03-03T10:00:00Z",
      "user":{"id":"u1","username":"popug","email":null,"role":"worker","active":true}})"));
  BOOST_TEST_REQUIRE(result.ok(), result.error);
  BOOST_TEST(result.value.token == "t.k.n");
  BOOST_TEST(result.value.user.role == "worker");
  BOOST_TEST(result.value.user.email.empty());
  BOOST_TEST(result.value.user.active);
  BOOST_TEST(!parse_session(answer(200, R"({"user":{}})")).ok());
  BOOST_TEST(parse_session(answer(401, R"({"detail":"wrong username or password"})")).error ==
             "wrong username or password");
}

BOOST_AUTO_TEST_CASE(tasks_page_and_nulls) {
  auto result = parse_tasks(answer(200, R"({"next":null,"tasks":[{"id":"t1","title":"Feed","jira_id":null,
      "description":"","status":"open","assignee_id":"u1","created_at":"2026-03-03T09:00:00Z","completed_at":null}]})"));
  BOOST_TEST_REQUIRE(result.ok(), result.error);
  BOOST_TEST_REQUIRE(result.value.items.size() == 1u);
  BOOST_TEST(result.value.items[0].jira_id.empty());
  BOOST_TEST(result.value.next.empty());
  BOOST_TEST(!parse_tasks(answer(200, R"({"tasks":{}})")).ok());
  BOOST_TEST(!parse_tasks(answer(200, R"({"tasks":[1]})")).ok());
  BOOST_TEST(parse_task(answer(201, R"({"task":{"id":"t2","title":"x"}})")).value.id == "t2");
}

BOOST_AUTO_TEST_CASE(account_and_entries) {
  auto account =
      parse_account(answer(200, R"({"account":{"user_id":"u1","username":"popug","balance_cents":-1600}})"));
  BOOST_TEST_REQUIRE(account.ok(), account.error);
  BOOST_TEST(account.value.balance_cents == -1600);
  auto entries = parse_entries(answer(200, R"({"entries":[{"id":"e1","kind":"fee","amount_cents":-1600,
      "date":"2026-03-03","task":{"id":"t1","title":"Feed","jira_id":"UBERPOP-42"},"description":"fee"},
      {"id":"e2","kind":"payout","amount_cents":-100,"task":null}],"next":null})"));
  BOOST_TEST_REQUIRE(entries.ok(), entries.error);
  BOOST_TEST_REQUIRE(entries.value.items.size() == 2u);
  BOOST_TEST(entries.value.items[0].task_jira_id == "UBERPOP-42");
  BOOST_TEST(entries.value.items[1].task_title.empty());
}

BOOST_AUTO_TEST_CASE(profile_body_and_user) {
  const auto doc = nlohmann::json::parse(profile_request_body("p@x.example", "", "correct-horse"));
  BOOST_TEST(doc.at("current_password").get<std::string>() == "correct-horse");
  BOOST_TEST(!doc.contains("password"));
  auto user = parse_user(answer(
      200, R"({"user":{"id":"u1","username":"popug","email":"p@x.example","role":"worker","active":true}})"));
  BOOST_TEST_REQUIRE(user.ok(), user.error);
  BOOST_TEST(user.value.email == "p@x.example");
  BOOST_TEST(parse_user(answer(403, R"({"detail":"current_password: wrong"})")).error ==
             "current_password: wrong");
}

BOOST_AUTO_TEST_CASE(users_and_admin_bodies) {
  auto users = parse_users(answer(
      200,
      R"({"users":[{"id":"u1","username":"popug","email":null,"role":"worker","active":false}],"next":null})"));
  BOOST_TEST_REQUIRE(users.ok(), users.error);
  BOOST_TEST_REQUIRE(users.value.items.size() == 1u);
  BOOST_TEST(!users.value.items[0].active);
  BOOST_TEST(role_request_body("manager") == R"({"role":"manager"})");
  BOOST_TEST(active_request_body(false) == R"({"active":false})");
}

BOOST_AUTO_TEST_CASE(analytics) {
  auto summary = parse_summary(
      answer(200, R"({"date":"2026-03-03","management_earnings_cents":-500,"negative_balance_users":2})"));
  BOOST_TEST_REQUIRE(summary.ok(), summary.error);
  BOOST_TEST(summary.value.management_earnings_cents == -500);
  auto none =
      parse_expensive_task(answer(200, R"({"from_date":"2026-03-03","end_date":"2026-03-03","task":null})"));
  BOOST_TEST_REQUIRE(none.ok(), none.error);
  BOOST_TEST(!none.value.found);
  auto some = parse_expensive_task(
      answer(200, R"({"from_date":"a","end_date":"b","task":{"title":"t","reward_cents":4000}})"));
  BOOST_TEST(some.value.found);
  BOOST_TEST(some.value.reward_cents == 4000);
  BOOST_TEST(expensive_task_path("2026-03-01", "2026-03-03") ==
             "/api/v1/analytics/expensive-task?from_date=2026-03-01&end_date=2026-03-03");
  BOOST_TEST(add_days("2026-03-03", -6) == "2026-02-25");
  BOOST_TEST(add_days("2024-03-01", -1) == "2024-02-29");
  BOOST_TEST(add_days("2026-12-31", 1) == "2027-01-01");
  BOOST_TEST(add_days("not a date", 1) == "");
  BOOST_TEST(add_days("9999-12-31", 1) == "");  // past what a date field can spell
  BOOST_TEST(add_days("0000-01-01", -1) == "");
  BOOST_TEST(add_days("9999-12-30", 1) == "9999-12-31");
  BOOST_TEST(add_days("20a6-01-01", 1) == "");  // digits only
  BOOST_TEST(add_days("2026-0-/01", 1) == "");
  BOOST_TEST(add_days("2026-01-01", std::numeric_limits<int>::max()) == "");
  BOOST_TEST(add_days("2026-01-01", std::numeric_limits<int>::min()) == "");
}

BOOST_AUTO_TEST_CASE(register_body_has_three_fields) {
  const auto doc = nlohmann::json::parse(register_request_body("popug", "correct-horse", "p@x.example"));
  BOOST_TEST(doc.at("email").get<std::string>() == "p@x.example");
  BOOST_TEST(doc.size() == 3u);
}

BOOST_AUTO_TEST_CASE(create_task_body_leaves_out_empty_fields) {
  const auto doc = nlohmann::json::parse(create_task_body("Feed", "", "d"));
  BOOST_TEST(doc.at("title").get<std::string>() == "Feed");
  BOOST_TEST(!doc.contains("jira_id"));
  BOOST_TEST(doc.at("description").get<std::string>() == "d");
}

BOOST_AUTO_TEST_CASE(money_and_problem_fields) {
  BOOST_TEST(format_cents(0) == "$0.00");
  BOOST_TEST(format_cents(1234) == "$12.34");
  BOOST_TEST(format_cents(-5) == "-$0.05");
  BOOST_TEST(format_cents(-1600) == "-$16.00");
  BOOST_TEST(problem_field("title: must not contain '[' or ']'") == "title");
  BOOST_TEST(problem_field("jira_id: like UBERPOP-42") == "jira_id");
  BOOST_TEST(problem_field("no eligible assignee: nobody to give it to") == "");
  BOOST_TEST(problem_field("") == "");
  BOOST_TEST(all_tasks_path("") == "/api/v1/tracker/tasks");
  BOOST_TEST(all_tasks_path("open") == "/api/v1/tracker/tasks?status=open");
  BOOST_TEST(parse_shuffle(answer(200, R"({"reassigned":3,"shuffle_id":"s"})")).value == 3);
  BOOST_TEST(!parse_shuffle(answer(200, R"({})")).ok());
  BOOST_TEST(complete_task_path("t1") == "/api/v1/tracker/tasks/t1/complete");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(accounting)

BOOST_AUTO_TEST_CASE(entries_group_by_day_newest_first_and_add_up) {
  // Oldest first, as the host lists them; the late entry of 03-03 was
  // written after one of 03-04.
  const std::vector<Entry> entries = {
      {.id = "1", .date = "2026-03-03", .kind = "fee", .amount_cents = -300},
      {.id = "2", .date = "2026-03-04", .kind = "reward", .amount_cents = 2500},
      {.id = "3", .date = "2026-03-03", .kind = "reward", .amount_cents = 1000},
  };
  const std::vector<EntryDay> days = group_entries_by_day(entries);
  BOOST_TEST_REQUIRE(days.size() == 2u);
  BOOST_TEST(days[0].date == "2026-03-04");
  BOOST_TEST(days[0].net_cents == 2500);
  BOOST_TEST(days[1].date == "2026-03-03");
  BOOST_TEST(days[1].net_cents == 700);
  BOOST_TEST_REQUIRE(days[1].entries.size() == 2u);
  BOOST_TEST(days[1].entries[0].id == "3");  // newest first within the day
  BOOST_TEST(group_entries_by_day({}).empty());
}

BOOST_AUTO_TEST_CASE(page_paths_carry_the_limit_and_the_cursor) {
  BOOST_TEST(page_path(kMyEntriesPath, "") == "/api/v1/accounting/accounts/me/entries?limit=1000");
  BOOST_TEST(page_path("/x?status=open", "c1") == "/x?status=open&limit=1000&after=c1");
  BOOST_TEST(earnings_path("2026-02-18", "2026-03-03") ==
             "/api/v1/accounting/earnings?from=2026-02-18&to=2026-03-03");
  BOOST_TEST(close_day_path("2026-03-03") == "/api/v1/accounting/days/2026-03-03/close");
  BOOST_TEST(redrive_path("accounting-7") == "/api/v1/events/dead-letters/accounting-7/redrive");
}

BOOST_AUTO_TEST_CASE(a_close_that_waits_is_an_answer_not_an_error) {
  const auto result = parse_close_day(answer(409, R"({"type":"about:blank#waiting","status":409,
    "detail":"closing 2026-03-03 waits for events that may still add entries to it",
    "day":{"date":"2026-03-03","status":"waiting","payouts":0,"paid_cents":0,"waiting_for":[]},
    "waiting_for":[{"stream":"tracker.tasks","watermark":"2026-03-03T09:00:01Z",
                    "waiting_since":"2026-03-04T00:01:00Z","reason":"events before 2026-03-04T00:00:00Z may still arrive"}]})"));
  BOOST_TEST_REQUIRE(result.ok(), result.error);
  BOOST_TEST(!result.value.closed);
  BOOST_TEST(result.value.day.status == "waiting");
  BOOST_TEST_REQUIRE(result.value.waiting_for.size() == 1u);
  BOOST_TEST(describe_waiting(result.value.waiting_for[0]) ==
             "tracker.tasks: events up to 2026-03-03T09:00:01Z are in, waiting since 2026-03-04T00:01:00Z "
             "- events before 2026-03-04T00:00:00Z may still arrive");
  BOOST_TEST(describe_waiting({.stream = "tracker.tasks"}) == "tracker.tasks: no watermark heard yet");
}

BOOST_AUTO_TEST_CASE(a_day_not_over_is_an_error_with_the_hosts_detail) {
  const auto result = parse_close_day(answer(409, R"({"status":409,"detail":"2026-03-03 is not over yet"})"));
  BOOST_TEST(!result.ok());
  BOOST_TEST(result.error == "2026-03-03 is not over yet");
}

BOOST_AUTO_TEST_CASE(a_closed_day) {
  const auto result =
      parse_close_day(answer(200, R"({"day":{"date":"2026-03-03","status":"closed","payouts":2,
    "paid_cents":4200,"waiting_for":[]}})"));
  BOOST_TEST_REQUIRE(result.ok(), result.error);
  BOOST_TEST(result.value.closed);
  BOOST_TEST(result.value.day.payouts == 2);
  BOOST_TEST(result.value.day.paid_cents == 4200);
}

BOOST_AUTO_TEST_CASE(days_earnings_and_accounts) {
  const auto days = parse_days(answer(200, R"({"days":[{"date":"2026-03-04","status":"open","payouts":0,
    "paid_cents":0,"waiting_for":[]},{"date":"2026-03-03","status":"waiting","payouts":0,"paid_cents":0,
    "waiting_for":[{"stream":"tracker.tasks","watermark":null,"waiting_since":"2026-03-04T00:01:00Z"}]}],"next":null})"));
  BOOST_TEST_REQUIRE(days.ok(), days.error);
  BOOST_TEST_REQUIRE(days.value.items.size() == 2u);
  BOOST_TEST(days.value.items[1].waiting_for.size() == 1u);
  BOOST_TEST(days.value.items[1].waiting_for[0].watermark == "");
  const auto earnings = parse_earnings(answer(200, R"({"days":[{"date":"2026-03-03","earnings_cents":-700,
    "fees_cents":300,"rewards_cents":1000}]})"));
  BOOST_TEST_REQUIRE(earnings.ok(), earnings.error);
  BOOST_TEST(earnings.value[0].earnings_cents == -700);
  const auto accounts = parse_accounts(answer(200, R"({"accounts":[{"user_id":"u","username":"popug",
    "balance_cents":700}],"next":"u"})"));
  BOOST_TEST_REQUIRE(accounts.ok(), accounts.error);
  BOOST_TEST(accounts.value.items[0].balance_cents == 700);
  BOOST_TEST(accounts.value.next == "u");
  BOOST_TEST(!parse_accounts(answer(403, R"({"detail":"the role worker may not GET"})")).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(events)

BOOST_AUTO_TEST_CASE(streams_with_unknown_heads_and_consumers) {
  const auto result = parse_streams(answer(200, R"({"streams":[{"name":"auth.users","producer":"auth",
    "head_seq":4,"watermark":"2026-03-03T09:00:00Z","consumers":[{"plugin":"tracker","applied_seq":3,"lag":1,
    "state":"running"},{"plugin":"accounting","applied_seq":0,"lag":4,"state":"stalled","error":"disk"}]},
    {"name":"tracker.tasks","producer":"tracker","head_seq":null,"watermark":null,"consumers":[]}]})"));
  BOOST_TEST_REQUIRE(result.ok(), result.error);
  BOOST_TEST_REQUIRE(result.value.size() == 2u);
  BOOST_TEST(result.value[0].head_seq == "4");
  BOOST_TEST(result.value[0].consumers[1].error == "disk");
  BOOST_TEST(result.value[1].head_seq == "");
  BOOST_TEST(result.value[1].watermark == "");
}

BOOST_AUTO_TEST_CASE(dead_letters_and_a_redrive) {
  const auto list =
      parse_dead_letters(answer(200, R"({"dead_letters":[{"id":"accounting-1","stream":"tracker.tasks",
    "seq":7,"consumer":"accounting","reason":"bad payload","time":"2026-03-03T09:00:00Z","resolved":false}],
    "next":"accounting-1"})"));
  BOOST_TEST_REQUIRE(list.ok(), list.error);
  BOOST_TEST(list.value.items[0].seq == 7);
  BOOST_TEST(!list.value.items[0].resolved);
  BOOST_TEST(list.value.next == "accounting-1");
  const auto redriven =
      parse_redriven(answer(200, R"({"dead_letter":{"id":"accounting-1","resolved":true}})"));
  BOOST_TEST_REQUIRE(redriven.ok(), redriven.error);
  BOOST_TEST(redriven.value.resolved);
  BOOST_TEST(parse_redriven(answer(409, R"({"detail":"re-driven already"})")).error == "re-driven already");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(paging)

// get_all_pages with canned answers: the URLs asked, in order, and each
// answer's body by URL.
struct FakeHost {
  std::map<std::string, std::string> bodies;
  std::vector<std::string> asked;
  PageGetter getter() {
    return [this](const std::string& url, http::Callback done) {
      asked.push_back(url);
      done(answer(200, bodies.count(url) ? bodies[url] : R"({"accounts":[],"next":null})"));
    };
  }
};

BOOST_AUTO_TEST_CASE(walks_every_page) {
  FakeHost host;
  host.bodies["/a?limit=1000"] =
      R"({"accounts":[{"user_id":"1","username":"a","balance_cents":1}],"next":"c1"})";
  host.bodies["/a?limit=1000&after=c1"] =
      R"({"accounts":[{"user_id":"2","username":"b","balance_cents":2}],"next":null})";
  Result<std::vector<Account>> got;
  get_all_pages<Account>(
      "/a", parse_accounts, [&](Result<std::vector<Account>> r) { got = std::move(r); }, host.getter());
  BOOST_TEST_REQUIRE(got.ok(), got.error);
  BOOST_TEST(got.value.size() == 2u);
  BOOST_TEST(host.asked.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_cursor_that_does_not_move_is_an_error) {
  FakeHost host;
  host.bodies["/a?limit=1000"] =
      R"({"accounts":[{"user_id":"1","username":"a","balance_cents":1}],"next":"c1"})";
  host.bodies["/a?limit=1000&after=c1"] =
      R"({"accounts":[{"user_id":"2","username":"b","balance_cents":2}],"next":"c1"})";
  Result<std::vector<Account>> got;
  int calls = 0;
  get_all_pages<Account>(
      "/a", parse_accounts,
      [&](Result<std::vector<Account>> r) {
        ++calls;
        got = std::move(r);
      },
      host.getter());
  BOOST_TEST(calls == 1);
  BOOST_TEST(!got.ok());
  BOOST_TEST(got.error.find("same page cursor") != std::string::npos, got.error);
  BOOST_TEST(host.asked.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::ui::api
