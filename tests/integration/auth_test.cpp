// The auth plugin in a real host: routes × roles, tokens verified by the
// host from the auth.users stream, every way a token can be bad, changes
// reaching tokens already issued, throttling, and the events admin routes
// of the host that need an admin's token. Then the token lifecycle: log-out,
// revocation by a password change, a deactivation or an admin, signing-key
// rotation with its overlap, a user the host has not seen yet (wait, 503,
// then 200; 401 once the replica has passed the token), another epoch of
// auth.users (401), and the other replicas of auth.users taking the new
// events without a dead letter.
#include <sodium.h>

#include <fstream>
#include <future>
#include <iterator>

#include <boost/test/unit_test.hpp>

#include "ates/bus/bus.hpp"
#include "ates/plugin_api/jwt.hpp"
#include "ates/protocol/uuid.hpp"
#include "ates/storage/environment.hpp"
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
  explicit AuthHost(std::map<std::string, std::string> environment = {},
                    std::map<std::string, std::string> flags = {}, const std::string& plugins = "auth")
      : PluginsHost(kPlugins, plugins, std::move(environment), std::move(flags)) {
    for (const std::string role : {"admin", "manager", "accountant", "worker"})
      add("the-" + role, role, role);
    // Tokens work once the host has the signing key from the stream. The
    // expiry is checked after the signature, so "expired" also says the
    // key arrived: with a one-second lifetime (an_expired_token_is_refused)
    // a slow build may see the token end before the key comes.
    BOOST_TEST_REQUIRE(testing::wait_until([&] {
      const auto me = get("/api/v1/auth/me", "admin");
      return me.status == 200 || (me.status == 401 && me.body.find("has expired") != std::string::npos);
    }));
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

BOOST_AUTO_TEST_CASE(a_password_is_stored_only_as_an_argon2id_hash) {
  AuthHost h;
  const std::string password = "correct-horse-battery-staple";
  const auto registered = h.client->post(
      "/api/v1/auth/register",
      nlohmann::json{{"username", "hashed"}, {"password", password}, {"email", "h@example.com"}}.dump());
  BOOST_TEST_REQUIRE(registered.status == 201, registered.body);
  BOOST_TEST_REQUIRE(!h.login("hashed", password).empty());
  // What is on disk: auth's environment holds libsodium's argon2id string
  // for every user, and never the password.
  std::ifstream file(h.dir / "data" / "auth" / "data.mdb", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  BOOST_TEST_REQUIRE(!bytes.empty());
  std::size_t hashes = 0;
  for (auto at = bytes.find("$argon2id$v=19$m="); at != std::string::npos;
       at = bytes.find("$argon2id$v=19$m=", at + 1)) {
    ++hashes;
  }
  BOOST_TEST(hashes >= 5u);  // the four of AuthHost and "hashed"
  BOOST_TEST(bytes.find("$argon2i$") == std::string::npos);
  BOOST_TEST(bytes.find(password) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_input_names_the_field) {
  AuthHost h;
  check_problem(
      h.client->post("/api/v1/auth/register", R"({"username":"x","password":"long-enough","email":"a@b"})"),
      400, "username: at least 3 characters");
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
  check_problem(h.client->post("/api/v1/auth/login", R"({"username":5})"), 400, "username: must be a string");
  check_problem(h.client->post("/api/v1/auth/login", R"({"username":"the-admin","password":"wrong-one"})"),
                401, "wrong username or password");
  check_problem(h.client->post("/api/v1/auth/login", R"({"username":"nobody","password":"wrong-one"})"), 401,
                "wrong username or password");
  check_problem(h.send("PATCH", "/api/v1/auth/users/" + h.user_ids["worker"], {{"role", "boss"}}, "admin"),
                400, "role: must be one of");
  check_problem(h.send("PATCH", "/api/v1/auth/users/" + h.user_ids["worker"], {{"active", "no"}}, "admin"),
                400, "active: must be a boolean");
  check_problem(h.send("PATCH", "/api/v1/auth/users/00000000-0000-4000-8000-000000000000",
                       {{"active", false}}, "admin"),
                404, "no user");
  check_problem(h.client->post("/api/v1/auth/login", "{oops"), 400, "not valid JSON");
}

// Register is anonymous: its Idempotency-Key is never remembered, so no
// client can read another's answer by sending the same key; a retry of a
// registration that went through answers 409 (the username is taken).
BOOST_AUTO_TEST_CASE(an_anonymous_idempotency_key_never_replays_another_clients_answer) {
  AuthHost h;
  const std::map<std::string, std::string> key{{"Idempotency-Key", "register-1"}};
  const auto kiwi =
      h.client->post("/api/v1/auth/register",
                     R"({"username":"kiwi","password":"long-enough","email":"kiwi@popug.example"})", key);
  BOOST_TEST_REQUIRE(kiwi.status == 201, kiwi.body);
  const auto other =
      h.client->post("/api/v1/auth/register",
                     R"({"username":"mango","password":"long-enough","email":"m@popug.example"})", key);
  BOOST_TEST_REQUIRE(other.status == 201, other.body);
  BOOST_TEST(other.header("idempotent-replayed").empty());
  BOOST_TEST(other.json()["user"]["username"] == "mango");
  BOOST_TEST(other.body.find("kiwi") == std::string::npos);
  const auto retry =
      h.client->post("/api/v1/auth/register",
                     R"({"username":"kiwi","password":"long-enough","email":"kiwi@popug.example"})", key);
  check_problem(retry, 409, "username 'kiwi' is taken");
  BOOST_TEST(h.login("kiwi", "long-enough").size() > 100u);  // how a client learns the first one went through
  // A signed-in user's key is remembered for that user.
  const std::map<std::string, std::string> edit_key{{"Idempotency-Key", "email-1"},
                                                    {"Authorization", "Bearer " + h.tokens.at("worker")}};
  const std::string body = R"({"current_password":"password-the-worker","email":"w@popug.example"})";
  const auto changed = h.client->request("PATCH", "/api/v1/auth/users/me", body, edit_key);
  BOOST_TEST_REQUIRE(changed.status == 200, changed.body);
  const auto again = h.client->request("PATCH", "/api/v1/auth/users/me", body, edit_key);
  BOOST_TEST(again.body == changed.body);
  BOOST_TEST(again.header("idempotent-replayed") == "true");
}

// Usernames and emails reach logs, other people's screens and mail
// headers: control characters, line breaks, line separators and
// bidirectional controls are a 400 naming the field, at registration, on
// an email change and in `user add`.
BOOST_AUTO_TEST_CASE(control_characters_in_usernames_and_emails_are_refused) {
  AuthHost h;
  const std::vector<std::string> refused = {
      std::string(1, '\0'), "\x07",         "\x1b[2J",      "\r",          "\n", "\r\n", "\t", "\x7f",
      "\xc2\x85",           "\xe2\x80\xa8", "\xe2\x80\xae", "\xe2\x81\xa9"};
  for (const auto& bad : refused) {
    BOOST_TEST_CONTEXT(nlohmann::json(bad).dump()) {
      check_problem(h.client->post("/api/v1/auth/register", nlohmann::json{{"username", "po" + bad + "pug"},
                                                                           {"password", "long-enough"},
                                                                           {"email", "p@popug.example"}}
                                                                .dump()),
                    400, "username: must not contain");
      check_problem(
          h.client->post("/api/v1/auth/register",
                         nlohmann::json{{"username", "popug"},
                                        {"password", "long-enough"},
                                        {"email", "p@popug.example" + bad + "Bcc: all@popug.example"}}
                             .dump()),
          400, "email: must not contain");
      check_problem(
          h.send("PATCH", "/api/v1/auth/users/me",
                 {{"current_password", "password-the-worker"}, {"email", "w" + bad + "@popug.example"}},
                 "worker"),
          400, "email: must not contain");
      const auto added = h.host->run_command(
          "auth", "user-add", {{"username", "cli" + bad}, {"role", "worker"}, {"password", "long-enough"}});
      BOOST_TEST_REQUIRE(!added.has_value());
      BOOST_TEST(added.status().message().find("username: must not contain") != std::string::npos);
    }
  }
  check_problem(h.client->post("/api/v1/auth/register", nlohmann::json{{"username", "popug"},
                                                                       {"password", "long-enough"},
                                                                       {"email", "p\x07@popug.example"}}
                                                            .dump()),
                400, "email: must not contain U+0007");
  // Nothing of it was stored.
  BOOST_TEST(h.get("/api/v1/auth/users", "admin").json()["users"].size() == 4u);
  BOOST_TEST(h.get("/api/v1/auth/me", "worker").json()["user"]["email"] != "w\x07@popug.example");
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

// ---- the token lifecycle ---------------------------------------------------------

// A token's claims, read without verifying (the test made it).
nlohmann::json claims_of(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  return nlohmann::json::parse(*plugin_api::jwt::from_base64url(token.substr(first + 1, second - first - 1)));
}

std::string kid_of(const std::string& token) {
  return nlohmann::json::parse(*plugin_api::jwt::from_base64url(token.substr(0, token.find('.'))))["kid"];
}

std::vector<std::string> jwks_kids(const HttpClient& client) {
  std::vector<std::string> kids;
  const auto jwks = client.get("/.well-known/jwks.json").json();
  for (const auto& key : jwks["keys"]) kids.push_back(key["kid"]);
  return kids;
}

// Waits until `token` is refused on GET /me, then checks the refusal.
void expect_refused(const AuthHost& h, const std::string& token, const std::string& detail_part) {
  BOOST_TEST(
      testing::wait_until([&] { return h.client->get("/api/v1/auth/me", bearer(token)).status == 401; }),
      "still accepted: " << detail_part);
  check_problem(h.client->get("/api/v1/auth/me", bearer(token)), 401, detail_part);
}

// The signing key auth keeps in its storage, read while the host is down:
// {kid, secret key}. Only to sign tokens auth would never sign.
std::pair<std::string, std::string> auth_signing_key(const std::filesystem::path& data) {
  auto env = storage::Environment::open({.dir = data / "auth", .producer = "auth", .read_only = true});
  BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
  std::pair<std::string, std::string> found;
  const storage::RawTable keys = (*env)->raw_table("signing_keys");  // before the snapshot, to be seen in it
  storage::ReadTxn txn = (*env)->read();
  keys.scan(txn, {}, [&](std::string_view, std::string_view bytes) {
    const auto key = msgpack::unpack(bytes.data(), bytes.size())
                         .get()
                         .as<std::tuple<std::string, std::string, std::string>>();
    found = {std::get<0>(key), std::get<2>(key)};
    return true;
  });
  BOOST_TEST_REQUIRE(!found.first.empty());
  return found;
}

BOOST_AUTO_TEST_CASE(tokens_carry_an_id_the_generation_and_where_auth_users_stood) {
  AuthHost h;
  const auto claims = claims_of(h.tokens["worker"]);
  BOOST_TEST(claims["jti"].get<std::string>().size() == 22u);  // 128 random bits
  BOOST_TEST(claims["gen"] == 0);
  BOOST_TEST(protocol::is_uuid(claims["uep"].get<std::string>()));
  // A key and four users were in the stream when the worker logged in.
  BOOST_TEST(claims["useq"].get<std::uint64_t>() >= 5u);
  BOOST_TEST(claims_of(h.login("the-worker", "password-the-worker"))["jti"] != claims["jti"]);
}

BOOST_AUTO_TEST_CASE(a_log_out_revokes_the_token_it_is_called_with_and_no_other) {
  AuthHost h;
  const std::string other = h.login("the-worker", "password-the-worker");
  const auto out = h.send("POST", "/api/v1/auth/logout", nlohmann::json::object(), "worker");
  BOOST_TEST_REQUIRE(out.status == 200, out.body);
  BOOST_TEST(out.json()["revoked"]["jti"] == claims_of(h.tokens["worker"])["jti"]);
  expect_refused(h, h.tokens["worker"], "revoked by a log-out");
  // Its other session goes on; the revoked token cannot log out again.
  BOOST_TEST(h.client->get("/api/v1/auth/me", bearer(other)).status == 200);
  check_problem(h.send("POST", "/api/v1/auth/logout", nlohmann::json::object(), "worker"), 401, "log-out");
  check_problem(h.client->post("/api/v1/auth/logout", "{}"), 401, "bearer token is required");
}

BOOST_AUTO_TEST_CASE(a_password_change_revokes_every_earlier_token_and_not_the_next) {
  AuthHost h;
  const std::string other = h.login("the-worker", "password-the-worker");
  const auto changed =
      h.send("PATCH", "/api/v1/auth/users/me",
             {{"current_password", "password-the-worker"}, {"password", "a-new-password"}}, "worker");
  BOOST_TEST_REQUIRE(changed.status == 200, changed.body);
  // Logged in again at once, most likely in the same second as the change:
  // the generation, not the time, tells it from the revoked ones.
  const std::string fresh = h.login("the-worker", "a-new-password");
  BOOST_TEST(claims_of(fresh)["gen"] == 1);
  expect_refused(h, h.tokens["worker"], "was revoked");
  expect_refused(h, other, "was revoked");
  BOOST_TEST(h.client->get("/api/v1/auth/me", bearer(fresh)).status == 200);
  // Other users are untouched.
  BOOST_TEST(h.get("/api/v1/auth/me", "manager").status == 200);
}

BOOST_AUTO_TEST_CASE(a_deactivation_revokes_tokens_for_good_even_after_reactivation) {
  AuthHost h;
  const std::string id = h.user_ids["worker"];
  BOOST_TEST_REQUIRE(h.send("PATCH", "/api/v1/auth/users/" + id, {{"active", false}}, "admin").status == 200);
  expect_refused(h, h.tokens["worker"], "deactivated");
  BOOST_TEST_REQUIRE(h.send("PATCH", "/api/v1/auth/users/" + id, {{"active", true}}, "admin").status == 200);
  // Active again, but the tokens from before stay revoked; a new log-in works.
  const std::string fresh = h.login("the-worker", "password-the-worker");
  BOOST_TEST(
      testing::wait_until([&] { return h.client->get("/api/v1/auth/me", bearer(fresh)).status == 200; }));
  check_problem(h.get("/api/v1/auth/me", "worker"), 401, "was revoked");
}

BOOST_AUTO_TEST_CASE(an_admin_revokes_every_token_of_a_user) {
  AuthHost h;
  const std::string id = h.user_ids["manager"];
  const std::string other = h.login("the-manager", "password-the-manager");
  for (const std::string role : {"manager", "accountant", "worker"}) {
    check_problem(
        h.send("POST", "/api/v1/auth/users/" + id + "/revoke-tokens", nlohmann::json::object(), role), 403,
        "may not POST");
  }
  check_problem(h.send("POST", "/api/v1/auth/users/00000000-0000-4000-8000-000000000000/revoke-tokens",
                       nlohmann::json::object(), "admin"),
                404, "no user");
  const auto revoked =
      h.send("POST", "/api/v1/auth/users/" + id + "/revoke-tokens", nlohmann::json::object(), "admin");
  BOOST_TEST_REQUIRE(revoked.status == 200, revoked.body);
  BOOST_TEST(revoked.json()["generation"] == 1);
  expect_refused(h, h.tokens["manager"], "was revoked");
  expect_refused(h, other, "was revoked");
  BOOST_TEST(h.get("/api/v1/auth/me", "admin").status == 200);
  const std::string fresh = h.login("the-manager", "password-the-manager");
  BOOST_TEST(h.client->get("/api/v1/auth/me", bearer(fresh)).status == 200);
}

BOOST_AUTO_TEST_CASE(a_rotation_signs_with_the_new_key_while_the_old_one_verifies_during_its_overlap) {
  AuthHost h;  // the overlap by default: the token lifetime, 12 h
  const std::string old_kid = kid_of(h.tokens["worker"]);
  check_problem(h.send("POST", "/api/v1/auth/signing-keys/rotate", nlohmann::json::object(), "manager"), 403,
                "may not POST");
  check_problem(h.send("POST", "/api/v1/auth/signing-keys/rotate", {{"overlap_s", -1}}, "admin"), 400,
                "overlap_s");
  const auto rotated = h.send("POST", "/api/v1/auth/signing-keys/rotate", nlohmann::json::object(), "admin");
  BOOST_TEST_REQUIRE(rotated.status == 200, rotated.body);
  const std::string new_kid = rotated.json()["kid"];
  BOOST_TEST(new_kid != old_kid);
  BOOST_TEST(rotated.json()["retired"]["kid"] == old_kid);
  const std::string fresh = h.login("the-worker", "password-the-worker");
  BOOST_TEST(kid_of(fresh) == new_kid);
  // Both verify, and both are listed, once the host has the new key.
  BOOST_TEST(
      testing::wait_until([&] { return h.client->get("/api/v1/auth/me", bearer(fresh)).status == 200; }));
  BOOST_TEST(h.get("/api/v1/auth/me", "worker").status == 200);
  BOOST_TEST(((jwks_kids(*h.client) == std::vector<std::string>{old_kid, new_kid}) ||
              (jwks_kids(*h.client) == std::vector<std::string>{new_kid, old_kid})));
  // A rotation with no overlap retires the key it replaces at once: the
  // second key goes, the first keeps its own overlap.
  const auto again = h.send("POST", "/api/v1/auth/signing-keys/rotate", {{"overlap_s", 0}}, "admin");
  BOOST_TEST_REQUIRE(again.status == 200, again.body);
  const std::string third = h.login("the-worker", "password-the-worker");
  expect_refused(h, fresh, "signing key " + new_kid + " was retired");
  BOOST_TEST(
      testing::wait_until([&] { return h.client->get("/api/v1/auth/me", bearer(third)).status == 200; }));
  BOOST_TEST(h.get("/api/v1/auth/me", "worker").status == 200);
  const auto kids = jwks_kids(*h.client);
  BOOST_TEST(kids.size() == 2u);
  BOOST_TEST((std::find(kids.begin(), kids.end(), new_kid) == kids.end()));
}

BOOST_AUTO_TEST_CASE(after_the_overlap_the_old_key_neither_verifies_nor_is_listed) {
  AuthHost h(std::map<std::string, std::string>{{"ATES_AUTH_SIGNING_KEY_OVERLAP_S", "1"}});
  const std::string old_kid = kid_of(h.tokens["worker"]);
  // Through the command `ates signing-key rotate` sends.
  const auto rotated = h.host->run_command("auth", "signing-key-rotate", nlohmann::json::object());
  BOOST_TEST_REQUIRE(rotated.has_value(), rotated.status().to_string());
  const std::string new_kid = (*rotated)["kid"];
  const std::string fresh = h.login("the-worker", "password-the-worker");
  // Tokens use the real clock, which no test may fake: wait for it.
  expect_refused(h, h.tokens["worker"], "signing key " + old_kid + " was retired");
  BOOST_TEST((jwks_kids(*h.client) == std::vector<std::string>{new_kid}));
  BOOST_TEST(h.client->get("/api/v1/auth/me", bearer(fresh)).status == 200);
  const auto bad = h.host->run_command("auth", "signing-key-rotate", {{"overlap_s", "soon"}});
  BOOST_TEST(!bad.has_value());
}

BOOST_AUTO_TEST_CASE(a_user_the_host_has_not_seen_waits_for_the_replica_503_then_200) {
  // auth.users held back as a partition would: auth signs a token for a
  // new user the host's replica cannot learn of yet.
  AuthHost h({{"ATES_TOKENS_REPLICA_WAIT_MS", "300"}}, {{"fake_clock", "2026-03-03T09:00:00Z"}});
  auto hold = [&](bool held) {
    const auto r = h.send("POST", "/api/v1/dev/hold", {{"stream", "auth.users"}, {"held", held}}, "admin");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
  };
  hold(true);
  h.add("newcomer", "worker");
  const std::string token = h.tokens["newcomer"];
  const auto started = std::chrono::steady_clock::now();
  const auto waiting = h.client->get("/api/v1/auth/me", bearer(token));
  check_problem(waiting, 503, "has not learnt of the token's user yet");
  BOOST_TEST(waiting.header("retry-after") == "1");
  BOOST_TEST((std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300)));
  // Not trusted on its claims meanwhile, whatever the route; others go on.
  check_problem(h.client->get("/api/v1/auth/users", bearer(token)), 503, "has not learnt");
  BOOST_TEST(h.get("/api/v1/auth/me", "worker").status == 200);
  // A request waiting when the stream is released gets its answer.
  auto during =
      std::async(std::launch::async, [&] { return h.client->get("/api/v1/auth/me", bearer(token)); });
  hold(false);
  const auto released = during.get();
  BOOST_TEST((released.status == 200 || released.status == 503), released.body);
  BOOST_TEST(
      testing::wait_until([&] { return h.client->get("/api/v1/auth/me", bearer(token)).status == 200; }));
  BOOST_TEST(h.client->get("/api/v1/auth/me", bearer(token)).json()["user"]["username"] == "newcomer");
}

BOOST_AUTO_TEST_CASE(a_waiting_request_is_answered_as_soon_as_the_replica_catches_up) {
  AuthHost h({{"ATES_TOKENS_REPLICA_WAIT_MS", "20000"}}, {{"fake_clock", "2026-03-03T09:00:00Z"}});
  BOOST_TEST_REQUIRE(
      h.send("POST", "/api/v1/dev/hold", {{"stream", "auth.users"}, {"held", true}}, "admin").status == 200);
  h.add("newcomer", "worker");
  std::vector<std::future<testing::HttpResponse>> waiting;
  for (int i = 0; i < 3; ++i) {
    waiting.push_back(std::async(
        std::launch::async, [&] { return h.client->get("/api/v1/auth/me", bearer(h.tokens["newcomer"])); }));
  }
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    return h.client->get("/metrics").body.find("\nates_tokens_parked_requests 3\n") != std::string::npos;
  }));
  // Three wait, more than the two HTTP threads of this host: they hold
  // none of them, so others are answered meanwhile.
  for (int i = 0; i < 5; ++i) BOOST_TEST(h.get("/api/v1/auth/me", "admin").status == 200);
  for (auto& w : waiting)
    BOOST_TEST((w.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout));
  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST_REQUIRE(
      h.send("POST", "/api/v1/dev/hold", {{"stream", "auth.users"}, {"held", false}}, "admin").status == 200);
  for (auto& w : waiting) {
    const auto answer = w.get();
    BOOST_TEST(answer.status == 200, answer.body);
  }
  // Answered as the replica moved, long before their 20 s were over.
  BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(10)));
}

BOOST_AUTO_TEST_CASE(a_user_still_unknown_once_the_replica_passed_the_token_is_refused) {
  AuthHost h(std::map<std::string, std::string>{{"ATES_TOKENS_REPLICA_WAIT_MS", "200"}});
  const auto real = claims_of(h.tokens["worker"]);
  std::pair<std::string, std::string> key;
  h.restart([&] { key = auth_signing_key(h.dir / "data"); });
  BOOST_TEST_REQUIRE(testing::wait_until([&] { return h.get("/api/v1/auth/me", "admin").status == 200; }));
  const auto forge = [&](const std::string& sub, const std::string& uep, std::uint64_t useq) {
    return plugin_api::jwt::sign({.sub = sub,
                                  .role = "admin",
                                  .iat = std::time(nullptr),
                                  .exp = std::time(nullptr) + 600,
                                  .kid = key.first,
                                  .jti = "forged",
                                  .gen = 0,
                                  .uep = uep,
                                  .useq = useq},
                                 key.second);
  };
  const std::string stranger = "00000000-0000-4000-8000-00000000beef";
  // Once the replica is past where auth.users stood, an unknown sub is no
  // user at all, whatever role the token claims.
  check_problem(h.client->get("/api/v1/auth/users", bearer(forge(stranger, real["uep"].get<std::string>(),
                                                                 real["useq"].get<std::uint64_t>()))),
                401, "the token's user is unknown");
  // A sequence the replica never reaches: 503 after the wait, not a 200.
  check_problem(
      h.client->get("/api/v1/auth/users", bearer(forge(stranger, real["uep"].get<std::string>(), 1'000'000))),
      503, "has not learnt");
  // Another epoch of auth.users, for a user the replica knows.
  check_problem(h.client->get("/api/v1/auth/me",
                              bearer(forge(h.user_ids["admin"], "7d444840-9dc0-41e5-8a1c-5b0d8e5a1f00", 1))),
                401, "another auth.users");
}

BOOST_AUTO_TEST_CASE(tokens_of_another_epoch_of_auth_users_are_401_never_503) {
  AuthHost h;
  const std::string old_token = h.tokens["worker"];
  // auth's data replaced (a new epoch of auth.users): the host's consumer
  // halts, and tokens of the new auth are refused, not left waiting.
  h.restart([&] { std::filesystem::remove_all(h.dir / "data" / "auth"); });
  h.add("newcomer", "worker");
  check_problem(h.client->get("/api/v1/auth/me", bearer(h.tokens["newcomer"])), 401, "unknown");
  // The operator lets the host adopt the new epoch (ates events
  // reset-consumer): tokens of the old one are refused from then on, even
  // for the users and the key the replica still holds.
  h.restart([&] {
    auto env = storage::Environment::open({.dir = h.dir / "data" / "host", .producer = "host"});
    BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
    BOOST_TEST_REQUIRE(bus::reset_consumer(**env, "auth.users", 0).is_ok());
  });
  BOOST_TEST(testing::wait_until(
      [&] { return h.client->get("/api/v1/auth/me", bearer(h.tokens["newcomer"])).status == 200; }));
  check_problem(h.client->get("/api/v1/auth/me", bearer(old_token)), 401, "another auth.users");
}

BOOST_AUTO_TEST_CASE(the_other_replicas_of_auth_users_take_the_new_events_without_a_dead_letter) {
  AuthHost h({}, {}, "auth,tracker,accounting,analytics");
  BOOST_TEST(h.send("POST", "/api/v1/auth/logout", nlohmann::json::object(), "worker").status == 200);
  BOOST_TEST(h.send("PATCH", "/api/v1/auth/users/me",
                    {{"current_password", "password-the-accountant"}, {"password", "a-new-password"}},
                    "accountant")
                 .status == 200);
  BOOST_TEST(
      h.send("PATCH", "/api/v1/auth/users/" + h.user_ids["manager"], {{"active", false}}, "admin").status ==
      200);
  BOOST_TEST(h.send("POST", "/api/v1/auth/users/" + h.user_ids["worker"] + "/revoke-tokens",
                    nlohmann::json::object(), "admin")
                 .status == 200);
  BOOST_TEST(h.send("POST", "/api/v1/auth/signing-keys/rotate", {{"overlap_s", 0}}, "admin").status == 200);
  const std::string admin = h.login("the-admin", "password-the-admin");
  // Every consumer of auth.users reaches the head, running, and nothing
  // was dead-lettered.
  std::string last;
  BOOST_TEST(testing::wait_until([&] {
               const auto streams = h.client->get("/api/v1/events/streams", bearer(admin));
               last = streams.body;
               if (streams.status != 200) return false;
               const auto body = streams.json();
               for (const auto& stream : body["streams"]) {
                 if (stream["name"] != "auth.users") continue;
                 if (stream["consumers"].size() != 4u) return false;
                 for (const auto& consumer : stream["consumers"]) {
                   if (consumer["state"] != "running" || consumer["applied_seq"] != stream["head_seq"])
                     return false;
                 }
                 return true;
               }
               return false;
             }),
             last);
  const auto letters = h.client->get("/api/v1/events/dead-letters", bearer(admin));
  BOOST_TEST(letters.json()["dead_letters"].empty(), letters.body);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
