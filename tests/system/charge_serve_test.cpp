// rpc charge mode under crashes (docs/tracker.md): `ates serve` killed at
// each failpoint of the two-phase path, then started again. Afterwards the
// tracker and accounting agree (one fee per task the tracker has, none for a
// change that did not happen) and accounting holds no charge.
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <sys/wait.h>

#include "ates/testing/http_client.hpp"
#include "ates/testing/listening.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

namespace ates {
namespace {

using testing::HttpClient;
using testing::Process;

const std::string kAtes = ATES_BINARY;
using Headers = std::map<std::string, std::string>;

struct Server {
  std::unique_ptr<Process> process;
  std::unique_ptr<HttpClient> client;
  Headers boss, worker;

  Server(const std::string& data, std::map<std::string, std::string> env) {
    process = std::make_unique<Process>(
        std::vector<std::string>{kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0", "--plugins",
                                 "auth,tracker,accounting"},
        env);
    client = std::make_unique<HttpClient>(testing::wait_for_listening(*process));
    boss = login("boss");
    worker = login("wk1");
  }
  Headers login(const std::string& name) const {
    const auto r = client->post("/api/v1/auth/login",
                                nlohmann::json{{"username", name}, {"password", "password-" + name}}.dump());
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return {{"Authorization", "Bearer " + r.json()["token"].get<std::string>()}};
  }
  bool accounting_caught_up() const {
    const auto body = client->get("/api/v1/events/streams", boss).json();
    for (const auto& s : body["streams"]) {
      if (s["name"] != "tracker.tasks") continue;
      for (const auto& c : s["consumers"]) {
        if (c["plugin"] == "accounting") return c["applied_seq"] == s["head_seq"];
      }
      return false;
    }
    return true;  // nothing published yet
  }
  // Tracker and accounting agree: exactly one fee per task, on its assignee
  // (the only worker), and one reward per done task.
  void check_agreement() const {
    BOOST_TEST_REQUIRE(testing::wait_until([&] { return accounting_caught_up(); }));
    BOOST_TEST_REQUIRE(testing::wait_until([&] {
                         return client->get("/metrics")
                                    .body.find("ates_accounting_pending_charges{plugin=\"accounting\"} 0") !=
                                std::string::npos;
                       }),
                       "accounting still holds a charge");
    const auto tasks = client->get("/api/v1/tracker/tasks", boss).json()["tasks"];
    const auto entries = client->get("/api/v1/accounting/accounts/me/entries", worker).json()["entries"];
    std::map<std::string, int> fees, rewards;
    for (const auto& e : entries) (e["kind"] == "fee" ? fees : rewards)[e["task"]["id"]]++;
    BOOST_TEST(fees.size() == tasks.size(), entries.dump() << " for " << tasks.dump());
    for (const auto& t : tasks) {
      BOOST_TEST(fees[t["id"]] == 1, t["id"]);
      BOOST_TEST(rewards[t["id"]] == (t["status"] == "done" ? 1 : 0), t["id"]);
    }
  }
};

BOOST_AUTO_TEST_SUITE(charge_serve)

BOOST_AUTO_TEST_CASE(a_crash_at_each_step_of_the_two_phase_charge_leaves_both_sides_agreeing) {
  // (failpoint, does the change survive?) Before the decision is committed
  // nothing may survive; after it, the change and its charge both do.
  const std::vector<std::pair<std::string, bool>> cases = {
      {"tracker.rpc_after_intent", false},     {"tracker.rpc_after_prepare", false},
      {"tracker.rpc_before_decision", false},  {"tracker.rpc_after_decision", true},
      {"accounting.rpc_after_prepare", false},
  };
  for (const auto& [failpoint, survives] : cases) {
    BOOST_TEST_CONTEXT("failpoint " << failpoint) {
      testing::TempDir dir;
      const std::string data = (dir / "data").string();
      std::map<std::string, std::string> env{
          {"ATES_BUS_HEARTBEAT_MS", "50"},          {"ATES_AUTH_PASSWORD_HASH", "min"},
          {"ATES_AUTH_FIRST_ADMIN", "false"},       {"ATES_TRACKER_CHARGE_LINK", "rpc"},
          {"ATES_ACCOUNTING_CLOSE_CHECK_MS", "50"},
      };
      for (const auto& [name, role] :
           std::vector<std::pair<std::string, std::string>>{{"boss", "admin"}, {"wk1", "worker"}}) {
        const auto added =
            testing::run_to_end({kAtes, "user", "add", "--data", data, "--username", name, "--role", role},
                                env, "password-" + name + "\n");
        BOOST_TEST_REQUIRE(added.exit_code == 0, added.err);
      }
      std::string task_id;
      {
        // A task first, charged whole, so a completion can crash too.
        Server server(data, env);
        HttpClient& client = *server.client;
        BOOST_TEST_REQUIRE(testing::wait_until([&] {
          const auto r = client.post("/api/v1/tracker/tasks", R"({"title":"before"})", server.boss);
          if (r.status == 201) task_id = r.json()["task"]["id"];
          return r.status == 201;
        }));
        server.process->signal(SIGTERM);
        BOOST_TEST_REQUIRE(server.process->wait().has_value());
      }
      for (const std::string change : {"create", "complete"}) {
        BOOST_TEST_CONTEXT(change) {
          auto armed = env;
          armed["ATES_FAILPOINT"] = failpoint;
          Server server(data, armed);
          const auto r =
              change == "create"
                  ? server.client->post("/api/v1/tracker/tasks", R"({"title":"crash"})", server.boss)
                  : server.client->post("/api/v1/tracker/tasks/" + task_id + "/complete", "", server.worker);
          BOOST_TEST(r.status == 0, "answered " << r.status << " " << r.body);
          const auto status = server.process->wait();
          BOOST_TEST_REQUIRE(status.has_value());
          BOOST_TEST((WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL));
          BOOST_TEST(server.process->stderr_text().find("failpoint " + failpoint + " hit") !=
                     std::string::npos);
        }
        Server server(data, env);
        server.check_agreement();
        const auto tasks = server.client->get("/api/v1/tracker/tasks", server.boss).json()["tasks"];
        if (change == "create") {
          BOOST_TEST(tasks.size() == (survives ? 2u : 1u));
        } else {
          std::string state;
          for (const auto& t : tasks) {
            if (t["id"] == task_id) state = t["status"];
          }
          BOOST_TEST(state == (survives ? "done" : "open"));
        }
        server.process->signal(SIGTERM);
        BOOST_TEST_REQUIRE(server.process->wait().has_value());
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
