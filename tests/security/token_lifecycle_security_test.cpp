// The token lifecycle against a real `ates serve`: a token revoked by a
// log-out, a password change, a deactivation or an admin is answered 401
// (and stays so after a reactivation); after `ates signing-key rotate` the
// old key still verifies during its overlap and /.well-known/jwks.json
// lists both, and after it the old key neither verifies nor is listed; a
// token whose user the host has not learnt of is never judged on its own
// claims (503 with Retry-After, then 200 once the replica has it). Every
// case checks /healthz afterwards.
#include <algorithm>

#include <boost/test/unit_test.hpp>

#include "ates/plugin_api/jwt.hpp"
#include "ates/testing/wait.hpp"

#include "security_serve.hpp"

namespace ates::security {
namespace {

using Headers = SecureServe::Headers;

Headers bearer_of(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::string log_in(const SecureServe& serve, const std::string& username, const std::string& password) {
  const auto login = serve.client().post(
      "/api/v1/auth/login", nlohmann::json{{"username", username}, {"password", password}}.dump());
  BOOST_TEST_REQUIRE(login.status == 200, login.body);
  return login.json()["token"];
}

std::string id_of(const SecureServe& serve, const Headers& as) {
  const auto me = serve.client().get("/api/v1/auth/me", as);
  BOOST_TEST_REQUIRE(me.status == 200, me.body);
  return me.json()["user"]["id"];
}

std::string kid_of(const std::string& token) {
  return nlohmann::json::parse(*plugin_api::jwt::from_base64url(token.substr(0, token.find('.'))))["kid"];
}

std::vector<std::string> jwks_kids(const SecureServe& serve) {
  std::vector<std::string> kids;
  const auto jwks = serve.client().get("/.well-known/jwks.json").json();
  for (const auto& key : jwks["keys"]) kids.push_back(key["kid"]);
  std::sort(kids.begin(), kids.end());
  return kids;
}

// Revocations travel through auth.users to the host's replica: wait for
// the first 401, then check it exactly, on auth's route and the tracker's.
void expect_revoked(const SecureServe& serve, const Headers& as, const std::string& detail) {
  BOOST_TEST(testing::wait_until([&] { return serve.client().get("/api/v1/auth/me", as).status == 401; }),
             "never refused: " << detail);
  expect_status(serve, "GET", "/api/v1/auth/me", 401, as, {}, detail);
  expect_status(serve, "GET", "/api/v1/tracker/tasks/mine", 401, as, {}, detail);
}

// `ates signing-key rotate` through the running server's control socket.
nlohmann::json rotate(const SecureServe& serve, const std::vector<std::string>& more = {}) {
  std::vector<std::string> argv{ATES_BINARY, "signing-key", "rotate", "--data", serve.data()};
  argv.insert(argv.end(), more.begin(), more.end());
  const auto run = testing::run_to_end(argv);
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.out << run.err);
  const auto answer = nlohmann::json::parse(run.out, nullptr, false);
  BOOST_TEST_REQUIRE(answer.is_object(), run.out);
  BOOST_TEST_REQUIRE(answer.value("ok", false), run.out);
  return answer["result"];
}

BOOST_AUTO_TEST_SUITE(token_lifecycle)

BOOST_AUTO_TEST_CASE(revoked_tokens_are_401) {
  SecureServe serve(ServeOptions{.plugins = "auth,tracker"});
  const auto boss = serve.sign_in("boss", "admin");
  const auto kiwi = serve.sign_in("kiwi", "worker");
  const auto pip = serve.sign_in("pip", "worker");
  const auto moss = serve.sign_in("moss", "worker");
  const auto tui = serve.sign_in("tui", "worker");
  for (const auto* as : {&kiwi, &pip, &moss, &tui})
    expect_status(serve, "GET", "/api/v1/tracker/tasks/mine", 200, *as);

  // A log-out revokes the token it came with, and only that one.
  const std::string kiwi_other = log_in(serve, "kiwi", "kiwi-secret-password");
  expect_status(serve, "POST", "/api/v1/auth/logout", 200, kiwi);
  expect_revoked(serve, kiwi, "revoked by a log-out");
  expect_status(serve, "POST", "/api/v1/auth/logout", 401, kiwi);
  expect_status(serve, "GET", "/api/v1/auth/me", 200, bearer_of(kiwi_other));

  // A password change revokes every earlier token; the next log-in works.
  const std::string pip_other = log_in(serve, "pip", "pip-secret-password");
  expect_status(serve, "PATCH", "/api/v1/auth/users/me", 200, pip,
                R"({"current_password":"pip-secret-password","password":"a-brand-new-one"})");
  const std::string pip_new = log_in(serve, "pip", "a-brand-new-one");
  expect_revoked(serve, pip, "was revoked");
  expect_revoked(serve, bearer_of(pip_other), "was revoked");
  expect_status(serve, "GET", "/api/v1/auth/me", 200, bearer_of(pip_new));

  // A deactivation revokes them, and a reactivation does not bring them back.
  const std::string moss_id = id_of(serve, moss);
  expect_status(serve, "PATCH", "/api/v1/auth/users/" + moss_id, 200, boss, R"({"active":false})");
  expect_revoked(serve, moss, "deactivated");
  expect_status(serve, "PATCH", "/api/v1/auth/users/" + moss_id, 200, boss, R"({"active":true})");
  const std::string moss_new = log_in(serve, "moss", "moss-secret-password");
  BOOST_TEST(testing::wait_until(
      [&] { return serve.client().get("/api/v1/auth/me", bearer_of(moss_new)).status == 200; }));
  expect_status(serve, "GET", "/api/v1/auth/me", 401, moss, {}, "was revoked");

  // An admin revokes every token of a user; nobody else may.
  const std::string tui_id = id_of(serve, tui);
  expect_status(serve, "POST", "/api/v1/auth/users/" + tui_id + "/revoke-tokens", 403, bearer_of(pip_new));
  expect_status(serve, "POST", "/api/v1/auth/users/" + tui_id + "/revoke-tokens", 200, boss);
  expect_revoked(serve, tui, "was revoked");
  expect_status(serve, "GET", "/api/v1/auth/me", 200, boss);
}

BOOST_AUTO_TEST_CASE(a_rotated_key_verifies_during_its_overlap_and_is_listed_beside_the_new_one) {
  SecureServe serve(ServeOptions{.plugins = "auth,tracker"});
  serve.sign_in("boss", "admin");
  const auto kiwi = serve.sign_in("kiwi", "worker");
  const std::string first_kid = kid_of(serve.token("kiwi"));
  BOOST_TEST((jwks_kids(serve) == std::vector<std::string>{first_kid}));

  const auto rotated = rotate(serve);  // the overlap by default: the token lifetime
  const std::string second_kid = rotated["kid"];
  BOOST_TEST(rotated["retired"]["kid"] == first_kid);
  const std::string second = log_in(serve, "kiwi", "kiwi-secret-password");
  BOOST_TEST(kid_of(second) == second_kid);
  std::vector<std::string> both{first_kid, second_kid};
  std::sort(both.begin(), both.end());
  BOOST_TEST(testing::wait_until([&] { return jwks_kids(serve) == both; }));
  expect_status(serve, "GET", "/api/v1/auth/me", 200, kiwi);  // the old key, in its overlap
  expect_status(serve, "GET", "/api/v1/auth/me", 200, bearer_of(second));

  // No overlap: the key just replaced goes at once; the first keeps its own.
  const auto again = rotate(serve, {"--overlap-s", "0"});
  const std::string third_kid = again["kid"];
  BOOST_TEST(again["retired"]["kid"] == second_kid);
  const std::string third = log_in(serve, "kiwi", "kiwi-secret-password");
  expect_revoked(serve, bearer_of(second), "signing key " + second_kid + " was retired");
  expect_status(serve, "GET", "/api/v1/auth/me", 200, kiwi);
  BOOST_TEST(testing::wait_until(
      [&] { return serve.client().get("/api/v1/auth/me", bearer_of(third)).status == 200; }));
  std::vector<std::string> listed{first_kid, third_kid};
  std::sort(listed.begin(), listed.end());
  BOOST_TEST((jwks_kids(serve) == listed));

  // A bad overlap is refused by the command line, nothing rotates.
  const auto bad = testing::run_to_end(
      {ATES_BINARY, "signing-key", "rotate", "--data", serve.data(), "--overlap-s", "-3"});
  BOOST_TEST(bad.exit_code != 0);
  expect_status(serve, "GET", "/api/v1/auth/me", 200, bearer_of(third));
}

BOOST_AUTO_TEST_CASE(after_its_overlap_a_rotated_key_neither_verifies_nor_is_listed) {
  SecureServe serve(
      ServeOptions{.plugins = "auth,tracker", .env = {{"ATES_AUTH_SIGNING_KEY_OVERLAP_S", "1"}}});
  serve.sign_in("boss", "admin");
  const auto kiwi = serve.sign_in("kiwi", "worker");
  const std::string old_kid = kid_of(serve.token("kiwi"));
  const std::string new_kid = rotate(serve)["kid"];
  const std::string fresh = log_in(serve, "kiwi", "kiwi-secret-password");
  // Tokens use the real clock: wait for the second to pass.
  expect_revoked(serve, kiwi, "signing key " + old_kid + " was retired");
  BOOST_TEST((jwks_kids(serve) == std::vector<std::string>{new_kid}));
  expect_status(serve, "GET", "/api/v1/auth/me", 200, bearer_of(fresh));
}

BOOST_AUTO_TEST_CASE(a_token_of_a_user_the_host_has_not_learnt_of_is_503_then_200) {
  SecureServe serve(ServeOptions{.plugins = "auth",
                                 .fake_clock = "2026-03-03T09:00:00Z",
                                 .env = {{"ATES_TOKENS_REPLICA_WAIT_MS", "200"}}});
  const auto boss = serve.sign_in("boss", "admin");
  expect_status(serve, "POST", "/api/v1/dev/hold", 200, boss, R"({"stream":"auth.users","held":true})");
  const auto late = serve.sign_in("late", "worker");  // the host's replica cannot learn of it
  const auto answer = serve.client().get("/api/v1/auth/me", late);
  BOOST_TEST(answer.status == 503, answer.body);
  BOOST_TEST(answer.header("retry-after") == "1");
  expect_status(serve, "GET", "/api/v1/auth/users", 503, late, {}, "has not learnt of the token's user yet");
  expect_status(serve, "GET", "/api/v1/auth/me", 200, boss);
  expect_status(serve, "POST", "/api/v1/dev/hold", 200, boss, R"({"stream":"auth.users","held":false})");
  BOOST_TEST(testing::wait_until([&] { return serve.client().get("/api/v1/auth/me", late).status == 200; }));
  expect_status(serve, "GET", "/api/v1/auth/me", 200, late);
  expect_status(serve, "GET", "/api/v1/auth/users", 403, late);  // its own role, from the replica
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::security
