// A host with auth, tracker and accounting (and what else a test names) on
// the fake business clock, with users of every role and helpers to move
// tasks and read money: shared by the accounting and analytics tests.
#pragma once

#include <boost/test/unit_test.hpp>

#include "ates/testing/test_host.hpp"
#include "ates/testing/wait.hpp"

namespace ates {

using testing::bearer;
using testing::HttpResponse;

inline const std::filesystem::path kPlugins = ATES_PLUGINS_DIR;
inline const std::string kDay = "2026-03-03";  // the fake clock starts at 09:00 on it
inline const std::string kNextDay = "2026-03-04";

// Waits until `plugin` has applied everything published on `stream` so far,
// as an admin (`admin_token`) reads it from the host's stream list.
inline void wait_applied(const testing::PluginsHost& host, const std::string& admin_token,
                         const std::string& stream, const std::string& plugin) {
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    const auto body = host.client->get("/api/v1/events/streams", bearer(admin_token)).json();
    if (!body.is_object()) return false;
    for (const auto& s : body["streams"]) {
      if (s["name"] != stream) continue;
      for (const auto& consumer : s["consumers"]) {
        if (consumer["plugin"] == plugin) return consumer["applied_seq"] == s["head_seq"];
      }
    }
    return false;
  }));
}

// auth, tracker and accounting on the fake clock, with an admin "boss", a
// manager "mgr", an accountant "acc" and workers "wk1", "wk2"; days close
// only when asked (unless `environment` says otherwise).
// The plugins a Books host loads, when not the default three.
struct Plugins {
  std::string list = "auth,tracker,accounting";
};

struct Books : testing::PluginsHost {
  explicit Books(std::map<std::string, std::string> environment = {}, const Plugins& plugins = {})
      : PluginsHost(kPlugins, plugins.list, with_defaults(std::move(environment)),
                    {{"fake_clock", kDay + "T09:00:00Z"}}) {
    add("boss", "admin");
    add("mgr", "manager");
    add("acc", "accountant");
    add("wk1", "worker");
    add("wk2", "worker");
    sync("auth.users", "tracker");
    sync("auth.users", "accounting");
  }

  static std::map<std::string, std::string> with_defaults(std::map<std::string, std::string> environment) {
    environment.emplace("ATES_TRACKER_RANDOM_SEED", "42");
    environment.emplace("ATES_ACCOUNTING_PRICE_KEY", std::string(64, '7'));
    environment.emplace("ATES_ACCOUNTING_AUTO_CLOSE", "false");
    environment.emplace("ATES_ACCOUNTING_CLOSE_CHECK_MS", "50");
    environment.emplace("ATES_ACCOUNTING_MAIL_RETRY_MS", "100");
    return environment;
  }

  HttpResponse as(const std::string& who, const std::string& method, const std::string& path,
                  const nlohmann::json& body = nullptr) const {
    return client->request(method, path, body.is_null() ? std::string() : body.dump(),
                           bearer(tokens.at(who)));
  }

  // Waits until `plugin` has applied everything published on `stream` so far.
  void sync(const std::string& stream, const std::string& plugin) {
    wait_applied(*this, tokens.at("boss"), stream, plugin);
  }

  void advance(std::int64_t seconds) {
    BOOST_TEST_REQUIRE(as("boss", "POST", "/api/v1/dev/clock", {{"advance_seconds", seconds}}).status == 200);
  }

  void hold_tracker(bool held) {
    const auto r = as("boss", "POST", "/api/v1/dev/hold", {{"stream", "tracker.tasks"}, {"held", held}});
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
  }

  std::string name_of(const std::string& user_id) const {
    for (const auto& [name, id] : user_ids) {
      if (id == user_id) return name;
    }
    throw std::runtime_error("no user " + user_id);
  }

  nlohmann::json create(const std::string& title) {
    const auto r = as("mgr", "POST", "/api/v1/tracker/tasks", {{"title", title}});
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    return r.json()["task"];
  }
  void complete(const nlohmann::json& task) {
    const auto r = as(name_of(task["assignee_id"]), "POST",
                      "/api/v1/tracker/tasks/" + task["id"].get<std::string>() + "/complete");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
  }

  std::int64_t balance(const std::string& who) const {
    const auto r = as(who, "GET", "/api/v1/accounting/accounts/me");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return r.json()["account"]["balance_cents"];
  }
  nlohmann::json entries(const std::string& who, const std::string& query = {}) const {
    const auto r = as(who, "GET", "/api/v1/accounting/accounts/me/entries?limit=1000" + query);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return r.json()["entries"];
  }
  // Closes a day, retrying while it waits (heartbeats carry the watermark on).
  nlohmann::json close(const std::string& day, const std::string& who = "acc") {
    HttpResponse r;
    BOOST_TEST_REQUIRE(testing::wait_until([&] {
      r = as(who, "POST", "/api/v1/accounting/days/" + day + "/close");
      return r.status != 409;
    }));
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return r.json()["day"];
  }
};

inline std::int64_t sum(const nlohmann::json& entries, const std::string& kind = {}) {
  std::int64_t total = 0;
  for (const auto& e : entries) {
    if (kind.empty() || e["kind"] == kind) total += e["amount_cents"].get<std::int64_t>();
  }
  return total;
}

inline void check_problem(const HttpResponse& response, long status, const std::string& detail_part) {
  BOOST_TEST(response.status == status, response.body);
  BOOST_TEST(response.json()["detail"].get<std::string>().find(detail_part) != std::string::npos,
             response.json()["detail"]);
}

}  // namespace ates
