// auth as a process, with production argon2id limits: the first admin's
// one-time password, `ates user add` with and without a running server,
// tokens verified by PyJWT from /.well-known/jwks.json alone, no password
// in the data directory or the logs, and the user list rebuilt from the
// auth.users stream alone.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ates/testing/http_client.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates {
namespace {

using testing::Process;

const std::string kAtes = ATES_BINARY;

// The first admin's password from its file: mode 0600, one line.
std::string read_password_file(const std::filesystem::path& file) {
  struct stat info {};
  BOOST_TEST_REQUIRE(::lstat(file.c_str(), &info) == 0, file << " is missing");
  BOOST_TEST(S_ISREG(info.st_mode));
  BOOST_TEST((info.st_mode & 0777) == 0600u);
  BOOST_TEST(info.st_uid == ::geteuid());
  std::ifstream in(file);
  std::string password;
  std::getline(in, password);
  return password;
}

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
    Process serve(
        {kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0", "--plugins", "auth,tracker,accounting"},
        env);
    // stdout is a pipe, not a terminal: the first admin's password is in a
    // file only this user can read, and the log says where.
    const auto listening = serve.read_line();
    BOOST_TEST_REQUIRE(listening.has_value(), serve.stderr_text());
    BOOST_TEST_REQUIRE(listening->starts_with("ates serve: listening on "), *listening);
    const std::filesystem::path password_file = std::filesystem::path(data) / "initial-admin-password";
    admin_password = read_password_file(password_file);
    BOOST_TEST(admin_password.size() >= 20u);
    BOOST_TEST(serve.stderr_text().find("its password is in " + password_file.string()) != std::string::npos,
               serve.stderr_text());
    // And the server's own lines say where to go and where the password is.
    const std::string url = listening->substr(std::string("ates serve: listening on ").size());
    BOOST_TEST(serve.read_line().value_or("") == "ates serve: open " + url + "/ in a browser to sign in");
    const auto where = serve.read_line().value_or("");
    BOOST_TEST(where.find("the first admin is 'admin'; its password is in " +
                          std::filesystem::absolute(password_file).string()) != std::string::npos,
               where);
    BOOST_TEST(where.find(admin_password) == std::string::npos);  // where, never what
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
    const auto tour = testing::run_to_end(
        {std::string(ATES_SOURCE_DIR) + "/scripts/api-tour.sh", client.base(), admin_password});
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

  // The operator, having read it, deletes the password file; then no
  // password, in clear, is in any file of the data directory or in the log.
  std::filesystem::remove(std::filesystem::path(data) / "initial-admin-password");
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
  BOOST_TEST((names == std::vector<std::string>{"SigningKeyAdded v1", "UserCreated v1", "UserCreated v1",
                                                "UserRoleChanged v1", "UserDeactivated v1",
                                                "TokensRevoked v1",  // the deactivation revoked kiwi's tokens
                                                "UserCreated v1",    // the API tour's popug
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

// On a terminal (a pseudo-terminal here, driven by Python's pty): `ates user
// add` prompts on stderr and does not echo the password typed, and the
// first admin's password, made by this first use of the data, is shown on
// the terminal instead of being written to a file.
BOOST_AUTO_TEST_CASE(user_add_on_a_terminal_hides_the_password_and_shows_the_first_admins) {
  testing::TempDir dir;
  const std::string data = (dir / "data").string();
  const std::string typed = "typed-on-a-terminal-789";
  const auto run = testing::run_to_end(
      {"/usr/bin/python3", "-c",
       "import os, pty, sys\n"
       "argv, typed = sys.argv[1:-1], sys.argv[-1]\n"
       "pid, fd = pty.fork()\n"
       "if pid == 0:\n"
       "    os.execv(argv[0], argv)\n"
       "out = b''\n"
       "def more():\n"
       "    global out\n"
       "    try:\n"
       "        chunk = os.read(fd, 4096)\n"
       "    except OSError:\n"
       "        chunk = b''\n"
       "    out += chunk\n"
       "    return chunk\n"
       "while b'password: ' not in out:\n"
       "    if not more(): break\n"
       "os.write(fd, typed.encode() + b'\\n')\n"
       "while more(): pass\n"
       "_, status = os.waitpid(pid, 0)\n"
       "sys.stdout.write(out.decode('utf-8', 'replace'))\n"
       "sys.exit(os.waitstatus_to_exitcode(status))\n",
       kAtes, "user", "add", "--data", data, "--username", "kiwi", "--role", "worker", typed},
      {{"ATES_AUTH_PASSWORD_HASH", "min"}});
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.out << run.err);
  BOOST_TEST(run.out.find("password: ") != std::string::npos, run.out);
  BOOST_TEST(run.out.find(typed) == std::string::npos, run.out);  // not echoed
  BOOST_TEST(run.out.find("\"username\": \"kiwi\"") != std::string::npos, run.out);
  BOOST_TEST(run.out.find("ates: created the first admin: username 'admin', password '") != std::string::npos,
             run.out);
  BOOST_TEST(!std::filesystem::exists(std::filesystem::path(data) / "initial-admin-password"));
}

// A file (or a symbolic link) planted where the first admin's password would
// go is never written through: auth does not start and makes no admin, the
// other plugins serve, and the error says what to do.
BOOST_AUTO_TEST_CASE(a_planted_password_file_stops_auth_and_is_left_alone) {
  testing::TempDir dir;
  const std::filesystem::path data = dir / "data";
  std::filesystem::create_directory(data);
  std::filesystem::permissions(data, std::filesystem::perms::owner_all);
  const auto target = dir / "precious";
  { std::ofstream(target) << "precious\n"; }
  std::filesystem::create_symlink(target, data / "initial-admin-password");
  Process serve(
      {kAtes, "serve", "--data", data.string(), "--listen", "127.0.0.1:0", "--plugins", "auth,tracker"},
      {{"ATES_AUTH_PASSWORD_HASH", "min"}, {"ATES_BUS_HEARTBEAT_MS", "50"}});
  const auto listening = serve.read_line();
  BOOST_TEST_REQUIRE(listening.has_value(), serve.stderr_text());
  const testing::HttpClient client(listening->substr(std::string("ates serve: listening on ").size()));
  const auto ready = client.get("/readyz").json();
  BOOST_TEST(ready["status"] == "degraded", ready.dump());
  for (const auto& plugin : ready["plugins"]) {
    if (plugin["name"] != "auth") continue;
    BOOST_TEST(plugin["state"] == "failed");
    BOOST_TEST(
        plugin["error"].get<std::string>().find("initial-admin-password exists already") != std::string::npos,
        plugin["error"]);
  }
  std::ifstream in(target);
  std::string content;
  std::getline(in, content);
  BOOST_TEST(content == "precious");
  BOOST_TEST(std::filesystem::is_symlink(data / "initial-admin-password"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
