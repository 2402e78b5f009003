// Environment: LMDB set-up, the writer thread with group commit, the outbox
// and the inbox.
//
// [SECTION] internal state
// [SECTION] opening
// [SECTION] the writer loop and group commit
// [SECTION] WriteTxn: publish, inbox
// [SECTION] reading
// [SECTION] retention

#include "ates/storage/environment.hpp"

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

#include "ates/protocol/registry.hpp"
#include "ates/storage/failpoint.hpp"
#include "ates/storage/random.hpp"

namespace ates::storage {

using protocol::Code;

// [SECTION] internal state ----------------------------------------------------

namespace {

constexpr std::string_view kMetaTable = "meta";
constexpr std::string_view kStreamsTable = "streams";
constexpr std::string_view kInboxTable = "inbox";
constexpr std::string_view kConsumersTable = "consumers";
constexpr std::string_view kFloorKey = "floor";

std::string outbox_table_name(std::string_view stream) { return "outbox:" + std::string(stream); }

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
Status status_of_errno(int rc, const std::string& what) {
  if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT) {
    return {Code::kStorageFull,
            what + ": storage is full (" + mdb_strerror(rc) + "); free disk space or raise the map size"};
  }
  return {Code::kInternal, what + ": " + mdb_strerror(rc)};
}

Status status_of_exception() {
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

}  // namespace

struct WriteTxn::Batch {
  StreamMap streams;          // working copy; merged into committed on commit
  std::int64_t floor = 0;     // previous watermark
  std::int64_t max_time = 0;  // latest event time stamped in this batch
  // Heads to restore if the running unit fails: (stream, head, first).
  std::vector<std::tuple<std::string, std::uint64_t, std::uint64_t>> undo;
  std::vector<std::string> declared;  // streams the running unit created
};

namespace detail {

struct EnvironmentImpl {
  EnvironmentOptions options;
  SystemClock system_clock;
  std::unique_ptr<SystemRandom> system_random;
  Clock* clock = nullptr;
  protocol::RandomSource* random = nullptr;

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

using detail::EnvironmentImpl;

// [SECTION] opening -----------------------------------------------------------

Result<std::unique_ptr<Environment>> Environment::open(EnvironmentOptions options) {
  auto impl = std::make_unique<EnvironmentImpl>();
  impl->options = std::move(options);
  EnvironmentOptions& o = impl->options;
  if (o.clock == nullptr) o.clock = &impl->system_clock;
  if (o.random == nullptr) {
    impl->system_random = std::make_unique<SystemRandom>();
    o.random = impl->system_random.get();
  }
  impl->clock = o.clock;
  impl->random = o.random;

  // Read-only opens (beside a server, or on data kept for a look) change
  // nothing on disk; the others keep the environment's directory 0700: it
  // holds what the plugin keeps, keys and hashes included, and a directory
  // that cannot be made private is an error, not a warning.
  if (!o.read_only) {
    std::error_code fs_error;
    std::filesystem::create_directories(o.dir, fs_error);
    if (fs_error) {
      return Status(Code::kInternal, "cannot create " + o.dir.string() + ": " + fs_error.message());
    }
    if (::chmod(o.dir.c_str(), 0700) != 0) {
      return Status(Code::kInternal,
                    "cannot make " + o.dir.string() + " private (chmod 0700): " + std::strerror(errno));
    }
  }

  try {
    lmdb::env_create(&impl->env);
    lmdb::env_set_mapsize(impl->env, o.map_size);
    lmdb::env_set_max_readers(impl->env, o.max_readers);
    lmdb::env_set_max_dbs(impl->env, o.max_tables);
    // MDB_NOTLS: read transactions are not tied to threads (thread pools).
    // Never MDB_WRITEMAP: a stray write through the map could corrupt it, and
    // nested transactions (one per unit) need the default mode.
    const unsigned flags = MDB_NOTLS | (o.durable ? 0u : MDB_NOSYNC) | (o.read_only ? MDB_RDONLY : 0u);
    lmdb::env_open(impl->env, o.dir.c_str(), flags, 0600);
    int dead = 0;
    mdb_reader_check(impl->env, &dead);  // slots of crashed readers

    MDB_txn* txn = nullptr;
    lmdb::txn_begin(impl->env, nullptr, o.read_only ? MDB_RDONLY : 0, &txn);
    auto open_dbi = [&](std::string_view name) {
      MDB_dbi dbi = 0;
      lmdb::dbi_open(txn, std::string(name).c_str(), o.read_only ? 0 : MDB_CREATE, &dbi);
      return dbi;
    };
    try {
      impl->meta = RawTable(open_dbi(kMetaTable));
      impl->streams_table = Table<StreamRecord>(open_dbi(kStreamsTable));
      impl->inbox = Table<Checkpoint>(open_dbi(kInboxTable));
      impl->consumers = RawTable(open_dbi(kConsumersTable));
      if (auto floor = impl->meta.get(txn, kFloorKey)) {
        impl->watermark = static_cast<std::int64_t>(decode_key_u64(*floor));
      }
      std::vector<std::pair<std::string, StreamRecord>> records;
      impl->streams_table.scan(txn, {}, [&](std::string_view name, StreamRecord record) {
        records.emplace_back(std::string(name), std::move(record));
        return true;
      });
      for (auto& [name, record] : records) {
        StreamState state{.epoch = record.epoch, .dbi = open_dbi(outbox_table_name(name))};
        RawTable outbox(state.dbi);
        outbox.scan(txn, {}, [&](std::string_view key, std::string_view) {
          state.first_seq = decode_key_u64(key);
          return false;
        });
        MDB_cursor* cursor = nullptr;
        lmdb::cursor_open(txn, state.dbi, &cursor);
        MDB_val key{}, value{};
        if (mdb_cursor_get(cursor, &key, &value, MDB_LAST) == 0) {
          state.head_seq = decode_key_u64({static_cast<const char*>(key.mv_data), key.mv_size});
        }
        mdb_cursor_close(cursor);
        impl->committed.emplace(name, std::move(state));
      }
      lmdb::txn_commit(txn);
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
  } catch (const lmdb::error& e) {
    return status_of_errno(e.code(), "cannot open storage in " + o.dir.string() + " (" + e.what() + ")");
  }

  std::unique_ptr<Environment> environment(new Environment(std::move(impl)));
  EnvironmentImpl* raw = environment->impl_.get();
  if (raw->options.read_only) {
    raw->stopping = true;  // submit() answers at once; nothing is written
    return environment;
  }
  raw->completer = std::thread([raw] { raw->completer_loop(); });
  raw->writer = std::thread([raw] { raw->writer_loop(); });
  raw->writer_id = raw->writer.get_id();
  return environment;
}

Environment::Environment(std::unique_ptr<EnvironmentImpl> impl) : impl_(std::move(impl)) {}

Environment::~Environment() {
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  {
    std::lock_guard lock(impl_->completions_mutex);
    impl_->completer_stopping = true;
  }
  impl_->completions_cv.notify_all();
  if (impl_->completer.joinable()) impl_->completer.join();
}

const EnvironmentOptions& Environment::options() const { return impl_->options; }
Clock& Environment::clock() const { return *impl_->clock; }

MDB_dbi Environment::open_table(std::string_view name) {
  {
    std::lock_guard lock(impl_->tables_mutex);
    if (auto it = impl_->tables.find(name); it != impl_->tables.end()) return it->second;
  }
  assert(std::this_thread::get_id() != impl_->writer_id && "table() inside a unit would deadlock");
  if (impl_->options.read_only) {
    MDB_txn* txn = nullptr;
    check_lmdb(mdb_txn_begin(impl_->env, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin (read)");
    MDB_dbi dbi = 0;
    const int rc = mdb_dbi_open(txn, std::string(name).c_str(), 0, &dbi);
    if (rc != 0) {
      mdb_txn_abort(txn);
      throw std::runtime_error("table " + std::string(name) + " does not exist (read-only)");
    }
    check_lmdb(mdb_txn_commit(txn), "mdb_txn_commit (read)");
    std::lock_guard lock(impl_->tables_mutex);
    impl_->tables.emplace(std::string(name), dbi);
    return dbi;
  }
  if (name.starts_with("outbox:") || name == kMetaTable || name == kStreamsTable || name == kInboxTable ||
      name == kConsumersTable) {
    throw std::invalid_argument("table name '" + std::string(name) + "' is reserved by storage");
  }
  MDB_dbi dbi = 0;
  std::promise<Status> done;
  impl_->enqueue(Job{.unit = [&](WriteTxn& txn) -> Status {
                       lmdb::dbi_open(txn.handle(), std::string(name).c_str(), MDB_CREATE, &dbi);
                       return Status::ok();
                     },
                     .done = [&](Status status) { done.set_value(std::move(status)); },
                     .exclusive = true});
  const Status status = done.get_future().get();
  if (!status) throw std::runtime_error("cannot open table " + std::string(name) + ": " + status.to_string());
  std::lock_guard lock(impl_->tables_mutex);
  impl_->tables.emplace(std::string(name), dbi);
  return dbi;
}

Status Environment::declare_stream(std::string_view stream) {
  assert(std::this_thread::get_id() != impl_->writer_id && "declare_stream() inside a unit would deadlock");
  const protocol::StreamSpec* spec = protocol::Registry::instance().find_stream(stream);
  if (spec == nullptr) return {Code::kInvalidArgument, "unknown stream " + std::string(stream)};
  if (spec->producer != impl_->options.producer) {
    return {Code::kInvalidArgument, "stream " + std::string(stream) + " belongs to " +
                                        std::string(spec->producer) + ", not " + impl_->options.producer};
  }
  std::promise<Status> done;
  EnvironmentImpl* impl = impl_.get();
  impl_->enqueue(
      Job{.unit = [impl, stream = std::string(stream)](WriteTxn& txn) -> Status {
            if (txn.batch_.streams.contains(stream)) return Status::ok();
            StreamState state;
            lmdb::dbi_open(txn.handle(), outbox_table_name(stream).c_str(), MDB_CREATE, &state.dbi);
            if (auto record = impl->streams_table.get(txn.handle(), stream)) {
              state.epoch = record->epoch;  // the record survived, its table too
            } else {
              state.epoch = protocol::make_uuid(*impl->random);
              impl->streams_table.put(txn.handle(), stream, StreamRecord{state.epoch, impl->clock->now_us()});
            }
            txn.batch_.streams.emplace(stream, std::move(state));
            txn.batch_.declared.push_back(stream);
            return Status::ok();
          },
          .done = [&](Status status) { done.set_value(std::move(status)); },
          .exclusive = true});
  return done.get_future().get();
}

// [SECTION] the writer loop and group commit -----------------------------------

void EnvironmentImpl::enqueue(Job job) {
  {
    std::unique_lock lock(queue_mutex);
    if (!stopping) {
      queue.push_back(std::move(job));
      lock.unlock();
      queue_cv.notify_one();
      return;
    }
  }
  job.done(
      Status(Code::kUnavailable, options.read_only ? "storage is open read-only" : "storage is closing"));
}

void Environment::submit(Unit unit, Done done) {
  impl_->enqueue(Job{.unit = std::move(unit), .done = std::move(done)});
}

std::future<Status> Environment::submit(Unit unit) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  submit(std::move(unit), [promise](Status status) { promise->set_value(std::move(status)); });
  return future;
}

void EnvironmentImpl::writer_loop() {
  using SteadyClock = std::chrono::steady_clock;
  auto next_reader_check = SteadyClock::now() + options.reader_check_interval;
  std::vector<Job> jobs;
  for (;;) {
    jobs.clear();
    {
      std::unique_lock lock(queue_mutex);
      const bool woke = queue_cv.wait_for(lock, options.tick, [&] { return stopping || !queue.empty(); });
      if (queue.empty() && stopping) break;
      // An exclusive job runs alone; it also ends the batch before it.
      while (!queue.empty() && jobs.size() < options.max_batch) {
        if (queue.front().exclusive && !jobs.empty()) break;
        jobs.push_back(std::move(queue.front()));
        queue.pop_front();
        if (jobs.back().exclusive) break;
      }
      if (!woke && jobs.empty()) {
        // Idle: an empty batch moves the watermark on (only worth an fsync
        // when there are streams whose consumers wait on it).
        std::lock_guard state_lock(state_mutex);
        if (committed.empty()) continue;
      }
    }
    run_batch(jobs);
    if (SteadyClock::now() >= next_reader_check) {
      int dead = 0;
      mdb_reader_check(env, &dead);
      next_reader_check = SteadyClock::now() + options.reader_check_interval;
    }
  }
}

void EnvironmentImpl::run_batch(std::vector<Job>& jobs) {
  const bool exclusive = jobs.size() == 1 && jobs.front().exclusive;
  std::vector<Status> results(jobs.size());
  auto fail_all = [&](const Status& status) {
    std::fill(results.begin(), results.end(), status);
    complete(jobs, results);
  };

  const auto batch_start = std::chrono::steady_clock::now();
  MDB_txn* parent = nullptr;
  if (const int rc = mdb_txn_begin(env, nullptr, 0, &parent); rc != 0) {
    fail_all(status_of_errno(rc, "cannot begin a write transaction"));
    return;
  }
  WriteTxn::Batch batch;
  {
    std::lock_guard lock(state_mutex);
    batch.streams = committed;
    batch.floor = watermark;
  }
  batch.max_time = batch.floor;

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    batch.undo.clear();
    batch.declared.clear();
    MDB_txn* txn = parent;
    if (!exclusive) {
      if (const int rc = mdb_txn_begin(env, parent, 0, &txn); rc != 0) {
        results[i] = status_of_errno(rc, "cannot begin a nested transaction");
        continue;
      }
    }
    WriteTxn write(*this, batch, txn);
    Status status;
    try {
      status = jobs[i].unit(write);
    } catch (...) {
      status = status_of_exception();
    }
    if (!exclusive) {
      if (status) {
        if (const int rc = mdb_txn_commit(txn); rc != 0) status = status_of_errno(rc, "commit of a unit");
      } else {
        mdb_txn_abort(txn);
      }
    }
    if (!status) {
      // Roll the unit's sequence numbers back with its writes.
      for (auto it = batch.undo.rbegin(); it != batch.undo.rend(); ++it) {
        auto& state = batch.streams.find(std::get<0>(*it))->second;
        state.head_seq = std::get<1>(*it);
        state.first_seq = std::get<2>(*it);
      }
      for (const auto& stream : batch.declared) batch.streams.erase(stream);
      if (exclusive) {
        mdb_txn_abort(parent);
        results[i] = std::move(status);
        complete(jobs, results);
        return;
      }
    }
    results[i] = std::move(status);
    failpoint(kFailAfterUnit);
  }

  // The watermark of this batch, committed with it: every later event is
  // stamped at or above it, so events with time < watermark are all <= head.
  const std::int64_t new_watermark = std::max({clock->now_us(), batch.floor, batch.max_time});
  Status commit_status;
  try {
    meta.put(parent, kFloorKey, key_u64(static_cast<std::uint64_t>(new_watermark)));
  } catch (...) {
    commit_status = status_of_exception();
  }
  failpoint(kFailBeforeCommit);
  if (commit_status) {
    if (const int rc = mdb_txn_commit(parent); rc != 0) commit_status = status_of_errno(rc, "commit");
  } else {
    mdb_txn_abort(parent);
  }
  if (!commit_status) {
    fail_all(commit_status);
    return;
  }
  failpoint(kFailAfterCommit);

  CommitInfo info{.watermark = new_watermark,
                  .commit_seconds =
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_start).count()};
  {
    std::lock_guard lock(state_mutex);
    for (auto& [name, state] : batch.streams) committed[name] = state;
    watermark = new_watermark;
    info.heads.reserve(committed.size());
    for (const auto& [name, state] : committed) {
      info.heads.push_back({name, state.epoch, state.first_seq, state.head_seq, new_watermark});
    }
  }
  info.units = static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [](const Status& s) { return s.is_ok(); }));
  {
    std::lock_guard lock(observers_mutex);
    for (CommitObserver* observer : observers) observer->on_commit(info);
  }
  complete(jobs, results);
}

void EnvironmentImpl::complete(std::vector<Job>& jobs, std::vector<Status>& results) {
  // The units go before anyone learns of the commit (see completer_loop).
  for (auto& job : jobs) job.unit = nullptr;
  {
    std::lock_guard lock(completions_mutex);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      completions.emplace_back(std::move(jobs[i].done), std::move(results[i]));
    }
  }
  completions_cv.notify_one();
}

void EnvironmentImpl::completer_loop() {
  std::deque<std::pair<Environment::Done, Status>> ready;
  for (;;) {
    {
      std::unique_lock lock(completions_mutex);
      completions_cv.wait(lock, [&] { return completer_stopping || !completions.empty(); });
      if (completions.empty() && completer_stopping) return;
      ready.swap(completions);
    }
    // Each callback is destroyed right after it ran, before the next one
    // runs: a caller woken by a later completion (the host's barrier before
    // unloading a plugin) must find no earlier callback still alive.
    for (auto& [done, status] : ready) {
      done(std::move(status));
      done = nullptr;
    }
    ready.clear();
  }
}

// [SECTION] WriteTxn: publish, inbox ---------------------------------------------

std::int64_t WriteTxn::now_us() const {
  if (!now_) now_ = std::max(env_.clock->now_us(), batch_.floor);
  return *now_;
}

protocol::RandomSource& WriteTxn::random() const { return *env_.random; }

Result<protocol::Envelope> WriteTxn::publish(std::string_view stream, std::string_view name,
                                             std::uint32_t version, std::string payload,
                                             std::string_view trace_id, std::string_view event_id) {
  EnvironmentImpl& impl = env_;
  auto it = batch_.streams.find(stream);
  if (it == batch_.streams.end()) {
    return Status(Code::kInternal,
                  "stream " + std::string(stream) + " is not declared by " + impl.options.producer);
  }
  StreamState& state = it->second;
  protocol::Envelope envelope{
      .event_id = event_id.empty() ? protocol::make_uuid(*impl.random) : std::string(event_id),
      .name = std::string(name),
      .version = version,
      .producer = impl.options.producer,
      .stream = std::string(stream),
      .stream_epoch = state.epoch,
      .seq = state.head_seq + 1,
      .time_us = now_us(),
      .trace_id = std::string(trace_id),
      .payload = std::move(payload)};
  // Producers validate before appending: a bad event is a bug of ours,
  // refused before anyone can consume it.
  if (Status status = protocol::validate_event(envelope); !status) return status;
  if (!RawTable(state.dbi).put(txn_, key_u64(envelope.seq), protocol::encode_envelope(envelope),
                               MDB_APPEND)) {
    // The table already holds this sequence: our head is out of step with
    // the outbox. Refuse rather than publish with a gap or a duplicate.
    return Status(Code::kInternal, "outbox of " + std::string(stream) + " already holds sequence " +
                                       std::to_string(envelope.seq));
  }
  batch_.undo.emplace_back(std::string(stream), state.head_seq, state.first_seq);
  state.head_seq = envelope.seq;
  if (state.first_seq == 0) state.first_seq = envelope.seq;
  batch_.max_time = std::max(batch_.max_time, envelope.time_us);
  return envelope;
}

std::optional<Checkpoint> WriteTxn::checkpoint(std::string_view stream) const {
  return env_.inbox.get(txn_, stream);
}

Status WriteTxn::advance_checkpoint(std::string_view stream, std::string_view epoch, std::uint64_t seq) {
  const auto current = checkpoint(stream);
  // An empty epoch (after `ates events reset-consumer`) adopts the next one.
  if (current && !current->epoch.empty() && current->epoch != epoch) {
    return {Code::kConflict, "stream " + std::string(stream) + " changed epoch from " + current->epoch +
                                 " to " + std::string(epoch) +
                                 "; run `ates events reset-consumer` after checking why"};
  }
  if (current && seq <= current->applied_seq) {
    return {Code::kConflict, "stream " + std::string(stream) + " is already applied up to " +
                                 std::to_string(current->applied_seq) + ", not moving to " +
                                 std::to_string(seq)};
  }
  env_.inbox.put(txn_, stream, Checkpoint{std::string(epoch), seq});
  return Status::ok();
}

Status WriteTxn::nested(const std::function<Status(WriteTxn&)>& part) {
  MDB_txn* child = nullptr;
  if (const int rc = mdb_txn_begin(env_.env, txn_, 0, &child); rc != 0) {
    return status_of_errno(rc, "cannot begin a nested transaction");
  }
  const auto undo_size = batch_.undo.size();
  WriteTxn inner(env_, batch_, child);
  Status status;
  try {
    status = part(inner);
  } catch (...) {
    status = status_of_exception();
  }
  if (status) {
    if (const int rc = mdb_txn_commit(child); rc != 0)
      status = status_of_errno(rc, "commit of a nested part");
  } else {
    mdb_txn_abort(child);
  }
  if (!status) {
    while (batch_.undo.size() > undo_size) {
      const auto& [stream, head, first] = batch_.undo.back();
      auto& state = batch_.streams.find(stream)->second;
      state.head_seq = head;
      state.first_seq = first;
      batch_.undo.pop_back();
    }
  }
  return status;
}

void WriteTxn::reset_checkpoint(std::string_view stream, std::uint64_t seq) {
  env_.inbox.put(txn_, stream, Checkpoint{"", seq});
}

void WriteTxn::record_consumer_checkpoint(std::string_view stream, std::string_view consumer,
                                          std::uint64_t seq) {
  std::string key(stream);
  key += '\0';
  key += consumer;
  env_.consumers.put(txn_, key, key_u64(seq));
}

// [SECTION] reading -----------------------------------------------------------------

ReadTxn Environment::read() const {
  MDB_txn* txn = nullptr;
  check_lmdb(mdb_txn_begin(impl_->env, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin (read)");
  return ReadTxn(txn);
}

std::vector<StreamHead> Environment::heads() const {
  std::lock_guard lock(impl_->state_mutex);
  std::vector<StreamHead> out;
  for (const auto& [name, state] : impl_->committed) {
    out.push_back({name, state.epoch, state.first_seq, state.head_seq, impl_->watermark});
  }
  return out;
}

std::optional<StreamHead> Environment::head(std::string_view stream) const {
  std::lock_guard lock(impl_->state_mutex);
  const auto it = impl_->committed.find(stream);
  if (it == impl_->committed.end()) return std::nullopt;
  return StreamHead{it->first, it->second.epoch, it->second.first_seq, it->second.head_seq, impl_->watermark};
}

std::optional<StreamHead> Environment::head(const ReadTxn& txn, std::string_view stream) const {
  MDB_dbi dbi = 0;
  {
    std::lock_guard lock(impl_->state_mutex);
    const auto it = impl_->committed.find(stream);
    if (it == impl_->committed.end()) return std::nullopt;
    dbi = it->second.dbi;
  }
  const auto record = impl_->streams_table.get(txn.handle(), stream);
  if (!record) return std::nullopt;
  StreamHead head{std::string(stream), record->epoch, 0, 0, 0};
  if (auto floor = impl_->meta.get(txn.handle(), kFloorKey)) {
    head.watermark = static_cast<std::int64_t>(decode_key_u64(*floor));
  }
  RawTable(dbi).scan(txn.handle(), {}, [&](std::string_view key, std::string_view) {
    head.first_seq = decode_key_u64(key);
    return false;
  });
  MDB_cursor* cursor = nullptr;
  check_lmdb(mdb_cursor_open(txn.handle(), dbi, &cursor), "mdb_cursor_open");
  MDB_val key{}, value{};
  const int rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST);
  mdb_cursor_close(cursor);
  if (rc == 0) {
    head.head_seq = decode_key_u64({static_cast<const char*>(key.mv_data), key.mv_size});
  } else if (rc != MDB_NOTFOUND) {
    check_lmdb(rc, "mdb_cursor_get");
  }
  return head;
}

std::vector<std::string> Environment::read_outbox(const ReadTxn& txn, std::string_view stream,
                                                  std::uint64_t from_seq, std::size_t max) const {
  MDB_dbi dbi = 0;
  {
    std::lock_guard lock(impl_->state_mutex);
    const auto it = impl_->committed.find(stream);
    if (it == impl_->committed.end()) return {};
    dbi = it->second.dbi;
  }
  std::vector<std::string> out;
  if (max == 0) return out;
  RawTable(dbi).scan(txn.handle(), key_u64(from_seq), [&](std::string_view, std::string_view value) {
    out.emplace_back(value);
    return out.size() < max;
  });
  return out;
}

std::optional<Checkpoint> Environment::checkpoint(const ReadTxn& txn, std::string_view stream) const {
  return impl_->inbox.get(txn.handle(), stream);
}

void Environment::add_observer(CommitObserver* observer) {
  std::lock_guard lock(impl_->observers_mutex);
  impl_->observers.push_back(observer);
}

void Environment::remove_observer(CommitObserver* observer) {
  std::lock_guard lock(impl_->observers_mutex);
  std::erase(impl_->observers, observer);
}

// [SECTION] retention ---------------------------------------------------------------

Result<std::uint64_t> Environment::apply_retention() {
  if (!impl_->options.retention_keep_last) return std::uint64_t{0};
  // The newest entry always stays: after a restart the head is read back
  // from the outbox, so an emptied outbox would reuse sequence numbers.
  const std::uint64_t keep_last = std::max<std::uint64_t>(1, *impl_->options.retention_keep_last);
  EnvironmentImpl* impl = impl_.get();
  return run_for<std::uint64_t>([impl, keep_last](WriteTxn& txn) -> Result<std::uint64_t> {
    std::uint64_t deleted = 0;
    for (auto& [name, state] : txn.batch_.streams) {
      if (state.head_seq <= keep_last) continue;
      // The lowest checkpoint among the consumers we know of; none known
      // means nothing may go.
      std::optional<std::uint64_t> lowest;
      const std::string prefix = name + '\0';
      impl->consumers.scan(txn.handle(), prefix, [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        const std::uint64_t seq = decode_key_u64(value);
        lowest = lowest ? std::min(*lowest, seq) : seq;
        return true;
      });
      if (!lowest) continue;
      const std::uint64_t last_to_delete = std::min(*lowest, state.head_seq - keep_last);
      if (last_to_delete < state.first_seq) continue;
      txn.batch_.undo.emplace_back(name, state.head_seq, state.first_seq);
      RawTable outbox(state.dbi);
      for (std::uint64_t seq = state.first_seq; seq <= last_to_delete; ++seq) {
        if (outbox.erase(txn.handle(), key_u64(seq))) ++deleted;
      }
      state.first_seq = last_to_delete + 1;
    }
    return deleted;
  });
}

}  // namespace ates::storage
