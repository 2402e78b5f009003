#include "ates/bench/storage_bench.hpp"

#include <lmdb.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <mutex>
#include <thread>

#include "ates/protocol/events.hpp"
#include "ates/storage/environment.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates::bench {

namespace {

using Clock = std::chrono::steady_clock;
using base::Status;
using storage::Environment;
using storage::EnvironmentOptions;
using storage::RawTable;
using storage::WriteTxn;

const std::string kUser = "22222222-2222-4222-8222-222222222222";
const std::string kState(100, 's');  // the state row each unit writes

std::string task_id(std::uint64_t n) {
  char text[37];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n));
  return text;
}

struct Figure {
  double units_per_second = 0;
  double average_batch = 0;
};

struct BatchCounter final : storage::CommitObserver {
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> units{0};
  void on_commit(const storage::CommitInfo& info) override {
    if (info.units == 0) return;  // idle ticks
    commits.fetch_add(1, std::memory_order_relaxed);
    units.fetch_add(info.units, std::memory_order_relaxed);
  }
};

// A unit as a plugin would write it: one state row and one event.
Status write_unit(RawTable tasks, WriteTxn& txn, std::uint64_t n) {
  const std::string id = task_id(n);
  tasks.put(txn, id, kState);
  return txn
      .publish(protocol::TaskCreated{
          .task_id = id, .title = "benchmark task", .jira_id = {}, .description = "", .created_by = kUser})
      .status();
}

Figure writer_scenario(const std::filesystem::path& dir, int submitters, std::size_t max_batch,
                       std::chrono::milliseconds duration) {
  auto opened =
      Environment::open(EnvironmentOptions{.dir = dir, .producer = "tracker", .max_batch = max_batch});
  if (!opened) throw std::runtime_error(opened.status().to_string());
  auto env = std::move(opened).value();
  if (Status s = env->declare_stream(protocol::kTasksStream); !s) throw std::runtime_error(s.to_string());
  RawTable tasks = env->raw_table("tasks");
  BatchCounter counter;
  env->add_observer(&counter);

  // Each submitter is a chain of units kept in flight through the async
  // submit: the next unit is submitted from the completion of the previous
  // one, as the HTTP host does, so "64 submitters" means 64 units in flight
  // without 64 threads fighting for two cores.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> next{1};
  std::atomic<std::uint64_t> done{0};
  std::atomic<int> chains{submitters};
  std::mutex finished_mutex;
  std::condition_variable finished;
  std::function<void()> submit_next = [&] {
    const std::uint64_t n = next.fetch_add(1);
    env->submit([&, n](WriteTxn& txn) { return write_unit(tasks, txn, n); },
                [&](Status status) {
                  if (status) done.fetch_add(1, std::memory_order_relaxed);
                  if (!stop.load(std::memory_order_relaxed)) return submit_next();
                  std::lock_guard lock(finished_mutex);
                  if (--chains == 0) finished.notify_all();
                });
  };
  const auto start = Clock::now();
  for (int t = 0; t < submitters; ++t) submit_next();
  std::this_thread::sleep_for(duration);  // a benchmark's measuring window, not a wait
  stop = true;
  {
    std::unique_lock lock(finished_mutex);
    finished.wait(lock, [&] { return chains.load() == 0; });
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  env->remove_observer(&counter);
  const auto commits = counter.commits.load();
  return {done.load() / seconds, commits ? static_cast<double>(counter.units.load()) / commits : 0};
}

// Bare LMDB: `batch` units (a state put and an outbox append each) per
// synced commit, on one thread, no writer, no validation, no envelope work.
Figure raw_scenario(const std::filesystem::path& dir, std::size_t batch, std::chrono::milliseconds duration) {
  std::filesystem::create_directories(dir);
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_mapsize(env, std::size_t{1} << 34);
  mdb_env_set_maxdbs(env, 4);
  if (int rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0600); rc != 0)
    throw std::runtime_error(mdb_strerror(rc));
  MDB_txn* txn = nullptr;
  MDB_dbi tasks = 0, outbox = 0;
  mdb_txn_begin(env, nullptr, 0, &txn);
  mdb_dbi_open(txn, "tasks", MDB_CREATE, &tasks);
  mdb_dbi_open(txn, "outbox", MDB_CREATE, &outbox);
  mdb_txn_commit(txn);
  // An envelope of the size the writer produces.
  const std::string event = protocol::encode_envelope(
      protocol::Envelope{.event_id = task_id(0),
                         .name = "TaskCreated",
                         .version = 2,
                         .producer = "tracker",
                         .stream = "tracker.tasks",
                         .stream_epoch = task_id(0),
                         .seq = 1,
                         .time_us = 1,
                         .trace_id = "",
                         .payload = protocol::encode_payload(protocol::TaskCreated{.task_id = task_id(1),
                                                                                   .title = "benchmark task",
                                                                                   .jira_id = {},
                                                                                   .description = "",
                                                                                   .created_by = kUser})});
  std::uint64_t n = 0;
  const auto start = Clock::now();
  const auto end = start + duration;
  while (Clock::now() < end) {
    mdb_txn_begin(env, nullptr, 0, &txn);
    for (std::size_t i = 0; i < batch; ++i) {
      ++n;
      const std::string id = task_id(n);
      const std::string seq = storage::key_u64(n);
      MDB_val k{id.size(), const_cast<char*>(id.data())}, v{kState.size(), const_cast<char*>(kState.data())};
      mdb_put(txn, tasks, &k, &v, 0);
      MDB_val sk{seq.size(), const_cast<char*>(seq.data())},
          sv{event.size(), const_cast<char*>(event.data())};
      mdb_put(txn, outbox, &sk, &sv, MDB_APPEND);
    }
    if (int rc = mdb_txn_commit(txn); rc != 0) throw std::runtime_error(mdb_strerror(rc));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  mdb_env_close(env);
  return {n / seconds, static_cast<double>(batch)};
}

}  // namespace

double group_commit_units_per_second(const std::filesystem::path& dir, int in_flight,
                                     std::chrono::milliseconds duration) {
  return writer_scenario(dir, in_flight, 4096, duration).units_per_second;
}

void run_storage_bench(const StorageBenchOptions& options, std::ostream& out) {
  testing::TempDir temp("ates-bench");
  const std::filesystem::path root = options.dir.empty() ? temp.path() : std::filesystem::path(options.dir);
  const std::chrono::milliseconds duration(options.full ? 5000 : 2000);
  int scenario = 0;
  auto fresh = [&] { return root / ("scenario-" + std::to_string(++scenario)); };

  out << std::fixed << std::setprecision(0);
  out << "ates bench storage: durable units (one 100-byte state row + one event) per second, full fsync\n";
  out << "each scenario runs " << duration.count() << " ms on a fresh environment in " << root.string()
      << "\n\n";

  const Figure one_per_commit = writer_scenario(fresh(), 8, 1, duration);
  out << "writer, one commit per unit (8 in flight, batch 1): " << one_per_commit.units_per_second
      << " units/s\n";

  struct Row {
    int submitters;
    Figure group;
    Figure raw;
  };
  std::vector<Row> rows;
  for (int submitters : {1, 8, 64}) {
    Row row{submitters, writer_scenario(fresh(), submitters, 4096, duration), {}};
    row.raw = raw_scenario(fresh(), static_cast<std::size_t>(submitters), duration);
    rows.push_back(row);
  }
  out << "\n"
      << std::setw(11) << "in flight" << std::setw(16) << "group units/s" << std::setw(12) << "avg batch"
      << std::setw(22) << "raw LMDB units/s" << std::setw(12) << "raw batch" << std::setw(10) << "ratio"
      << "\n";
  for (const Row& row : rows) {
    out << std::setw(11) << row.submitters << std::setw(16) << row.group.units_per_second << std::setw(12)
        << std::setprecision(1) << row.group.average_batch << std::setprecision(0) << std::setw(22)
        << row.raw.units_per_second << std::setw(12) << row.raw.average_batch << std::setw(9)
        << std::setprecision(0) << 100.0 * row.group.units_per_second / row.raw.units_per_second << "%\n";
  }
  const Row& last = rows.back();
  out << "\ngroup commit vs one commit per unit: " << std::setprecision(1)
      << last.group.units_per_second / one_per_commit.units_per_second << "x\n";
  out << "target: group commit at 64 submitters >= 50% of the raw ceiling at batch 64: "
      << std::setprecision(0) << 100.0 * last.group.units_per_second / last.raw.units_per_second << "%\n";
}

}  // namespace ates::bench
