// Backups on real LMDB environments: the copy order from who consumes what,
// a cycle refused, verify against damage and a hostile manifest, and a
// restore only into an empty directory.
#include "backup.hpp"

#include <fstream>

#include <boost/test/unit_test.hpp>
#include <sys/stat.h>

#include "ates/protocol/events.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates::server {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct Data {
  TempDir dir;
  std::map<std::string, std::unique_ptr<storage::Environment>> envs;

  storage::Environment& env(const std::string& name) {
    auto& env = envs[name];
    if (!env) {
      auto opened = storage::Environment::open({.dir = dir / "data" / name, .producer = name});
      BOOST_TEST_REQUIRE(opened.has_value(), opened.status().to_string());
      env = std::move(opened).value();
    }
    return *env;
  }
  // `producer` publishes `count` events on `stream` (auth.users or tracker.tasks).
  void publish(const std::string& producer, const std::string& stream, int count) {
    storage::Environment& e = env(producer);
    BOOST_TEST_REQUIRE(e.declare_stream(stream).is_ok());
    const std::string someone = "7d444840-9dc0-41e5-8a1c-5b0d8e5a1f00";
    for (int i = 0; i < count; ++i) {
      const auto status = e.run([&](storage::WriteTxn& txn) -> base::Status {
        if (stream == protocol::kUsersStream)
          return txn.publish(protocol::UserDeactivated{.user_id = someone}).status();
        return txn.publish(protocol::TaskCompleted{.task_id = someone, .assignee_id = someone}).status();
      });
      BOOST_TEST_REQUIRE(status.is_ok(), status.to_string());
    }
  }
  // `consumer` has applied `stream` up to `seq`.
  void consume(const std::string& consumer, const std::string& producer, const std::string& stream,
               std::uint64_t seq) {
    const std::string epoch = env(producer).head(stream)->epoch;
    const auto status =
        env(consumer).run([&](storage::WriteTxn& txn) { return txn.advance_checkpoint(stream, epoch, seq); });
    BOOST_TEST_REQUIRE(status.is_ok(), status.to_string());
  }
  std::vector<BackupSource> sources() {
    std::vector<BackupSource> out;
    for (const auto& [name, env] : envs) out.push_back({name, env.get()});
    return out;
  }
};

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

BOOST_AUTO_TEST_SUITE(backup)

BOOST_AUTO_TEST_CASE(consumers_are_copied_before_their_producers_and_a_cycle_is_refused) {
  Data data;
  data.publish("auth", "auth.users", 2);
  data.publish("tracker", "tracker.tasks", 2);
  data.consume("tracker", "auth", "auth.users", 2);
  data.consume("accounting", "auth", "auth.users", 1);
  data.consume("accounting", "tracker", "tracker.tasks", 2);
  data.env("host");  // consumes nothing here: first in name order among the free
  const auto order = copy_order(data.sources());
  BOOST_TEST_REQUIRE(order.has_value());
  BOOST_TEST((*order == std::vector<std::string>{"accounting", "host", "tracker", "auth"}));

  // auth reads what tracker produces, and tracker auth's: no order works.
  data.consume("auth", "tracker", "tracker.tasks", 1);
  const auto cycle = copy_order(data.sources());
  BOOST_TEST_REQUIRE(!cycle.has_value());
  BOOST_TEST(cycle.status().message().find("auth, tracker consume each other's streams") != std::string::npos,
             cycle.status().message());
}

BOOST_AUTO_TEST_CASE(a_backup_verifies_restores_once_and_damage_is_found) {
  Data data;
  data.publish("tracker", "tracker.tasks", 5);
  data.consume("accounting", "tracker", "tracker.tasks", 3);
  fs::create_directories(data.dir / "data" / "mail");
  std::ofstream(data.dir / "data" / "mail" / "receipt-1.eml") << "Subject: paid\r\n\r\n$12.00\r\n";
  std::ofstream(data.dir / "data" / "mail" / ".receipt-2.eml.tmp") << "half";

  const fs::path dest = data.dir / "backups" / "first";
  const auto manifest = write_backup(data.sources(), data.dir / "data", dest, 1772528400000000);
  BOOST_TEST_REQUIRE(manifest.has_value(), manifest.status().to_string());
  BOOST_TEST((*manifest)["created_at"] == "2026-03-03T09:00:00Z");
  BOOST_TEST((*manifest)["order"] == nlohmann::json({"accounting", "tracker"}));
  BOOST_TEST((*manifest)["files"].size() == 1u);  // the receipt being written is not one yet
  BOOST_TEST(!fs::exists(data.dir / "backups" / ".first.partial"));
  BOOST_TEST(mode_of(dest) == 0700u);
  BOOST_TEST(mode_of(dest / "manifest.json") == 0600u);
  BOOST_TEST(mode_of(dest / "tracker" / "data.mdb") == 0600u);
  BOOST_TEST(!fs::exists(dest / "tracker" / "lock.mdb"));
  BOOST_TEST(verify_backup(dest)["ok"] == true, verify_backup(dest).dump());

  // A backup never overwrites one.
  BOOST_TEST(write_backup(data.sources(), data.dir / "data", dest, 0).status().code() ==
             base::Code::kConflict);

  // Restored: the same heads and checkpoints; once only, into an empty place.
  const fs::path restored = data.dir / "restored";
  BOOST_TEST_REQUIRE(restore_backup(dest, restored).is_ok());
  BOOST_TEST(mode_of(restored / "accounting" / "data.mdb") == 0600u);
  BOOST_TEST(fs::exists(restored / "mail" / "receipt-1.eml"));
  {
    auto tracker = storage::Environment::open({.dir = restored / "tracker", .producer = "tracker"});
    BOOST_TEST_REQUIRE(tracker.has_value());
    BOOST_TEST((*tracker)->head("tracker.tasks")->head_seq == 5u);
    BOOST_TEST((*tracker)->head("tracker.tasks")->epoch == data.env("tracker").head("tracker.tasks")->epoch);
    auto accounting = storage::Environment::open({.dir = restored / "accounting", .producer = "accounting"});
    BOOST_TEST_REQUIRE(accounting.has_value());
    storage::ReadTxn txn = (*accounting)->read();
    BOOST_TEST((*accounting)->checkpoint(txn, "tracker.tasks")->applied_seq == 3u);
  }
  const auto again = restore_backup(dest, restored);
  BOOST_TEST(again.message().find("is not empty") != std::string::npos, again.message());

  // One byte changed in a copy: verify says which file, restore refuses.
  {
    std::fstream file(dest / "tracker" / "data.mdb", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.put('\x5a');
  }
  const auto damaged = verify_backup(dest);
  BOOST_TEST(damaged["ok"] == false);
  BOOST_TEST(damaged["problems"][0] == "tracker/data.mdb differs from the manifest (size or SHA-256)");
  BOOST_TEST(restore_backup(dest, data.dir / "elsewhere").message().find("does not verify") !=
             std::string::npos);
}

// A manifest is input: one naming paths outside the backup, a format from
// the future, or garbage is refused before anything is read or written.
BOOST_AUTO_TEST_CASE(a_hostile_or_foreign_manifest_is_refused) {
  TempDir dir;
  const auto verify_with = [&](const std::string& manifest) {
    fs::remove_all(dir / "b");
    fs::create_directories(dir / "b");
    std::ofstream(dir / "b" / "manifest.json") << manifest;
    return verify_backup(dir / "b");
  };
  const auto first_problem = [](const nlohmann::json& report) {
    return report["problems"][0].get<std::string>();
  };

  BOOST_TEST(first_problem(verify_with("not json")) == "the manifest is not a backup's manifest");
  BOOST_TEST(first_problem(verify_with(R"({"format": 1})")) == "the manifest is not a backup's manifest");
  BOOST_TEST(first_problem(verify_with(R"({"format": 99, "environments": [], "files": []})"))
                 .find("newer than this ates reads") != std::string::npos);
  BOOST_TEST(
      first_problem(verify_with(
          R"({"format": 1, "environments": [{"name": "../../etc", "bytes": 1, "sha256": ""}], "files": []})")) ==
      "the manifest names an environment '../../etc' that is not a plain folder name");
  BOOST_TEST(first_problem(
                 verify_with(R"({"format": 1, "environments": [], "files": [{"path": "/etc/passwd"}]})")) ==
             "the manifest names a file '/etc/passwd' outside mail/");
  BOOST_TEST(
      first_problem(verify_with(R"({"format": 1, "environments": [], "files": [{"path": "mail/../../x"}]})"))
          .find("outside mail/") != std::string::npos);
  BOOST_TEST(first_problem(verify_backup(dir / "nothing-here")).find("no manifest.json") !=
             std::string::npos);
  BOOST_TEST(!restore_backup(dir / "b", dir / "target").is_ok());
  BOOST_TEST(!fs::exists(dir / "target"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
