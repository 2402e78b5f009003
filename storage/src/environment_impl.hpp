// The inside of an Environment, shared by its files; private to storage/src:
//
//   environment.cpp  opening, tables and streams, reading, retention
//   writer.cpp       the writer thread: batches, group commit, completions
//   write_txn.cpp    WriteTxn: publish to the outbox, the inbox's checkpoints
#pragma once

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <lmdb++.h>
#include <sys/stat.h>

#include "ates/base/failpoint.hpp"
#include "ates/protocol/registry.hpp"
#include "ates/storage/environment.hpp"
#include "ates/storage/failpoint.hpp"
#include "ates/storage/random.hpp"

namespace ates::storage {

using base::Code;

namespace detail {

inline constexpr std::string_view kMetaTable = "meta";
inline constexpr std::string_view kStreamsTable = "streams";
inline constexpr std::string_view kInboxTable = "inbox";
inline constexpr std::string_view kConsumersTable = "consumers";
inline constexpr std::string_view kFloorKey = "floor";
// The layout of what storage keeps (outboxes, streams, checkpoints, meta),
// as a decimal number in meta. An environment of a newer format is refused
// (this code would misread it); an older one is migrated at open. 1 is the
// first numbered format; an environment without the key predates the
// number and has the same layout, so its migration only writes the number.
inline constexpr std::string_view kFormatKey = "format";
inline constexpr int kStorageFormat = 1;

inline std::string outbox_table_name(std::string_view stream) { return "outbox:" + std::string(stream); }

struct StreamRecord {
  std::string epoch;
  std::int64_t created_at = 0;
  MSGPACK_DEFINE(epoch, created_at)
};

// A stream's position; `dbi` is its outbox table.
struct StreamState {
  std::string epoch;
  MDB_dbi dbi = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t head_seq = 0;
};
using StreamMap = std::map<std::string, StreamState, std::less<>>;

// Maps an LMDB or system error code to the Status a caller should see.
inline Status status_of_errno(int rc, const std::string& what) {
  if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT) {
    return {Code::kStorageFull,
            what + ": storage is full (" + mdb_strerror(rc) + "); free disk space or raise the map size"};
  }
  return {Code::kInternal, what + ": " + mdb_strerror(rc)};
}

inline Status status_of_exception() {
  try {
    throw;
  } catch (const lmdb::error& e) {
    return status_of_errno(e.code(), e.what());
  } catch (const std::exception& e) {
    return {Code::kInternal, std::string("unit threw: ") + e.what()};
  } catch (...) {
    return {Code::kInternal, "unit threw a non-standard exception"};
  }
}

struct Job {
  Environment::Unit unit;
  Environment::Done done;
  // Runs alone in a top-level transaction: opening tables and declaring
  // streams (LMDB forbids opening a table in two transactions at once).
  bool exclusive = false;
};

}  // namespace detail

using detail::StreamMap;

struct WriteTxn::Batch {
  StreamMap streams;          // working copy; merged into committed on commit
  std::int64_t floor = 0;     // previous watermark
  std::int64_t max_time = 0;  // latest event time stamped in this batch
  // Heads to restore if the running unit fails: (stream, head, first).
  std::vector<std::tuple<std::string, std::uint64_t, std::uint64_t>> undo;
  std::vector<std::string> declared;  // streams the running unit created
};

namespace detail {

// A Txn over a transaction storage began itself (opening the environment).
class TxnView final : public Txn {
 public:
  explicit TxnView(MDB_txn* txn) : Txn(txn) {}
};

struct EnvironmentImpl {
  EnvironmentOptions options;
  base::SystemClock system_clock;
  std::unique_ptr<SystemRandom> system_random;
  base::Clock* clock = nullptr;
  base::RandomSource* random = nullptr;

  MDB_env* env = nullptr;
  RawTable meta;
  Table<StreamRecord> streams_table;
  Table<Checkpoint> inbox;
  RawTable consumers;

  mutable std::mutex tables_mutex;  // guards tables
  std::map<std::string, MDB_dbi, std::less<>> tables;

  mutable std::mutex state_mutex;  // guards committed and watermark
  StreamMap committed;
  std::int64_t watermark = 0;

  std::mutex queue_mutex;  // guards queue and stopping
  std::condition_variable queue_cv;
  std::deque<Job> queue;
  bool stopping = false;

  std::mutex observers_mutex;  // guards observers
  std::vector<CommitObserver*> observers;

  // Callers are completed on their own thread, in commit order, so the
  // writer starts the next batch while the last one's callers wake up.
  std::mutex completions_mutex;  // guards completions and completer_stopping
  std::condition_variable completions_cv;
  std::deque<std::pair<Environment::Done, Status>> completions;
  bool completer_stopping = false;

  std::thread writer;
  std::thread::id writer_id;
  std::thread completer;

  ~EnvironmentImpl() {
    if (env != nullptr) mdb_env_close(env);
  }

  void writer_loop();
  void run_batch(std::vector<Job>& jobs);
  void enqueue(Job job);
  void complete(std::vector<Job>& jobs, std::vector<Status>& results);
  void completer_loop();
};

}  // namespace detail

}  // namespace ates::storage
