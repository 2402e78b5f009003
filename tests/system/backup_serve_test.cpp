// `ates backup` of a running `ates serve` (auth, tracker, accounting,
// analytics) under a load of creates, completions and shuffles, then
// `ates backup verify` and `ates restore` into a new data directory. The
// restored system starts with every consumer running and caught up
// (nothing halted, no dead letter), tasks created after the restore flow
// through to accounting and analytics, and `ates audit` passes.
#include <sys/stat.h>

#include "ates/testing/whole_system.hpp"

namespace ates {
namespace {

using namespace whole_system;

BOOST_AUTO_TEST_SUITE(backup_serve)

BOOST_AUTO_TEST_CASE(a_backup_under_load_restores_to_a_system_that_goes_on_and_audits_clean) {
  testing::TempDir dir;
  const std::string data = (dir / "data").string();
  const std::string backup = (dir / "backups" / "monday").string();
  const std::string restored = (dir / "restored").string();
  const auto env = test_environment();
  add_users(data, env);
  const std::string plugins = "auth,tracker,accounting,analytics";

  {
    Serve serve(data, plugins, env);
    const Logins logins(serve.client());
    const HttpClient client = serve.client();
    require_converged({&client}, logins.as.at("boss"));
    Load load(logins, 19);
    load.target(serve.base());
    load.start(4);
    BOOST_TEST_REQUIRE(testing::wait_until([&] { return load.acknowledged() >= 200; }));
    const auto taken = testing::run_to_end({kAtes, "backup", "--data", data, "--to", backup});
    BOOST_TEST_REQUIRE(taken.exit_code == 0, taken.out << taken.err);
    const auto manifest = nlohmann::json::parse(taken.out)["result"];
    BOOST_TEST(manifest["order"] == nlohmann::json({"analytics", "accounting", "host", "tracker", "auth"}),
               manifest["order"].dump());
    // More work after the copy: what a restore loses.
    const std::uint64_t at_backup = load.acknowledged();
    BOOST_TEST_REQUIRE(testing::wait_until([&] { return load.acknowledged() >= at_backup + 50; }));
    load.stop();
    BOOST_TEST(load.unexpected.empty(), load.unexpected.size() << " unexpected answers");
    serve.stop();
  }

  const auto verified = testing::run_to_end({kAtes, "backup", "verify", backup});
  BOOST_TEST_REQUIRE(verified.exit_code == 0, verified.out << verified.err);
  // With no server, the command opens the environments itself; a backup
  // never overwrites one.
  const std::string offline = (dir / "backups" / "offline").string();
  const auto cold = testing::run_to_end({kAtes, "backup", "--data", data, "--to", offline});
  BOOST_TEST(cold.exit_code == 0, cold.out << cold.err);
  BOOST_TEST(testing::run_to_end({kAtes, "backup", "verify", offline}).exit_code == 0);
  const auto twice = testing::run_to_end({kAtes, "backup", "--data", data, "--to", offline});
  BOOST_TEST(twice.exit_code == 1);
  BOOST_TEST(twice.err.find("exists") != std::string::npos, twice.err);
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(backup.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0700u);

  const auto restore = testing::run_to_end({kAtes, "restore", "--from", backup, "--data", restored});
  BOOST_TEST_REQUIRE(restore.exit_code == 0, restore.out << restore.err);
  const auto over = testing::run_to_end({kAtes, "restore", "--from", backup, "--data", data});
  BOOST_TEST(over.exit_code == 1);  // never over existing data
  BOOST_TEST(over.err.find("is not empty") != std::string::npos, over.err);

  {
    Serve serve(restored, plugins, env);
    const HttpClient client = serve.client();
    const Logins logins(client);  // the users and the signing key came back
    const Headers& boss = logins.as.at("boss");
    require_converged({&client}, boss);  // every consumer running, caught up
    BOOST_TEST(client.get("/api/v1/events/dead-letters", boss).json()["dead_letters"].empty());

    // New work flows through to accounting and analytics.
    const auto created =
        client.post("/api/v1/tracker/tasks", nlohmann::json{{"title", "after the restore"}}.dump(), boss);
    BOOST_TEST_REQUIRE(created.status == 201, created.body);
    const auto task = created.json()["task"];
    const std::string worker = logins.name_of.at(task["assignee_id"]);
    const auto completed = client.post("/api/v1/tracker/tasks/" + task["id"].get<std::string>() + "/complete",
                                       "{}", logins.as.at(worker));
    BOOST_TEST_REQUIRE(completed.status == 200, completed.body);
    require_converged({&client}, boss);
    int charges = 0;
    for (const auto& entry :
         get_all(client, "/api/v1/accounting/accounts/me/entries", "entries", logins.as.at(worker))) {
      if (!entry["task"].is_null() && entry["task"]["id"] == task["id"]) ++charges;
    }
    BOOST_TEST(charges == 2);  // its fee and its reward, once each
    const auto today = client.get("/api/v1/accounting/earnings", boss).json()["days"][0];
    const auto summary = client.get("/api/v1/analytics/summary", boss).json();
    BOOST_TEST(summary["management_earnings_cents"] == today["earnings_cents"], summary.dump());
    serve.stop();
  }

  const auto audit = testing::run_to_end({kAtes, "audit", "--data", restored}, env);
  BOOST_TEST(audit.exit_code == 0, audit.out << audit.err);
}

// backup.dir with backup.every = 1s and backup.keep = 2: backups come on
// schedule, each verifies, only the newest two stay, and /metrics tells
// when the last good one was taken.
BOOST_AUTO_TEST_CASE(scheduled_backups_keep_the_newest_and_say_when) {
  testing::TempDir dir;
  const std::string data = (dir / "data").string();
  auto env = test_environment();
  env["ATES_BACKUP_DIR"] = (dir / "backups").string();
  env["ATES_BACKUP_EVERY"] = "1s";
  env["ATES_BACKUP_KEEP"] = "2";
  Serve serve(data, "auth,tracker,accounting,analytics", env);
  const HttpClient client = serve.client();
  BOOST_TEST_REQUIRE(testing::wait_until(
      [&] {
        return client.get("/metrics").body.find("ates_backups_total{result=\"ok\"} 3") != std::string::npos;
      },
      std::chrono::seconds(60)));
  const std::string metrics = client.get("/metrics").body;
  BOOST_TEST(metrics.find("ates_backup_last_success_timestamp_seconds 1") != std::string::npos, metrics);
  serve.stop();
  std::vector<std::string> kept;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "backups")) {
    kept.push_back(entry.path().filename().string());
    const auto verified = testing::run_to_end({kAtes, "backup", "verify", entry.path().string()});
    BOOST_TEST(verified.exit_code == 0, verified.out);
  }
  BOOST_TEST(kept.size() == 2u, nlohmann::json(kept).dump());
  for (const auto& name : kept) BOOST_TEST(name.starts_with("ates-"), name);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
