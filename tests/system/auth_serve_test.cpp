// auth as a process, with production argon2id limits: the first admin's
// one-time password, `ates user add` with and without a running server,
// tokens verified by PyJWT from /.well-known/jwks.json alone, no password
// in the data directory or the logs, and the user list rebuilt from the
// auth.users stream alone.
#include <signal.h>

#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>
#include <sys/wait.h>

#include "ates/testing/http_client.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates {
namespace {

using testing::Process;

const std::string kAtes = ATES_BINARY;

bool file_contains(const std::filesystem::path& file, const std::string& needle) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str().find(needle) != std::string::npos;
}

BOOST_AUTO_TEST_SUITE(auth_serve)

BOOST_AUTO_TEST_CASE(first_admin_user_add_jwks_and_no_password_anywhere) {
  testing::TempDir dir;
  const std::string data = (dir / "data").string();
  const std::map<std::string, std::string> env{{"ATES_BUS_HEARTBEAT_MS", "50"}};
  const std::string kiwi_password = "kiwi-says-hello-123";
  const std::string bob_password = "bob-is-offline-456";
  std::string admin_password;
  std::string log;
  {
    Process serve({kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0", "--plugins", "auth,tracker,accounting"}, env);
    const auto announced = serve.read_line();
    BOOST_TEST_REQUIRE(announced.has_value(), serve.stderr_text());
    const std::string prefix = "ates: created the first admin: username 'admin', password '";
    BOOST_TEST_REQUIRE(announced->starts_with(prefix), *announced);
    admin_password = announced->substr(prefix.size(), announced->find('\'', prefix.size()) - prefix.size());
    BOOST_TEST(admin_password.size() >= 20u);
    const auto listening = serve.read_line();
    BOOST_TEST_REQUIRE(listening.has_value());
    const testing::HttpClient client(listening->substr(std::string("ates serve: listening on ").size()));

    const auto login = client.post(
        "/api/v1/auth/login", nlohmann::json{{"username", "admin"}, {"password", admin_password}}.dump());
    BOOST_TEST_REQUIRE(login.status == 200, login.body);
    const std::string token = login.json()["token"];

    // A user added through the running server's control socket.
    const auto added = testing::run_to_end({kAtes, "user", "add", "--data", data, "--username", "kiwi",
                                            "--role", "worker", "--email", "kiwi@popug.example"},
                                           {}, kiwi_password + "\n");
    BOOST_TEST_REQUIRE(added.exit_code == 0, added.out << added.err);
    const std::string kiwi = nlohmann::json::parse(added.out)["result"]["user"]["id"];
    BOOST_TEST(client
                   .post("/api/v1/auth/login",
                         nlohmann::json{{"username", "kiwi"}, {"password", kiwi_password}}.dump())
                   .status == 200);
    const std::map<std::string, std::string> as_admin{{"Authorization", "Bearer " + token}};
    BOOST_TEST(
        client.request("PATCH", "/api/v1/auth/users/" + kiwi, R"({"role":"manager"})", as_admin).status ==
        200);
    BOOST_TEST(
        client.request("PATCH", "/api/v1/auth/users/" + kiwi, R"({"active":false})", as_admin).status == 200);

    // Any standard JWT library verifies the token from the published keys.
    const std::string jwks = client.get("/.well-known/jwks.json").body;
    const auto verified =
        testing::run_to_end({"/usr/bin/python3", "-c",
                             "import json, sys, jwt\n"
                             "jwks, token = json.loads(sys.argv[1]), sys.argv[2]\n"
                             "kid = jwt.get_unverified_header(token)['kid']\n"
                             "key = next(jwt.PyJWK(k) for k in jwks['keys'] if k['kid'] == kid)\n"
                             "print(json.dumps(jwt.decode(token, key.key, algorithms=['EdDSA'])))\n",
                             jwks, token});
    BOOST_TEST_REQUIRE(verified.exit_code == 0, verified.err);
    BOOST_TEST(nlohmann::json::parse(verified.out)["role"] == "admin");

    // The README's API tour runs against this server.
    const auto tour = testing::run_to_end({std::string(ATES_SOURCE_DIR) + "/scripts/api-tour.sh", client.base(), admin_password});
    BOOST_TEST(tour.exit_code == 0, tour.out << tour.err);
    BOOST_TEST(tour.out.find("\"role\":\"worker\"") != std::string::npos, tour.out);
    BOOST_TEST(tour.out.find("forbidden") != std::string::npos, tour.out);
    BOOST_TEST(tour.out.find("\"kty\":\"OKP\"") != std::string::npos, tour.out);
    BOOST_TEST(tour.out.find("\"kind\":\"reward\"") != std::string::npos, tour.out);
    BOOST_TEST(tour.out.find("\"earnings_cents\"") != std::string::npos, tour.out);

    serve.signal(SIGTERM);
    const auto status = serve.wait();
    BOOST_TEST_REQUIRE(status.has_value());
    BOOST_TEST((WIFEXITED(*status) && WEXITSTATUS(*status) == 0));
    log = serve.stderr_text();
  }
  // A user added with no server running (the auth plugin runs in the CLI).
  const auto offline =
      testing::run_to_end({kAtes, "user", "add", "--data", data, "--username", "bob", "--role", "worker"}, {},
                          bob_password + "\n");
  BOOST_TEST_REQUIRE(offline.exit_code == 0, offline.out << offline.err);
  BOOST_TEST(offline.out.find("created the first admin") == std::string::npos);  // only ever once

  // No password, in clear, in any file of the data directory or in the log.
  for (const auto& file : std::filesystem::recursive_directory_iterator(data)) {
    if (!file.is_regular_file()) continue;
    for (const std::string& password : {admin_password, kiwi_password, bob_password}) {
      BOOST_TEST(!file_contains(file.path(), password), file.path() << " holds a password");
    }
  }
  for (const std::string& password : {admin_password, kiwi_password, bob_password}) {
    BOOST_TEST(log.find(password) == std::string::npos);
  }
  BOOST_TEST(!log.empty());

  // Each change made exactly one event of its kind; the stream alone gives
  // back the users as they are.
  const auto tail = testing::run_to_end({kAtes, "events", "tail", "auth.users", "--data", data});
  BOOST_TEST_REQUIRE(tail.exit_code == 0, tail.err);
  std::vector<std::string> names;
  std::map<std::string, std::pair<std::string, bool>> users;  // username -> role, active
  std::map<std::string, std::string> username_of;
  std::istringstream lines(tail.out);
  for (std::string line; std::getline(lines, line);) {
    const auto event = nlohmann::json::parse(line);
    names.push_back(event["name"].get<std::string>() + " v" + std::to_string(event["version"].get<int>()));
    const auto& p = event["payload"];
    if (event["name"] == "UserCreated" || event["name"] == "UserUpdated") {
      username_of[p["user_id"]] = p["username"];
      users[p["username"]] = {p["role"], p["active"]};
    } else if (event["name"] == "UserRoleChanged") {
      users[username_of[p["user_id"]]].first = p["new_role"];
    } else if (event["name"] == "UserDeactivated") {
      users[username_of[p["user_id"]]].second = false;
    }
  }
  BOOST_TEST(
      (names == std::vector<std::string>{"SigningKeyAdded v1", "UserCreated v1", "UserCreated v1",
                                         "UserRoleChanged v1", "UserDeactivated v1",
                                         "TokensRevoked v1",  // the deactivation revoked kiwi's tokens
                                         "UserCreated v1",     // the API tour's popug
                                         "UserCreated v1"}));  // bob, added offline
  BOOST_TEST((users["admin"] == std::pair<std::string, bool>{"admin", true}));
  BOOST_TEST((users["kiwi"] == std::pair<std::string, bool>{"manager", false}));
  BOOST_TEST((users["bob"] == std::pair<std::string, bool>{"worker", true}));

  // A second start announces nothing: the first admin exists.
  Process again({kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0", "--plugins", "auth"}, env);
  const auto first_line = again.read_line();
  BOOST_TEST_REQUIRE(first_line.has_value());
  BOOST_TEST(first_line->starts_with("ates serve: listening on"), *first_line);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
