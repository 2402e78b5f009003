#include "api.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

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
  auto account = parse_account(answer(200, R"({"account":{"user_id":"u1","username":"popug","balance_cents":-1600}})"));
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
  auto user = parse_user(answer(200, R"({"user":{"id":"u1","username":"popug","email":"p@x.example","role":"worker","active":true}})"));
  BOOST_TEST_REQUIRE(user.ok(), user.error);
  BOOST_TEST(user.value.email == "p@x.example");
  BOOST_TEST(parse_user(answer(403, R"({"detail":"current_password: wrong"})")).error == "current_password: wrong");
}

BOOST_AUTO_TEST_CASE(users_and_admin_bodies) {
  auto users = parse_users(answer(200, R"({"users":[{"id":"u1","username":"popug","email":null,"role":"worker","active":false}],"next":null})"));
  BOOST_TEST_REQUIRE(users.ok(), users.error);
  BOOST_TEST_REQUIRE(users.value.items.size() == 1u);
  BOOST_TEST(!users.value.items[0].active);
  BOOST_TEST(role_request_body("manager") == R"({"role":"manager"})");
  BOOST_TEST(active_request_body(false) == R"({"active":false})");
}

BOOST_AUTO_TEST_CASE(analytics) {
  auto summary = parse_summary(answer(200, R"({"date":"2026-03-03","management_earnings_cents":-500,"negative_balance_users":2})"));
  BOOST_TEST_REQUIRE(summary.ok(), summary.error);
  BOOST_TEST(summary.value.management_earnings_cents == -500);
  auto none = parse_expensive_task(answer(200, R"({"from_date":"2026-03-03","end_date":"2026-03-03","task":null})"));
  BOOST_TEST_REQUIRE(none.ok(), none.error);
  BOOST_TEST(!none.value.found);
  auto some = parse_expensive_task(answer(200, R"({"from_date":"a","end_date":"b","task":{"title":"t","reward_cents":4000}})"));
  BOOST_TEST(some.value.found);
  BOOST_TEST(some.value.reward_cents == 4000);
  BOOST_TEST(expensive_task_path("2026-03-01", "2026-03-03") ==
             "/api/v1/analytics/expensive-task?from_date=2026-03-01&end_date=2026-03-03");
  BOOST_TEST(add_days("2026-03-03", -6) == "2026-02-25");
  BOOST_TEST(add_days("2024-03-01", -1) == "2024-02-29");
  BOOST_TEST(add_days("2026-12-31", 1) == "2027-01-01");
  BOOST_TEST(add_days("not a date", 1) == "");
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

}  // namespace
}  // namespace ates::ui::api
