// A shuffle killed at its failpoint mid-way resumes when the server starts
// again and finishes: every open task reassigned exactly once by that
// shuffle, done tasks untouched.
#include <signal.h>

#include <set>
#include <sstream>

#include <boost/test/unit_test.hpp>
#include <sys/wait.h>

#include "ates/testing/http_client.hpp"
#include "ates/testing/listening.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

namespace ates {
namespace {

using testing::Process;

const std::string kAtes = ATES_BINARY;

BOOST_AUTO_TEST_SUITE(tracker_serve)

BOOST_AUTO_TEST_CASE(a_shuffle_killed_mid_way_resumes_and_finishes) {
  testing::TempDir dir;
  const std::string data = (dir / "data").string();
  std::map<std::string, std::string> env{{"ATES_BUS_HEARTBEAT_MS", "50"},
                                         {"ATES_AUTH_PASSWORD_HASH", "min"},
                                         {"ATES_AUTH_FIRST_ADMIN", "false"},
                                         {"ATES_TRACKER_SHUFFLE_BATCH", "5"},
                                         {"ATES_TRACKER_RANDOM_SEED", "7"}};
  for (const auto& [name, role] : std::vector<std::pair<std::string, std::string>>{
           {"boss", "admin"}, {"wk1", "worker"}, {"wk2", "worker"}}) {
    const auto added =
        testing::run_to_end({kAtes, "user", "add", "--data", data, "--username", name, "--role", role}, env,
                            "password-" + name + "\n");
    BOOST_TEST_REQUIRE(added.exit_code == 0, added.err);
  }
  std::string boss;
  {
    auto armed = env;
    armed["ATES_FAILPOINT"] = "tracker.shuffle_between_batches:3";
    Process serve({kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0", "--plugins", "auth,tracker"},
                  armed);
    const testing::HttpClient client(testing::wait_for_listening(serve));
    boss = client.post("/api/v1/auth/login", R"({"username":"boss","password":"password-boss"})")
               .json()["token"];
    const std::map<std::string, std::string> as_boss{{"Authorization", "Bearer " + boss}};
    // 30 tasks once the tracker knows its workers.
    BOOST_TEST_REQUIRE(testing::wait_until(
        [&] { return client.post("/api/v1/tracker/tasks", R"({"title":"first"})", as_boss).status == 201; }));
    for (int i = 1; i < 30; ++i) {
      BOOST_TEST_REQUIRE(client.post("/api/v1/tracker/tasks", R"({"title":"more"})", as_boss).status == 201);
    }
    // The shuffle dies after its third batch: no answer.
    const auto shuffle = client.post("/api/v1/tracker/tasks/shuffle", "", as_boss);
    BOOST_TEST(shuffle.status == 0);
    const auto status = serve.wait();
    BOOST_TEST_REQUIRE(status.has_value());
    BOOST_TEST((WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL));
    BOOST_TEST(serve.stderr_text().find("failpoint tracker.shuffle_between_batches hit") !=
               std::string::npos);
  }
  {
    Process serve({kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0", "--plugins", "auth,tracker"},
                  env);
    testing::wait_for_listening(serve);
    // The resumed shuffle says when it is done.
    BOOST_TEST(
        testing::wait_until([&] { return serve.stderr_text().find("finished: ") != std::string::npos; }));
    serve.signal(SIGTERM);
    BOOST_TEST(serve.wait().has_value());
  }
  // Exactly one TaskAssigned of that shuffle per open task.
  const auto tail = testing::run_to_end({kAtes, "events", "tail", "tracker.tasks", "--data", data});
  BOOST_TEST_REQUIRE(tail.exit_code == 0, tail.err);
  std::map<std::string, int> shuffled;  // task -> TaskAssigned of a shuffle
  std::set<std::string> shuffle_ids;
  std::istringstream lines(tail.out);
  for (std::string line; std::getline(lines, line);) {
    const auto event = nlohmann::json::parse(line);
    if (event["name"] == "TaskAssigned" && event["payload"]["reason"] == "shuffle") {
      ++shuffled[event["payload"]["task_id"]];
      shuffle_ids.insert(event["payload"]["shuffle_id"].get<std::string>());
    }
  }
  BOOST_TEST(shuffled.size() == 30u);
  for (const auto& [task, count] : shuffled) BOOST_TEST(count == 1, task);
  BOOST_TEST(shuffle_ids.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
