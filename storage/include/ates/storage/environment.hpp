// A plugin's LMDB environment: its tables, its single writer with group
// commit, its outbox (the streams it produces) and its inbox (its position
// in the streams it consumes). See docs/storage.md.
//
// Writing. Every write goes through submit(): a *unit* is a function that
// reads and writes through a WriteTxn. One writer thread runs many pending
// units in one LMDB write transaction, each inside its own nested
// transaction, and commits once (one fsync for the batch); only then is each
// caller told its unit's Status. A unit that fails (returns an error, throws,
// or fills the map) is rolled back alone; its neighbours commit. A unit must
// not block, must not submit and wait for another unit, and must not open
// tables: it runs on the writer thread.
//
// Outbox. WriteTxn::publish appends an event to a stream this environment
// produces, in the same transaction as the unit's state change: the next
// gapless sequence number of the stream, the stream's epoch, and
// time = max(business clock, floor). When a batch commits, the writer
// records for every stream the pair (head_seq, watermark) and raises floor
// to the watermark, so every event with time < watermark has seq <= head_seq
// (the pair and floor are committed with the batch, so this holds across
// crashes too). Observers are told of each commit.
//
// Inbox. Checkpoints (stream epoch, last applied sequence) of the streams
// this environment consumes, moved by a unit in the same transaction as the
// state the events changed: an event is applied once or not at all.
//
// Reading. read() gives a read-only snapshot usable from any thread.
//
// Thread-safety: every public method is safe to call from any thread, except
// that table() and declare_stream() must not be called from inside a unit.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ates/base/clock.hpp"
#include "ates/base/status.hpp"
#include "ates/protocol/envelope.hpp"
#include "ates/protocol/payload.hpp"
#include "ates/protocol/uuid.hpp"
#include "ates/storage/table.hpp"

namespace ates::storage {

using base::Result;
using base::Status;

struct EnvironmentOptions {
  std::filesystem::path dir;                    // created 0700 if missing
  std::string producer;                         // the plugin; producer of its streams
  std::size_t map_size = std::size_t{1} << 36;  // 64 GiB: LMDB only maps it
  unsigned max_readers = 1024;
  unsigned max_tables = 256;
  std::size_t max_batch = 4096;  // units per write transaction at most
  // How often an idle writer commits an empty batch to move the watermark
  // on, so consumers can see a quiet stream is complete up to "now".
  std::chrono::milliseconds tick{1000};
  std::chrono::milliseconds reader_check_interval{10000};
  // Retention: when set, keep at least this many newest entries of each
  // stream (at least 1) and never delete above a known consumer's checkpoint. Unset: the
  // outbox is the stream's log, kept forever.
  std::optional<std::uint64_t> retention_keep_last;
  // Full sync by default. false (MDB_NOSYNC) only for benchmarks that
  // measure the ceiling without the disk.
  bool durable = true;
  // Opens an existing environment for reading only (`ates events tail`,
  // `ates audit`, `ates dead-letters list` beside a running server): no
  // writer thread, nothing written, submit() answers unavailable.
  bool read_only = false;
  base::Clock* clock = nullptr;          // business clock; SystemClock if null
  base::RandomSource* random = nullptr;  // SystemRandom if null
};

// The durable position of one stream: what its consumers need.
struct StreamHead {
  std::string stream;
  std::string epoch;
  std::uint64_t first_seq = 0;  // oldest entry kept (1 unless retention ran); 0 if empty
  std::uint64_t head_seq = 0;   // newest entry; 0 if empty
  std::int64_t watermark = 0;   // every event with time < watermark has seq <= head_seq
};

struct CommitInfo {
  std::int64_t watermark = 0;
  std::vector<StreamHead> heads;  // every declared stream, after this commit
  std::size_t units = 0;          // units that committed in this batch
  double commit_seconds = 0;      // from the batch's begin to its durable commit
};

// Told of every commit, on the writer thread, before callers are completed:
// keep it short (the bus copies what it needs and wakes its own thread).
class CommitObserver {
 public:
  virtual ~CommitObserver() = default;
  virtual void on_commit(const CommitInfo& info) = 0;
};

struct Checkpoint {
  std::string epoch;
  std::uint64_t applied_seq = 0;
  bool operator==(const Checkpoint&) const = default;
  MSGPACK_DEFINE(epoch, applied_seq)
};

class Environment;
namespace detail {
struct EnvironmentImpl;
}

// A transaction the writer gives a unit. Valid only during the unit.
class WriteTxn : public Txn {
 public:
  // Appends an event to `stream` (declared by this environment) with the
  // stream's next sequence and the stamped time, after validating it against
  // the registry. Returns the envelope as appended. `event_id` empty: a
  // new random one; given: an id the producer chose before the unit (the
  // two-phase charge names its events before publishing them).
  Result<protocol::Envelope> publish(std::string_view stream, std::string_view name, std::uint32_t version,
                                     std::string payload, std::string_view trace_id = {},
                                     std::string_view event_id = {});

  template <class Event>
  Result<protocol::Envelope> publish(const Event& event, std::string_view trace_id = {},
                                     std::string_view event_id = {});

  // The time this unit's events are stamped with: max(clock, floor), read
  // once per unit, so every event and record of a unit carries one time.
  std::int64_t now_us() const;

  // Inbox: where this environment stands in a consumed stream.
  std::optional<Checkpoint> checkpoint(std::string_view stream) const;
  // Moves the checkpoint of `stream` to `seq`. Refused (kConflict) when seq
  // is not above the current checkpoint or the epoch differs from the one
  // recorded (an empty recorded epoch adopts `epoch`): the caller must not
  // apply the events then.
  Status advance_checkpoint(std::string_view stream, std::string_view epoch, std::uint64_t seq);

  // Sets the checkpoint of `stream` to `seq` with an empty epoch (adopt the
  // next one): `ates events reset-consumer`, after a producer's data was
  // replaced. Never used on the normal path.
  void reset_checkpoint(std::string_view stream, std::uint64_t seq);

  // Retention input: the highest sequence `consumer` has applied from one
  // of our streams (the bus learns it from the consumer's fetches).
  void record_consumer_checkpoint(std::string_view stream, std::string_view consumer, std::uint64_t seq);

  base::RandomSource& random() const;

  // Runs `part` in a nested transaction: if it fails (error or exception)
  // its writes and the sequences it published are rolled back while the rest
  // of the unit goes on. The bus applies a batch's events this way after one
  // was refused, so it becomes a dead letter without undoing its neighbours.
  Status nested(const std::function<Status(WriteTxn&)>& part);

 private:
  friend class Environment;
  friend struct detail::EnvironmentImpl;
  struct Batch;
  WriteTxn(detail::EnvironmentImpl& env, Batch& batch, MDB_txn* txn) : Txn(txn), env_(env), batch_(batch) {}
  detail::EnvironmentImpl& env_;
  Batch& batch_;
  mutable std::optional<std::int64_t> now_;  // the unit's time, from its first now_us()
};

// A read-only snapshot. Move-only; ends when destroyed.
class ReadTxn : public Txn {
 public:
  ReadTxn(ReadTxn&& other) noexcept : Txn(other.txn_) { other.txn_ = nullptr; }
  ReadTxn& operator=(ReadTxn&&) = delete;
  ~ReadTxn();

 private:
  friend class Environment;
  explicit ReadTxn(MDB_txn* txn) : Txn(txn) {}
};

class Environment {
 public:
  using Unit = std::function<Status(WriteTxn&)>;
  using Done = std::function<void(Status)>;

  // Opens (creating if needed) the environment in options.dir and starts its
  // writer. Errors (a map too small for the data, permissions) are values.
  static Result<std::unique_ptr<Environment>> open(EnvironmentOptions options);

  // Stops the writer after the units already submitted and closes LMDB.
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  // Opens or creates a named table. Call at start-up, never inside a unit.
  template <class V>
  Table<V> table(std::string_view name) {
    return Table<V>(open_table(name));
  }
  RawTable raw_table(std::string_view name) { return RawTable(open_table(name)); }

  // Creates the stream (with a fresh epoch) if new, so this environment may
  // publish on it. Idempotent. Call at start-up, never inside a unit.
  // Read-only: passes for a stream that exists, kUnavailable otherwise.
  Status declare_stream(std::string_view stream);

  // Runs `unit` in the next batch; `done` is called once the batch has
  // committed (or with the unit's error), on the environment's completion
  // thread, in commit order: it must not wait for another unit (run(),
  // table(), declare_stream()). After the environment began to close, done
  // gets kUnavailable at once.
  void submit(Unit unit, Done done);
  std::future<Status> submit(Unit unit);
  // Submits and waits.
  Status run(Unit unit) { return submit(std::move(unit)).get(); }
  // Submits a unit computing a value and waits for it.
  template <class T>
  Result<T> run_for(std::function<Result<T>(WriteTxn&)> unit);

  ReadTxn read() const;

  // The latest recorded pair of every declared stream.
  std::vector<StreamHead> heads() const;
  std::optional<StreamHead> head(std::string_view stream) const;
  // A stream's epoch and sequences as `txn` sees them, so they agree with
  // whatever else is read through the same snapshot (head() is the latest
  // commit's: newer than an older snapshot, and for a moment after a commit
  // older than a fresh one). Its watermark is the snapshot's floor.
  // Nothing when the stream is not produced here or not yet in `txn`.
  std::optional<StreamHead> head(const ReadTxn& txn, std::string_view stream) const;
  // Encoded envelopes of `stream` from `from_seq` on, at most `max` of them.
  // Empty when from_seq is past the head; below first_seq too (the caller
  // compares with head() to answer TRUNCATED).
  std::vector<std::string> read_outbox(const ReadTxn& txn, std::string_view stream, std::uint64_t from_seq,
                                       std::size_t max) const;
  std::optional<Checkpoint> checkpoint(const ReadTxn& txn, std::string_view stream) const;

  void add_observer(CommitObserver* observer);
  void remove_observer(CommitObserver* observer);

  // Copies the environment as one read snapshot sees it into `dir`, which
  // must exist and be empty: compacted (free pages left out) when LMDB
  // can, a plain copy when compaction refuses. Writers go on meanwhile;
  // the copy is the state when it began. The copy's data.mdb is 0600.
  Status copy_to(const std::filesystem::path& dir) const;

  // Deletes outbox entries allowed by the retention option (a no-op when
  // retention is off). Returns how many were deleted.
  Result<std::uint64_t> apply_retention();

  const EnvironmentOptions& options() const;
  base::Clock& clock() const;

 private:
  explicit Environment(std::unique_ptr<detail::EnvironmentImpl> impl);
  unsigned open_table(std::string_view name);  // the MDB_dbi
  std::unique_ptr<detail::EnvironmentImpl> impl_;
};

template <class Event>
Result<protocol::Envelope> WriteTxn::publish(const Event& event, std::string_view trace_id,
                                             std::string_view event_id) {
  return publish(Event::kStream, Event::kName, Event::kVersion, protocol::encode_payload(event), trace_id,
                 event_id);
}

template <class T>
Result<T> Environment::run_for(std::function<Result<T>(WriteTxn&)> unit) {
  std::optional<T> value;
  const Status status = run([&](WriteTxn& txn) -> Status {
    Result<T> result = unit(txn);
    if (!result) return result.status();
    value = std::move(result).value();
    return Status::ok();
  });
  if (!status) return status;
  return std::move(*value);
}

}  // namespace ates::storage
