// A real `ates serve` for the adversarial suite: its own data directory, a
// free port on loopback, and one signed-in user of each role (added with
// `ates user add` through the control socket), so a case can hit any route
// as anyone. Each case then checks that the server still answers /healthz.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "ates/testing/http_client.hpp"
#include "ates/testing/listening.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates::security {

struct ServeOptions {
  std::string plugins = "auth,tracker,accounting,analytics";
  std::string fake_clock;                  // empty: the real clock
  std::map<std::string, std::string> env;  // more ATES_* settings
  std::vector<std::string> args;           // more flags for `ates serve`
};

class SecureServe {
 public:
  using Headers = std::map<std::string, std::string>;

  explicit SecureServe(ServeOptions options = {}) {
    std::map<std::string, std::string> env{{"ATES_BUS_HEARTBEAT_MS", "50"},
                                           {"ATES_AUTH_PASSWORD_HASH", "min"}};
    for (const auto& [key, value] : options.env) env[key] = value;
    std::vector<std::string> argv{ATES_BINARY, "serve",       "--data",    data(),
                                  "--listen",  "127.0.0.1:0", "--plugins", options.plugins};
    if (!options.fake_clock.empty()) {
      argv.push_back("--fake-clock");
      argv.push_back(options.fake_clock);
    }
    argv.insert(argv.end(), options.args.begin(), options.args.end());
    serve_ = std::make_unique<testing::Process>(argv, env);
    client_ = std::make_unique<testing::HttpClient>(testing::wait_for_listening(*serve_));
  }

  std::string data() const { return (dir_ / "data").string(); }
  const testing::HttpClient& client() const { return *client_; }
  testing::Process& process() { return *serve_; }

  // Adds a user of `role` and signs them in; returns the bearer headers.
  Headers sign_in(const std::string& username, const std::string& role) {
    const std::string password = username + "-secret-password";
    const auto added = testing::run_to_end(
        {ATES_BINARY, "user", "add", "--data", data(), "--username", username, "--role", role}, {},
        password + "\n");
    BOOST_TEST_REQUIRE(added.exit_code == 0, added.out << added.err);
    const auto login = client_->post("/api/v1/auth/login",
                                     nlohmann::json{{"username", username}, {"password", password}}.dump());
    BOOST_TEST_REQUIRE(login.status == 200, login.body);
    tokens_[username] = login.json()["token"];
    return bearer(username);
  }
  Headers bearer(const std::string& username) const {
    return {{"Authorization", "Bearer " + tokens_.at(username)}};
  }
  const std::string& token(const std::string& username) const { return tokens_.at(username); }

  // The server is alive and answering after whatever a case sent.
  void check_alive(const std::string& after) const {
    const auto health = client_->get("/healthz");
    BOOST_TEST(health.status == 200, "/healthz after " << after << ": " << health.status);
  }

 private:
  testing::TempDir dir_;
  std::unique_ptr<testing::Process> serve_;
  std::unique_ptr<testing::HttpClient> client_;
  std::map<std::string, std::string> tokens_;
};

// `GET path` (or another method) answers exactly `status`, with a
// problem+json whose detail contains `detail` when one is given; then the
// server still answers /healthz.
inline void expect_status(const SecureServe& serve, const std::string& method, const std::string& path,
                          long status, const SecureServe::Headers& headers = {}, const std::string& body = {},
                          const std::string& detail = {}) {
  const auto answer = serve.client().request(method, path, body, headers);
  BOOST_TEST(answer.status == status, method << " " << path << " -> " << answer.status << " " << answer.body);
  if (status >= 400 && answer.status == status) {
    BOOST_TEST(answer.header("content-type") == "application/problem+json", method << " " << path);
    if (!detail.empty()) {
      const std::string text = answer.json().value("detail", "");
      BOOST_TEST(text.find(detail) != std::string::npos, method << " " << path << ": " << text);
    }
  }
  serve.check_alive(method + " " + path);
}

}  // namespace ates::security
