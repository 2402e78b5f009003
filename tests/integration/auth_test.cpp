// The auth plugin in a real host: routes × roles, tokens verified by the
// host from the auth.users stream, every way a token can be bad, changes
// reaching tokens already issued, throttling, and the events admin routes
// of the host that need an admin's token.
#include <sodium.h>

#include <boost/test/unit_test.hpp>

#include "ates/plugin_api/jwt.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/test_host.hpp"
#include "ates/testing/wait.hpp"

namespace ates {
namespace {

using testing::HttpClient;
using testing::HttpResponse;

const std::filesystem::path kPlugins = ATES_PLUGINS_DIR;

using testing::bearer;

// auth alone, with one user per role ("the-<role>"), ids and tokens by role.
struct AuthHost : testing::PluginsHost {
  explicit AuthHost(std::map<std::string, std::string> environment = {})
      : PluginsHost(kPlugins, "auth", std::move(environment)) {
    for (const std::string role : {"admin", "manager", "accountant", "worker"})
      add("the-" + role, role, role);
    // Tokens work once the host has the signing key from the stream.
    BOOST_TEST_REQUIRE(testing::wait_until([&] { return get("/api/v1/auth/me", "admin").status == 200; }));
  }

  HttpResponse get(const std::string& path, const std::string& role) const {
    return client->get(path, bearer(tokens.at(role)));
  }
  HttpResponse send(const std::string& method, const std::string& path, const nlohmann::json& body,
                    const std::string& role) const {
    return client->request(method, path, body.dump(), bearer(tokens.at(role)));
  }
};

void check_problem(const HttpResponse& response, long status, const std::string& detail_part) {
  BOOST_TEST(response.status == status, response.body);
  BOOST_TEST(response.header("content-type") == "application/problem+json");
  BOOST_TEST(response.json()["detail"].get<std::string>().find(detail_part) != std::string::npos,
             response.json()["detail"]);
}

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(every_route_for_every_role) {
  AuthHost h;
  for (const std::string role : {"admin", "manager", "accountant", "worker"}) {
    BOOST_TEST_CONTEXT(role) {
      const auto me = h.get("/api/v1/auth/me", role);
      BOOST_TEST(me.status == 200);
      BOOST_TEST(me.json()["user"]["role"] == role);
      BOOST_TEST(!me.json()["user"].contains("password_hash"));
      const auto users = h.get("/api/v1/auth/users", role);
      const auto patch =
          h.send("PATCH", "/api/v1/auth/users/" + h.user_ids["worker"], {{"active", true}}, role);
      if (role == "admin") {
        BOOST_TEST(users.status == 200);
        BOOST_TEST(users.json()["users"].size() == 4u);
        BOOST_TEST(users.json()["next"].is_null());
        BOOST_TEST(patch.status == 200);
      } else {
        check_problem(users, 403, "may not GET /api/v1/auth/users");
        check_problem(patch, 403, "may not PATCH");
      }
      check_problem(h.send("PATCH", "/api/v1/auth/users/me", {{"current_password", "not-the-one"}}, role),
                    403, "current_password: wrong");
      const auto changed =
          h.send("PATCH", "/api/v1/auth/users/me",
                 {{"current_password", "password-the-" + role}, {"email", role + "@popug.example"}}, role);
      BOOST_TEST(changed.status == 200, changed.body);
      BOOST_TEST(changed.json()["user"]["email"] == role + "@popug.example");
    }
  }
  // Without a token, only register and log-in are open.
  check_problem(h.client->get("/api/v1/auth/me"), 401, "bearer token is required");
  check_problem(h.client->get("/api/v1/auth/users"), 401, "bearer token is required");
  const auto registered = h.client->post(
      "/api/v1/auth/register", R"({"username":"newbie","password":"long-enough","email":"n@popug.example"})");
  BOOST_TEST(registered.status == 201, registered.body);
  BOOST_TEST(registered.json()["user"]["role"] == "worker");
  BOOST_TEST(h.login("newbie", "long-enough").size() > 100u);
  // Paginated by username.
  const auto first = h.get("/api/v1/auth/users?limit=2", "admin").json();
  BOOST_TEST(first["users"].size() == 2u);
  BOOST_TEST(first["next"] == first["users"][1]["username"]);
}

BOOST_AUTO_TEST_CASE(bad_input_names_the_field) {
  AuthHost h;
  check_problem(
      h.client->post("/api/v1/auth/register", R"({"username":"x","password":"long-enough","email":"a@b"})"),
      400, "username: 3 to 32");
  check_problem(
      h.client->post("/api/v1/auth/register", R"({"username":"kiwi","password":"short","email":"a@b"})"), 400,
      "password: at least 8");
  check_problem(h.client->post("/api/v1/auth/register",
                               R"({"username":"kiwi","password":"long-enough","email":"nope"})"),
                400, "email: not an email address");
  check_problem(h.client->post("/api/v1/auth/register", R"({"username":"kiwi","password":"long-enough"})"),
                400, "email: required");
  check_problem(h.client->post("/api/v1/auth/register",
                               R"({"username":"the-admin","password":"long-enough","email":"a@b"})"),
                409, "username 'the-admin' is taken");
  check_problem(h.client->post("/api/v1/auth/login", R"({"username":5})"), 400,
                "username: required, a string");
  check_problem(h.client->post("/api/v1/auth/login", R"({"username":"the-admin","password":"wrong-one"})"),
                401, "wrong username or password");
  check_problem(h.client->post("/api/v1/auth/login", R"({"username":"nobody","password":"wrong-one"})"), 401,
                "wrong username or password");
  check_problem(h.send("PATCH", "/api/v1/auth/users/" + h.user_ids["worker"], {{"role", "boss"}}, "admin"),
                400, "role: one of");
  check_problem(h.send("PATCH", "/api/v1/auth/users/" + h.user_ids["worker"], {{"active", "no"}}, "admin"),
                400, "active: must be true or false");
  check_problem(h.send("PATCH", "/api/v1/auth/users/00000000-0000-4000-8000-000000000000",
                       {{"active", false}}, "admin"),
                404, "no user");
  check_problem(h.client->post("/api/v1/auth/login", "{oops"), 400, "not valid JSON");
}

BOOST_AUTO_TEST_CASE(every_bad_token_is_refused) {
  AuthHost h;
  const std::string good = h.tokens["worker"];
  const auto dot = good.rfind('.');
  // A forged signature.
  std::string forged = good;
  forged[dot + 5] = forged[dot + 5] == 'A' ? 'B' : 'A';
  check_problem(h.client->get("/api/v1/auth/me", bearer(forged)), 401, "signature is wrong");
  // A changed claim with the old signature (a worker making itself admin).
  const std::string body = plugin_api::jwt::base64url(nlohmann::json{
      {"sub", h.user_ids["worker"]},
      {"role", "admin"},
      {"iat", 1},
      {"exp", 4102444800}}.dump());
  const std::string header_part = good.substr(0, good.find('.'));
  check_problem(h.client->get("/api/v1/auth/users", bearer(header_part + "." + body + good.substr(dot))), 401,
                "signature is wrong");
  // alg none.
  const std::string none_header = plugin_api::jwt::base64url(R"({"alg":"none","typ":"JWT","kid":"x"})");
  check_problem(h.client->get("/api/v1/auth/me", bearer(none_header + "." + body + ".")), 401,
                "alg must be EdDSA");
  // A key nobody published.
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  const std::string stranger =
      plugin_api::jwt::sign({h.user_ids["admin"], "admin", 1, 4102444800, "stranger"},
                            std::string_view(reinterpret_cast<char*>(sk), sizeof sk));
  check_problem(h.client->get("/api/v1/auth/me", bearer(stranger)), 401, "signing key stranger is unknown");
  // Garbage and wrong schemes.
  check_problem(h.client->get("/api/v1/auth/me", bearer("not.a.token")), 401, "base64url");
  check_problem(h.client->get("/api/v1/auth/me", bearer("abc")), 401, "not a JWT");
  check_problem(h.client->get("/api/v1/auth/me", {{"Authorization", "Basic Zm9vOmJhcg=="}}), 401,
                "Bearer <token>");
}

BOOST_AUTO_TEST_CASE(an_expired_token_is_refused) {
  AuthHost h(std::map<std::string, std::string>{{"ATES_AUTH_TOKEN_LIFETIME_S", "1"}});
  const std::string token = h.login("the-worker", "password-the-worker");
  // Tokens use the real clock, which no test may fake: wait for it.
  BOOST_TEST(
      testing::wait_until([&] { return h.client->get("/api/v1/auth/me", bearer(token)).status == 401; },
                          std::chrono::seconds(5)));
  check_problem(h.client->get("/api/v1/auth/me", bearer(token)), 401, "expired");
}

BOOST_AUTO_TEST_CASE(role_changes_and_deactivation_reach_tokens_already_issued) {
  AuthHost h;
  check_problem(h.get("/api/v1/auth/users", "accountant"), 403, "may not");
  BOOST_TEST(h.send("PATCH", "/api/v1/auth/users/" + h.user_ids["accountant"], {{"role", "admin"}}, "admin")
                 .status == 200);
  // The same token, once the host has applied the change from the stream.
  BOOST_TEST(testing::wait_until([&] { return h.get("/api/v1/auth/users", "accountant").status == 200; }));

  BOOST_TEST(
      h.send("PATCH", "/api/v1/auth/users/" + h.user_ids["worker"], {{"active", false}}, "admin").status ==
      200);
  BOOST_TEST(testing::wait_until([&] { return h.get("/api/v1/auth/me", "worker").status == 401; }));
  check_problem(h.get("/api/v1/auth/me", "worker"), 401, "deactivated");
  check_problem(
      h.client->post("/api/v1/auth/login", R"({"username":"the-worker","password":"password-the-worker"})"),
      401, "deactivated");
}

BOOST_AUTO_TEST_CASE(throttling_blocks_after_five_failures_and_resets_on_success) {
  AuthHost h;
  const std::string wrong = R"({"username":"the-manager","password":"not-it-at-all"})";
  for (int i = 0; i < 5; ++i) BOOST_TEST(h.client->post("/api/v1/auth/login", wrong).status == 401);
  const auto throttled =
      h.client->post("/api/v1/auth/login", R"({"username":"the-manager","password":"password-the-manager"})");
  check_problem(throttled, 429, "too many failed log-ins");
  BOOST_TEST(throttled.header("retry-after") == "1");
  // Other usernames are not affected.
  BOOST_TEST(
      h.client->post("/api/v1/auth/login", R"({"username":"the-admin","password":"password-the-admin"})")
          .status == 200);
  // After the delay the right password gets in, and that forgets the failures.
  BOOST_TEST(testing::wait_until(
      [&] {
        return h.client
                   ->post("/api/v1/auth/login",
                          R"({"username":"the-manager","password":"password-the-manager"})")
                   .status == 200;
      },
      std::chrono::seconds(5)));
  for (int i = 0; i < 4; ++i) BOOST_TEST(h.client->post("/api/v1/auth/login", wrong).status == 401);
  BOOST_TEST(
      h.client->post("/api/v1/auth/login", R"({"username":"the-manager","password":"password-the-manager"})")
          .status == 200);
}

BOOST_AUTO_TEST_CASE(jwks_serves_the_signing_keys) {
  AuthHost h;
  const auto jwks = h.client->get("/.well-known/jwks.json");
  BOOST_TEST(jwks.status == 200);
  const auto body = jwks.json();
  const auto keys = body["keys"];
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST(keys[0]["kty"] == "OKP");
  BOOST_TEST(keys[0]["crv"] == "Ed25519");
  BOOST_TEST(keys[0]["alg"] == "EdDSA");
  // The token's kid names that key, and the key alone verifies it.
  const std::string token = h.tokens["worker"];
  const auto header =
      nlohmann::json::parse(*plugin_api::jwt::from_base64url(token.substr(0, token.find('.'))));
  BOOST_TEST(header["kid"] == keys[0]["kid"]);
  const auto claims = plugin_api::jwt::verify(
      token,
      [&](std::string_view) { return plugin_api::jwt::from_base64url(keys[0]["x"].get<std::string>()); },
      std::time(nullptr));
  BOOST_TEST_REQUIRE(claims.has_value(), claims.status().to_string());
  BOOST_TEST(claims->sub == h.user_ids["worker"]);
}

BOOST_AUTO_TEST_CASE(events_admin_routes_need_an_admin) {
  AuthHost h;
  const auto streams = h.get("/api/v1/events/streams", "admin");
  BOOST_TEST_REQUIRE(streams.status == 200, streams.body);
  bool users_stream = false;
  const auto body = streams.json();
  for (const auto& stream : body["streams"]) {
    if (stream["name"] != "auth.users") continue;
    users_stream = true;
    BOOST_TEST(stream["producer"] == "auth");
    BOOST_TEST(stream["head_seq"].get<std::uint64_t>() >= 5u);  // a key and four users
    BOOST_TEST(stream["consumers"][0]["plugin"] == "host");
    BOOST_TEST(stream["consumers"][0]["state"] == "running");
  }
  BOOST_TEST(users_stream, streams.body);
  BOOST_TEST(h.get("/api/v1/events/dead-letters", "admin").json()["dead_letters"].empty());
  check_problem(
      h.send("POST", "/api/v1/events/dead-letters/host-1/redrive", nlohmann::json::object(), "admin"), 404,
      "no dead letter host-1");
  for (const std::string role : {"manager", "accountant", "worker"}) {
    check_problem(h.get("/api/v1/events/streams", role), 403, "may not");
    check_problem(h.get("/api/v1/events/dead-letters", role), 403, "may not");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
