// Text that would reach mail, logs or other people's screens, and
// Idempotency-Key abuse, against a real `ates serve`: a control character,
// a line separator or a bidirectional override in any field a person types
// is a 400 naming the field; an anonymous request's key never replays
// another client's answer; a key reused with another body is a 409; the
// keys one user may keep are capped. Each answer's status is exact and the
// server still answers /healthz after it.
#include <boost/test/unit_test.hpp>

#include "security_serve.hpp"

namespace ates::security {
namespace {

// One of each kind refused in every field, as JSON escapes decode them.
const std::vector<std::pair<std::string, std::string>> kForbidden = {{"NUL", std::string(1, '\0')},
                                                                     {"BEL", "\x07"},
                                                                     {"ESC (a terminal's escape)", "\x1b[2J"},
                                                                     {"a lone CR", "\r"},
                                                                     {"DEL", "\x7f"},
                                                                     {"NEL U+0085", "\xc2\x85"},
                                                                     {"CSI U+009B", "\xc2\x9b"},
                                                                     {"LINE SEPARATOR", "\xe2\x80\xa8"},
                                                                     {"PARAGRAPH SEPARATOR", "\xe2\x80\xa9"},
                                                                     {"RLO U+202E", "\xe2\x80\xae"},
                                                                     {"LRI U+2066", "\xe2\x81\xa6"},
                                                                     {"PDI U+2069", "\xe2\x81\xa9"}};
// Line breaks and tabs: refused in one-line fields, allowed in descriptions.
const std::vector<std::pair<std::string, std::string>> kLineBreaks = {
    {"LF", "\n"}, {"CRLF", "\r\n"}, {"TAB", "\t"}};

std::string with(const std::string& what) { return "before" + what + "after"; }

BOOST_AUTO_TEST_SUITE(input_text)

BOOST_AUTO_TEST_CASE(control_characters_in_tasks_are_400_naming_the_field) {
  SecureServe serve(ServeOptions{.plugins = "auth,tracker"});
  const auto boss = serve.sign_in("boss", "admin");
  serve.sign_in("kiwi", "worker");
  const auto created = serve.client().post("/api/v1/tracker/tasks", R"({"title":"feed the popugs"})", boss);
  BOOST_TEST_REQUIRE(created.status == 201, created.body);
  const std::string task = "/api/v1/tracker/tasks/" + created.json()["task"]["id"].get<std::string>();

  auto all = kForbidden;
  all.insert(all.end(), kLineBreaks.begin(), kLineBreaks.end());
  for (const auto& [what, text] : all) {
    BOOST_TEST_CONTEXT(what) {
      const std::string title = nlohmann::json{{"title", with(text)}}.dump();
      expect_status(serve, "POST", "/api/v1/tracker/tasks", 400, boss, title, "title:");
      expect_status(serve, "PATCH", task, 400, boss, title, "title:");
    }
  }
  for (const auto& [what, text] : kForbidden) {
    BOOST_TEST_CONTEXT(what) {
      const std::string body = nlohmann::json{{"title", "ok"}, {"description", with(text)}}.dump();
      expect_status(serve, "POST", "/api/v1/tracker/tasks", 400, boss, body, "description:");
      expect_status(serve, "PATCH", task, 400, boss, nlohmann::json{{"description", with(text)}}.dump(),
                    "description:");
    }
  }
  // Tabs and line breaks are what a description is for.
  for (const auto& [what, text] : kLineBreaks) {
    BOOST_TEST_CONTEXT(what) {
      const auto answer = serve.client().post(
          "/api/v1/tracker/tasks", nlohmann::json{{"title", "ok"}, {"description", with(text)}}.dump(), boss);
      BOOST_TEST(answer.status == 201, answer.body);
      BOOST_TEST(answer.json()["task"]["description"] == with(text));
      expect_status(serve, "PATCH", task, 200, boss, nlohmann::json{{"description", with(text)}}.dump());
    }
  }
  // Right-to-left text itself is welcome.
  expect_status(serve, "POST", "/api/v1/tracker/tasks", 201, boss,
                nlohmann::json{{"title", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xe2\x80\x8f popug"}}.dump());
}

BOOST_AUTO_TEST_CASE(control_characters_in_users_are_400_naming_the_field) {
  SecureServe serve(ServeOptions{.plugins = "auth"});
  const auto kiwi = serve.sign_in("kiwi", "worker");
  auto all = kForbidden;
  all.insert(all.end(), kLineBreaks.begin(), kLineBreaks.end());
  for (const auto& [what, text] : all) {
    BOOST_TEST_CONTEXT(what) {
      expect_status(
          serve, "POST", "/api/v1/auth/register", 400, {},
          nlohmann::json{
              {"username", "po" + text + "pug"}, {"password", "long-enough"}, {"email", "p@popug.example"}}
              .dump(),
          "username:");
      expect_status(
          serve, "POST", "/api/v1/auth/register", 400, {},
          nlohmann::json{
              {"username", "popug"}, {"password", "long-enough"}, {"email", "p" + text + "@popug.example"}}
              .dump(),
          "email:");
      expect_status(
          serve, "PATCH", "/api/v1/auth/users/me", 400, kiwi,
          nlohmann::json{{"current_password", "kiwi-secret-password"}, {"email", "kiwi@popug.example" + text}}
              .dump(),
          "email:");
    }
  }
  // A header-splitting email never reaches the user table.
  expect_status(serve, "POST", "/api/v1/auth/register", 400, {},
                nlohmann::json{{"username", "mallory"},
                               {"password", "long-enough"},
                               {"email", "m@popug.example\r\nBcc: everyone@popug.example"}}
                    .dump(),
                "email:");
  // `ates user add` checks the same.
  const auto added = testing::run_to_end({ATES_BINARY, "user", "add", "--data", serve.data(), "--username",
                                          "po\x1bpug", "--role", "worker", "--email", "p@popug.example"},
                                         {}, "long-enough\n");
  BOOST_TEST(added.exit_code != 0);
  BOOST_TEST((added.out + added.err).find("username:") != std::string::npos, added.out << added.err);
  serve.check_alive("ates user add");
}

BOOST_AUTO_TEST_CASE(an_anonymous_key_never_replays_another_clients_answer) {
  SecureServe serve(ServeOptions{.plugins = "auth"});
  const SecureServe::Headers key{{"Idempotency-Key", "guessable"}};
  const std::string kiwi = R"({"username":"kiwi","password":"long-enough","email":"kiwi@popug.example"})";
  const auto first = serve.client().post("/api/v1/auth/register", kiwi, key);
  BOOST_TEST_REQUIRE(first.status == 201, first.body);
  serve.check_alive("a registration with a key");
  // Another client, the same key, its own body: its own answer.
  const auto other = serve.client().post(
      "/api/v1/auth/register", R"({"username":"mallory","password":"long-enough","email":"m@popug.example"})",
      key);
  BOOST_TEST(other.status == 201, other.body);
  BOOST_TEST(other.header("idempotent-replayed").empty());
  BOOST_TEST(other.body.find("kiwi") == std::string::npos, other.body);
  serve.check_alive("the same key from another client");
  // Another client, the same key and the first body: not the first answer
  // (kiwi's id and email) but a conflict on the username.
  expect_status(serve, "POST", "/api/v1/auth/register", 409, key, kiwi, "username 'kiwi' is taken");
  const auto again = serve.client().post("/api/v1/auth/register", kiwi, key);
  BOOST_TEST(again.body.find(first.json()["user"]["id"].get<std::string>()) == std::string::npos, again.body);
}

BOOST_AUTO_TEST_CASE(a_key_with_another_body_is_409_and_each_user_keeps_a_capped_number) {
  SecureServe serve(ServeOptions{.plugins = "auth,tracker"});
  const auto boss = serve.sign_in("boss", "admin");
  serve.sign_in("kiwi", "worker");
  auto with_key = [&](const std::string& key) {
    auto headers = boss;
    headers["Idempotency-Key"] = key;
    return headers;
  };
  const auto created =
      serve.client().post("/api/v1/tracker/tasks", R"({"title":"feed the popugs"})", with_key("create-1"));
  BOOST_TEST_REQUIRE(created.status == 201, created.body);
  const auto replayed =
      serve.client().post("/api/v1/tracker/tasks", R"({"title":"feed the popugs"})", with_key("create-1"));
  BOOST_TEST(replayed.status == 201);
  BOOST_TEST(replayed.header("idempotent-replayed") == "true");
  BOOST_TEST(replayed.body == created.body);
  expect_status(serve, "POST", "/api/v1/tracker/tasks", 409, with_key("create-1"),
                R"({"title":"something else"})", "another request");
  expect_status(serve, "POST", "/api/v1/tracker/tasks", 400, with_key(std::string(256, 'k')),
                R"({"title":"x"})", "Idempotency-Key");

  // 1000 answers per user at most: 1001 keyed edits forget the first key,
  // which then runs again instead of being replayed; the newest is kept.
  const std::string task = "/api/v1/tracker/tasks/" + created.json()["task"]["id"].get<std::string>();
  const std::string edit = R"({"title":"feed the popugs"})";  // changes nothing, answered 200
  for (int i = 0; i <= 1000; ++i) {
    const auto answer = serve.client().request("PATCH", task, edit, with_key("edit-" + std::to_string(i)));
    BOOST_TEST_REQUIRE(answer.status == 200, i << ": " << answer.body);
  }
  serve.check_alive("1001 keyed edits");
  const auto newest = serve.client().request("PATCH", task, edit, with_key("edit-1000"));
  BOOST_TEST(newest.status == 200);
  BOOST_TEST(newest.header("idempotent-replayed") == "true");
  const auto oldest = serve.client().request("PATCH", task, edit, with_key("edit-0"));
  BOOST_TEST(oldest.status == 200);
  BOOST_TEST(oldest.header("idempotent-replayed").empty());
  serve.check_alive("the capped keys");
  // The first create's key was among the oldest too: a retry now runs.
  const auto late =
      serve.client().post("/api/v1/tracker/tasks", R"({"title":"feed the popugs"})", with_key("create-1"));
  BOOST_TEST(late.status == 201);
  BOOST_TEST(late.header("idempotent-replayed").empty());
  serve.check_alive("a forgotten key");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::security
