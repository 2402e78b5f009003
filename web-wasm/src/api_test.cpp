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

}  // namespace
}  // namespace ates::ui::api
