#include "ates/storage/environment.hpp"

#include <lmdb.h>

#include <atomic>
#include <functional>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

namespace ates::storage {

using base::ManualClock;
using base::SystemClock;

namespace {

using base::Code;
using base::SeededRandom;
using testing::TempDir;

// Records every commit the writer reports.
struct Recorder final : CommitObserver {
  std::mutex mutex;
  std::vector<CommitInfo> commits;
  void on_commit(const CommitInfo& info) override {
    std::lock_guard lock(mutex);
    commits.push_back(info);
  }
};

BOOST_AUTO_TEST_SUITE(environment)

BOOST_AUTO_TEST_CASE(publish_is_gapless_and_survives_reopen) {
  TempDir dir;
  ManualClock clock(1'000'000);
  SeededRandom random(1);
  std::string epoch;
  {
    auto env = test::open_tracker(dir.path(), &clock, &random);
    RawTable tasks = env->raw_table("tasks");
    for (std::uint64_t n = 1; n <= 5; ++n) BOOST_TEST_REQUIRE(env->run(test::create_task(tasks, n)).is_ok());
    const auto events = test::read_all(*env);
    BOOST_TEST_REQUIRE(events.size() == 5u);
    for (std::uint64_t i = 0; i < events.size(); ++i) {
      BOOST_TEST(events[i].seq == i + 1);
      BOOST_TEST(events[i].producer == "tracker");
      BOOST_TEST(events[i].name == "TaskCreated");
    }
    epoch = env->head(test::kStream)->epoch;
    BOOST_TEST(protocol::is_uuid(epoch));
  }
  auto env = test::open_tracker(dir.path(), &clock, &random);
  const auto head = env->head(test::kStream);
  BOOST_TEST_REQUIRE(head.has_value());
  BOOST_TEST(head->head_seq == 5u);
  BOOST_TEST(head->first_seq == 1u);
  BOOST_TEST(head->epoch == epoch);
  BOOST_TEST_REQUIRE(env->run(test::create_task(env->raw_table("tasks"), 6)).is_ok());
  BOOST_TEST(test::read_all(*env).back().seq == 6u);
}

// Every environment says which data format it is in: a new or older one is
// given today's number, a newer one (written by a later ates, or restored
// from its backup) is refused rather than misread, also read-only.
BOOST_AUTO_TEST_CASE(a_data_format_newer_than_this_code_is_refused) {
  TempDir dir;
  ManualClock clock(1'000'000);
  SeededRandom random(1);
  // Storage's own table, read and written beside it as another program would.
  const auto with_meta = [&](const std::function<void(MDB_txn*, MDB_dbi)>& use) {
    MDB_env* raw = nullptr;
    BOOST_TEST_REQUIRE(mdb_env_create(&raw) == 0);
    mdb_env_set_maxdbs(raw, 8);
    BOOST_TEST_REQUIRE(mdb_env_open(raw, dir.path().c_str(), 0, 0600) == 0);
    MDB_txn* txn = nullptr;
    BOOST_TEST_REQUIRE(mdb_txn_begin(raw, nullptr, 0, &txn) == 0);
    MDB_dbi meta = 0;
    BOOST_TEST_REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    use(txn, meta);
    BOOST_TEST_REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(raw);
  };
  test::open_tracker(dir.path(), &clock, &random).reset();
  with_meta([](MDB_txn* txn, MDB_dbi meta) {
    MDB_val key{6, const_cast<char*>("format")}, value{};
    BOOST_TEST_REQUIRE(mdb_get(txn, meta, &key, &value) == 0);
    BOOST_TEST(std::string(static_cast<const char*>(value.mv_data), value.mv_size) == "1");
  });
  for (const std::string newer : {"2", "99", "garbage"}) {
    test::open_tracker(dir.path(), &clock, &random).reset();
    with_meta([&](MDB_txn* txn, MDB_dbi meta) {
      MDB_val key{6, const_cast<char*>("format")}, value{newer.size(), const_cast<char*>(newer.data())};
      BOOST_TEST_REQUIRE(mdb_put(txn, meta, &key, &value, 0) == 0);
    });
    const auto refused = Environment::open({.dir = dir.path(), .producer = "tracker"});
    BOOST_TEST_REQUIRE(!refused.has_value());
    BOOST_TEST(refused.status().message().find("has data format " + newer +
                                               "; this ates reads formats up to 1") != std::string::npos,
               refused.status().message());
    BOOST_TEST(!Environment::open({.dir = dir.path(), .producer = "tracker", .read_only = true}).has_value());
    // The next round starts from a fresh environment.
    std::filesystem::remove(dir.path() / "data.mdb");
    std::filesystem::remove(dir.path() / "lock.mdb");
  }
}

BOOST_AUTO_TEST_CASE(concurrent_submitters_commit_each_unit_once_in_commit_order) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(2);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  RawTable tasks = env->raw_table("tasks");
  Recorder recorder;
  env->add_observer(&recorder);

  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  std::mutex acked_mutex;
  // For each unit: the head of the commit that acknowledged it and the head
  // before that commit, read on the writer thread when done is called.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> windows;
  std::map<std::string, std::uint64_t> seq_of_task;
  std::atomic<int> failures{0};  // Boost.Test assertions are not thread-safe
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::uint64_t n = static_cast<std::uint64_t>(t) * kPerThread + i + 1;
        std::uint64_t seq = 0;
        const Status status = env->run([&, n](WriteTxn& txn) -> Status {
          const std::string id = test::task_id(n);
          tasks.put(txn, id, "open");
          auto published = txn.publish(protocol::TaskCreated{
              .task_id = id, .title = "t", .jira_id = {}, .description = "", .created_by = test::kUser});
          if (published) seq = published->seq;
          return published.status();
        });
        if (!status) ++failures;
        std::lock_guard lock(acked_mutex);
        seq_of_task[test::task_id(n)] = seq;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  env->remove_observer(&recorder);
  BOOST_TEST_REQUIRE(failures.load() == 0);

  constexpr std::size_t kTotal = kThreads * kPerThread;
  const auto events = test::read_all(*env);
  BOOST_TEST_REQUIRE(events.size() == kTotal);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < events.size(); ++i) {
    BOOST_TEST_REQUIRE(events[i].seq == i + 1);  // gapless
    const auto created = protocol::decode_payload<protocol::TaskCreated>(events[i]);
    BOOST_TEST_REQUIRE(created.has_value());
    ids.insert(created->task_id);
    // The sequence the unit saw is the one that was committed.
    if (seq_of_task.at(created->task_id) != events[i].seq) BOOST_FAIL("unit saw another seq than committed");
  }
  BOOST_TEST(ids.size() == kTotal);  // every unit exactly once
  {
    ReadTxn txn = env->read();
    BOOST_TEST(tasks.size(txn) == kTotal);
  }
  // Commit order: heads only grow, each commit covers a contiguous range, and
  // units were batched (fewer commits than units).
  std::uint64_t previous = 0;
  std::size_t units = 0;
  for (const auto& commit : recorder.commits) {
    BOOST_TEST_REQUIRE(commit.heads.size() == 1u);
    BOOST_TEST_REQUIRE(commit.heads[0].head_seq >= previous);
    BOOST_TEST_REQUIRE(commit.heads[0].head_seq - previous == commit.units);
    previous = commit.heads[0].head_seq;
    units += commit.units;
  }
  BOOST_TEST(units == kTotal);
  BOOST_TEST(recorder.commits.size() < kTotal);
  BOOST_TEST_MESSAGE(kTotal << " units in " << recorder.commits.size() << " commits");
}

BOOST_AUTO_TEST_CASE(failing_unit_is_rolled_back_alone) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(3);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  RawTable tasks = env->raw_table("tasks");
  Recorder recorder;
  env->add_observer(&recorder);

  // Hold the writer in a first unit until the others are queued, so they
  // share one batch.
  std::latch started(1);
  std::latch queued(1);
  auto gate = env->submit([&](WriteTxn&) {
    started.count_down();
    queued.wait();
    return Status::ok();
  });
  started.wait();
  auto good1 = env->submit(test::create_task(tasks, 1));
  auto bad = env->submit([&](WriteTxn& txn) -> Status {
    // Writes and publishes, then fails (a failed write shows as another
    // status below: Boost.Test's checks belong to the test's own thread).
    if (Status wrote = test::create_task(tasks, 2)(txn); !wrote) return wrote;
    return {Code::kConflict, "task 2 is already done"};
  });
  auto throws = env->submit([&](WriteTxn& txn) -> Status {
    if (Status wrote = test::create_task(tasks, 3)(txn); !wrote) return wrote;
    throw std::runtime_error("a bug in a unit");
  });
  auto invalid = env->submit([&](WriteTxn& txn) -> Status {
    tasks.put(txn, test::task_id(4), "open");
    return txn.publish(protocol::TaskCompleted{.task_id = "nope", .assignee_id = test::kUser}).status();
  });
  auto good2 = env->submit(test::create_task(tasks, 5));
  queued.count_down();

  BOOST_TEST(gate.get().is_ok());
  BOOST_TEST(good1.get().is_ok());
  const Status bad_status = bad.get();
  BOOST_TEST(bad_status.code() == Code::kConflict);
  BOOST_TEST(bad_status.message() == "task 2 is already done");
  const Status throw_status = throws.get();
  BOOST_TEST(throw_status.code() == Code::kInternal);
  BOOST_TEST(throw_status.message() == "unit threw: a bug in a unit");
  BOOST_TEST(invalid.get().code() == Code::kInvalidArgument);
  BOOST_TEST(good2.get().is_ok());

  const auto events = test::read_all(*env);
  BOOST_TEST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[0].seq == 1u);
  BOOST_TEST(events[1].seq == 2u);  // the failed units' sequences were reused
  BOOST_TEST(protocol::decode_payload<protocol::TaskCreated>(events[1])->task_id == test::task_id(5));
  ReadTxn txn = env->read();
  BOOST_TEST(tasks.get(txn, test::task_id(1)).has_value());
  BOOST_TEST(!tasks.get(txn, test::task_id(2)).has_value());
  BOOST_TEST(!tasks.get(txn, test::task_id(3)).has_value());
  BOOST_TEST(!tasks.get(txn, test::task_id(4)).has_value());
  BOOST_TEST(tasks.get(txn, test::task_id(5)).has_value());
  env->remove_observer(&recorder);
  // The five units after the gate committed together.
  BOOST_TEST(std::any_of(recorder.commits.begin(), recorder.commits.end(),
                         [](const CommitInfo& c) { return c.heads[0].head_seq == 2 && c.units == 2; }));
}

BOOST_AUTO_TEST_CASE(streams_must_be_declared_and_owned) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(4);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  BOOST_TEST(env->declare_stream("auth.users").message() == "stream auth.users belongs to auth, not tracker");
  BOOST_TEST(env->declare_stream("no.such").message() == "unknown stream no.such");
  BOOST_TEST(env->declare_stream(test::kStream).is_ok());  // idempotent
  const Status status = env->run(
      [](WriteTxn& txn) { return txn.publish(protocol::UserDeactivated{.user_id = test::kUser}).status(); });
  BOOST_TEST(status.code() == Code::kInternal);
  BOOST_TEST(status.message() == "stream auth.users is not declared by tracker");
  BOOST_CHECK_THROW(env->raw_table("outbox:tracker.tasks"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(inbox_checkpoints_move_forward_within_one_epoch) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(5);
  const std::string epoch = "0b7e1c55-2f5c-4a7e-9d64-3c1c2a9b8e11";
  {
    auto env = test::open_tracker(dir.path(), &clock, &random);
    BOOST_TEST(
        env->run([&](WriteTxn& txn) { return txn.advance_checkpoint("auth.users", epoch, 3); }).is_ok());
    BOOST_TEST(
        env->run([&](WriteTxn& txn) { return txn.advance_checkpoint("auth.users", epoch, 3); }).code() ==
        Code::kConflict);
    const Status other_epoch = env->run([&](WriteTxn& txn) {
      return txn.advance_checkpoint("auth.users", "11111111-2f5c-4a7e-9d64-3c1c2a9b8e11", 4);
    });
    BOOST_TEST(other_epoch.code() == Code::kConflict);
    BOOST_TEST(other_epoch.message().find("changed epoch") != std::string::npos);
    BOOST_TEST(
        env->run([&](WriteTxn& txn) { return txn.advance_checkpoint("auth.users", epoch, 10); }).is_ok());
  }
  auto env = test::open_tracker(dir.path(), &clock, &random);
  ReadTxn txn = env->read();
  const auto checkpoint = env->checkpoint(txn, "auth.users");
  BOOST_TEST_REQUIRE(checkpoint.has_value());
  BOOST_TEST((*checkpoint == Checkpoint{epoch, 10}));
}

BOOST_AUTO_TEST_CASE(retention_deletes_only_below_every_known_consumer) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(6);
  auto env = test::open_tracker(dir.path(), &clock, &random,
                                [](EnvironmentOptions& o) { o.retention_keep_last = 2; });
  RawTable tasks = env->raw_table("tasks");
  for (std::uint64_t n = 1; n <= 10; ++n) BOOST_TEST_REQUIRE(env->run(test::create_task(tasks, n)).is_ok());
  // No consumer known: nothing may go.
  BOOST_TEST(*env->apply_retention() == 0u);
  BOOST_TEST(env->run([](WriteTxn& txn) {
                  txn.record_consumer_checkpoint(test::kStream, "accounting", 8);
                  txn.record_consumer_checkpoint(test::kStream, "analytics", 5);
                  return Status::ok();
                })
                 .is_ok());
  BOOST_TEST(*env->apply_retention() == 5u);  // 1..5: below analytics
  BOOST_TEST(env->head(test::kStream)->first_seq == 6u);
  BOOST_TEST(env->run([](WriteTxn& txn) {
                  txn.record_consumer_checkpoint(test::kStream, "analytics", 10);
                  return Status::ok();
                })
                 .is_ok());
  BOOST_TEST(*env->apply_retention() == 3u);  // 6..8: 9 and 10 are the newest two
  const auto events = test::read_all(*env);
  BOOST_TEST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events.front().seq == 9u);
  BOOST_TEST(env->head(test::kStream)->first_seq == 9u);
}

BOOST_AUTO_TEST_CASE(retention_keeps_the_newest_entry_so_a_restart_never_reuses_a_sequence) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(10);
  auto keep_none = [](EnvironmentOptions& o) { o.retention_keep_last = 0; };
  {
    auto env = test::open_tracker(dir.path(), &clock, &random, keep_none);
    RawTable tasks = env->raw_table("tasks");
    for (std::uint64_t n = 1; n <= 10; ++n) BOOST_TEST_REQUIRE(env->run(test::create_task(tasks, n)).is_ok());
    BOOST_TEST(env->run([](WriteTxn& txn) {
                    txn.record_consumer_checkpoint(test::kStream, "accounting", 10);
                    return Status::ok();
                  })
                   .is_ok());
    BOOST_TEST(*env->apply_retention() == 9u);
  }
  auto env = test::open_tracker(dir.path(), &clock, &random, keep_none);
  BOOST_TEST(env->head(test::kStream)->head_seq == 10u);
  BOOST_TEST_REQUIRE(env->run(test::create_task(env->raw_table("tasks"), 11)).is_ok());
  BOOST_TEST(test::read_all(*env).back().seq == 11u);
}

BOOST_AUTO_TEST_CASE(retention_is_off_by_default) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(7);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  RawTable tasks = env->raw_table("tasks");
  for (std::uint64_t n = 1; n <= 3; ++n) BOOST_TEST_REQUIRE(env->run(test::create_task(tasks, n)).is_ok());
  BOOST_TEST(env->run([](WriteTxn& txn) {
                  txn.record_consumer_checkpoint(test::kStream, "accounting", 3);
                  return Status::ok();
                })
                 .is_ok());
  BOOST_TEST(*env->apply_retention() == 0u);
  BOOST_TEST(test::read_all(*env).size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_snapshot_sees_the_head_it_holds) {
  TempDir dir;
  ManualClock clock(1'000'000);
  SeededRandom random(10);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  RawTable tasks = env->raw_table("tasks");
  {
    ReadTxn empty = env->read();
    const auto head = env->head(empty, test::kStream);
    BOOST_TEST_REQUIRE(head.has_value());
    BOOST_TEST(head->head_seq == 0u);
    BOOST_TEST(head->epoch == env->head(test::kStream)->epoch);
  }
  for (std::uint64_t n = 1; n <= 2; ++n) BOOST_TEST_REQUIRE(env->run(test::create_task(tasks, n)).is_ok());
  ReadTxn before = env->read();
  BOOST_TEST_REQUIRE(env->run(test::create_task(tasks, 3)).is_ok());
  // The older snapshot keeps its head; a new one sees the commit.
  const auto old_head = env->head(before, test::kStream);
  BOOST_TEST_REQUIRE(old_head.has_value());
  BOOST_TEST(old_head->head_seq == 2u);
  BOOST_TEST(old_head->first_seq == 1u);
  BOOST_TEST(old_head->epoch == env->head(test::kStream)->epoch);
  ReadTxn after = env->read();
  BOOST_TEST(env->head(after, test::kStream)->head_seq == 3u);
  BOOST_TEST(!env->head(after, "no.such.stream").has_value());
}

BOOST_AUTO_TEST_CASE(closing_drains_submitted_units) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(8);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  RawTable tasks = env->raw_table("tasks");
  auto pending = env->submit(test::create_task(tasks, 1));
  env.reset();  // drains what was submitted
  BOOST_TEST(pending.get().is_ok());
}

BOOST_AUTO_TEST_CASE(read_only_reads_a_live_environment_and_writes_nothing) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(9);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  RawTable tasks = env->raw_table("tasks");
  for (std::uint64_t n = 1; n <= 3; ++n) BOOST_TEST_REQUIRE(env->run(test::create_task(tasks, n)).is_ok());
  auto reader = Environment::open({.dir = dir.path(), .producer = "tracker", .read_only = true});
  BOOST_TEST_REQUIRE(reader.has_value(), reader.status().to_string());
  BOOST_TEST((*reader)->head(test::kStream)->head_seq == 3u);
  BOOST_TEST(test::read_all(**reader).size() == 3u);
  RawTable read_tasks = (*reader)->raw_table("tasks");
  {
    ReadTxn txn = (*reader)->read();
    BOOST_TEST(read_tasks.size(txn) == 3u);
  }
  const Status refused = (*reader)->run([](WriteTxn&) { return Status::ok(); });
  BOOST_TEST(refused.code() == Code::kUnavailable);
  BOOST_TEST(refused.message() == "storage is open read-only");
  // The writer goes on beside it.
  BOOST_TEST(env->run(test::create_task(tasks, 4)).is_ok());
  // A stream declared before passes; a new one cannot be made.
  BOOST_TEST((*reader)->declare_stream(test::kStream).is_ok());
  const Status undeclared = (*reader)->declare_stream(protocol::kUsersStream);
  BOOST_TEST(undeclared.code() == Code::kInvalidArgument);  // auth's stream, not the tracker's
}

BOOST_AUTO_TEST_CASE(read_only_declares_only_what_exists) {
  TempDir dir;
  {
    auto env = Environment::open({.dir = dir.path(), .producer = "auth"});
    BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
    (*env)->raw_table("users");  // the file exists, the stream was never declared
  }
  auto reader = Environment::open({.dir = dir.path(), .producer = "auth", .read_only = true});
  BOOST_TEST_REQUIRE(reader.has_value(), reader.status().to_string());
  const Status refused = (*reader)->declare_stream(protocol::kUsersStream);
  BOOST_TEST(refused.code() == Code::kUnavailable);
  BOOST_TEST(refused.message() == "stream auth.users was never declared, and storage is read-only");
  BOOST_TEST((*reader)->heads().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::storage
