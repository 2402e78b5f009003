// analytics and `ates audit` with `ates serve` processes: analytics started
// after 50 000 events catches up from the producers' logs; a rebuild killed
// at its failpoint restarts and answers as before; the audit passes on a
// clean run and right after a SIGKILL under load, and reports a planted
// inconsistency.
#include <signal.h>

#include <atomic>
#include <thread>

#include <boost/test/unit_test.hpp>
#include <sys/wait.h>

#include "ates/storage/environment.hpp"
#include "ates/testing/http_client.hpp"
#include "ates/testing/listening.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

#include "ledger.hpp"  // plugins/accounting: to plant an inconsistency

namespace ates {
namespace {

using testing::HttpClient;
using testing::Process;
using Headers = std::map<std::string, std::string>;

const std::string kAtes = ATES_BINARY;

struct Site {
  testing::TempDir dir;
  std::string data = (dir / "data").string();
  std::map<std::string, std::string> env{{"ATES_BUS_HEARTBEAT_MS", "50"},
                                         {"ATES_AUTH_PASSWORD_HASH", "min"},
                                         {"ATES_AUTH_FIRST_ADMIN", "false"},
                                         {"ATES_ACCOUNTING_AUTO_CLOSE", "false"},
                                         {"ATES_ANALYTICS_REBUILD_BATCH", "1000"}};
  std::unique_ptr<Process> serve;
  std::unique_ptr<HttpClient> client;
  std::map<std::string, Headers> as;
  std::map<std::string, std::string> name_of;  // user id -> name

  Site() {
    for (const auto& [name, role] : std::vector<std::pair<std::string, std::string>>{
             {"boss", "admin"}, {"wk1", "worker"}, {"wk2", "worker"}, {"wk3", "worker"}}) {
      const auto added =
          testing::run_to_end({kAtes, "user", "add", "--data", data, "--username", name, "--role", role}, env,
                              "password-" + name + "\n");
      BOOST_TEST_REQUIRE(added.exit_code == 0, added.err);
    }
  }

  void start(const std::string& plugins, std::map<std::string, std::string> extra = {}) {
    auto environment = env;
    environment.insert(extra.begin(), extra.end());
    serve = std::make_unique<Process>(
        std::vector<std::string>{kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0", "--plugins",
                                 plugins, "--fake-clock", "2026-03-03T09:00:00Z"},
        environment);
    client = std::make_unique<HttpClient>(testing::wait_for_listening(*serve));
    for (const std::string name : {"boss", "wk1", "wk2", "wk3"}) {
      const auto r = client->post(
          "/api/v1/auth/login", nlohmann::json{{"username", name}, {"password", "password-" + name}}.dump());
      BOOST_TEST_REQUIRE(r.status == 200, r.body);
      as[name] = {{"Authorization", "Bearer " + r.json()["token"].get<std::string>()}};
      name_of[r.json()["user"]["id"]] = name;
    }
  }
  void stop() {
    serve->signal(SIGTERM);
    const auto status = serve->wait();
    BOOST_TEST_REQUIRE(status.has_value());
  }

  // Tasks created and (three in four) completed by `clients` at once.
  void work(int tasks, int clients, std::atomic<bool>* stop_early = nullptr) {
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        for (int i = c; i < tasks && !(stop_early && *stop_early); i += clients) {
          const auto r = client->post("/api/v1/tracker/tasks", R"({"title":"work"})", as["boss"]);
          if (r.status != 201 || i % 4 == 3) continue;
          const auto body = r.json();
          if (!body.is_object()) continue;  // the server died mid-answer
          const auto task = body["task"];
          const std::string who = name_of.at(task["assignee_id"]);
          client->post("/api/v1/tracker/tasks/" + task["id"].get<std::string>() + "/complete", "", as[who]);
        }
      });
    }
    for (auto& t : threads) t.join();
  }

  // Waits until `plugin` has applied the head of every stream it consumes.
  bool caught_up(const std::string& plugin) const {
    return testing::wait_until(
        [&] {
          const auto body = client->get("/api/v1/events/streams", as.at("boss")).json();
          if (!body.is_object()) return false;
          bool all = true, any = false;
          for (const auto& s : body["streams"]) {
            for (const auto& c : s["consumers"]) {
              if (c["plugin"] != plugin) continue;
              any = true;
              all = all && c["applied_seq"] == s["head_seq"];
            }
          }
          return any && all;
        },
        std::chrono::seconds(120));
  }

  nlohmann::json answers() const {
    nlohmann::json out = nlohmann::json::array();
    out.push_back(client->get("/api/v1/analytics/summary?date=2026-03-03", as.at("boss")).json());
    out.push_back(
        client
            ->get("/api/v1/analytics/expensive-task?from_date=2026-03-01&end_date=2026-03-31", as.at("boss"))
            .json());
    return out;
  }
};

testing::Finished audit(const std::string& data) {
  return testing::run_to_end({kAtes, "audit", "--data", data});
}

BOOST_AUTO_TEST_SUITE(analytics_serve)

BOOST_AUTO_TEST_CASE(a_late_analytics_catches_up_and_a_killed_rebuild_restarts_with_the_same_answers) {
  Site site;
  site.start("auth,tracker,accounting");
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    return site.client->post("/api/v1/tracker/tasks", R"({"title":"first"})", site.as["boss"]).status == 201;
  }));
  site.work(10'000, 8);  // about 50 000 events over the three streams
  BOOST_TEST_REQUIRE(site.caught_up("accounting"));
  site.stop();

  // Analytics starts now and fetches everything from the producers' logs.
  site.start("auth,tracker,accounting,analytics");
  BOOST_TEST_REQUIRE(site.caught_up("analytics"));
  const auto earnings =
      site.client->get("/api/v1/accounting/earnings?from=2026-03-03", site.as["boss"]).json()["days"][0];
  const auto before = site.answers();
  BOOST_TEST(before[0]["management_earnings_cents"] == earnings["earnings_cents"]);
  BOOST_TEST(!before[1]["task"].is_null());
  const auto clean = audit(site.data);  // beside the live host
  BOOST_TEST(clean.exit_code == 0, clean.out << clean.err);
  site.stop();

  // A rebuild killed between two batches starts again at the next start.
  site.start("auth,tracker,accounting,analytics",
             {{"ATES_FAILPOINT", "analytics.rebuild_between_batches:3"}});
  const auto started = site.client->post("/api/v1/analytics/rebuild", "", site.as["boss"]);
  BOOST_TEST_REQUIRE(started.status == 202, started.body);
  BOOST_TEST(started.json()["stored_events"].get<std::uint64_t>() >= 50'000u);
  const auto killed = site.serve->wait();
  BOOST_TEST_REQUIRE(killed.has_value());
  BOOST_TEST((WIFSIGNALED(*killed) && WTERMSIG(*killed) == SIGKILL));
  site.start("auth,tracker,accounting,analytics");
  BOOST_TEST_REQUIRE(testing::wait_until(
      [&] { return site.serve->stderr_text().find("rebuilt the read models") != std::string::npos; },
      std::chrono::seconds(120)));
  BOOST_TEST(site.answers() == before, site.answers().dump() << "\nvs\n" << before.dump());
  site.stop();
}

BOOST_AUTO_TEST_CASE(the_audit_passes_clean_and_after_a_kill_and_names_a_planted_mismatch) {
  Site site;
  site.start("auth,tracker,accounting,analytics");
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    return site.client->post("/api/v1/tracker/tasks", R"({"title":"first"})", site.as["boss"]).status == 201;
  }));
  site.work(300, 4);
  BOOST_TEST(site.client->post("/api/v1/tracker/tasks/shuffle", "", site.as["boss"]).status == 200);
  // The next day: close the first, so payouts are reconciled too.
  BOOST_TEST(site.client->post("/api/v1/dev/clock", R"({"advance_seconds":86400})", site.as["boss"]).status ==
             200);
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    return site.client->post("/api/v1/accounting/days/2026-03-03/close", "", site.as["boss"]).status == 200;
  }));
  BOOST_TEST_REQUIRE(site.caught_up("analytics"));
  const auto clean = audit(site.data);
  BOOST_TEST(clean.exit_code == 0, clean.out);
  BOOST_TEST(clean.out.find(" payouts") != std::string::npos, clean.out);
  BOOST_TEST(clean.out.find(" 0 payouts") == std::string::npos, clean.out);
  BOOST_TEST(clean.out.find("the money reconciles") != std::string::npos, clean.out);

  // Killed under load: consumers may lag; that is lag, not a mismatch.
  const auto tracker_head = [&] {
    const auto body = site.client->get("/api/v1/events/streams", site.as["boss"]).json();
    if (!body.is_object()) return std::uint64_t{0};
    for (const auto& stream : body["streams"]) {
      if (stream["name"] == "tracker.tasks") return stream["head_seq"].get<std::uint64_t>();
    }
    return std::uint64_t{0};
  };
  const std::uint64_t before_load = tracker_head();
  std::atomic<bool> stop{false};
  std::thread load([&] { site.work(100'000, 4, &stop); });
  BOOST_TEST_REQUIRE(testing::wait_until([&] { return tracker_head() >= before_load + 200; }));
  site.serve->signal(SIGKILL);
  stop = true;
  load.join();
  BOOST_TEST(site.serve->wait().has_value());
  const auto after_kill = audit(site.data);
  BOOST_TEST(after_kill.exit_code == 0, after_kill.out);
  BOOST_TEST_MESSAGE("audit after the kill:\n" << after_kill.out);

  // One balance changed behind the ledger's back.
  {
    auto env =
        storage::Environment::open({.dir = site.dir / "data" / "accounting", .producer = "accounting"});
    BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
    auto accounts = (*env)->table<accounting::Account>("accounts");
    BOOST_TEST_REQUIRE((*env)
                           ->run([&](storage::WriteTxn& txn) {
                             std::string user;
                             accounting::Account account;
                             accounts.scan(txn.handle(), {}, [&](std::string_view id, accounting::Account a) {
                               user = id;
                               account = a;
                               return false;
                             });
                             account.balance_cents += 100;
                             accounts.put(txn.handle(), user, account);
                             return protocol::Status::ok();
                           })
                           .is_ok());
  }
  const auto planted = audit(site.data);
  BOOST_TEST(planted.exit_code == 1, planted.out);
  BOOST_TEST(planted.out.find("MISMATCH balance of") != std::string::npos, planted.out);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
