// Environment: LMDB set-up, tables and streams, reading and retention. The
// writer thread is in writer.cpp, WriteTxn in write_txn.cpp.
#include <cstdlib>

#include "environment_impl.hpp"

namespace ates::storage {

using base::Clock;

using detail::EnvironmentImpl;
using namespace detail;

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
      const MDB_dbi meta_dbi = open_dbi(kMetaTable);
      impl->meta = RawTable(meta_dbi);
      impl->streams_table = Table<StreamRecord>(open_dbi(kStreamsTable));
      impl->inbox = Table<Checkpoint>(open_dbi(kInboxTable));
      impl->consumers = RawTable(open_dbi(kConsumersTable));
      const detail::TxnView view(txn);
      const auto format = impl->meta.get(view, kFormatKey);
      const int found = format ? std::atoi(std::string(*format).c_str()) : 0;
      if (found > kStorageFormat || (format && found <= 0)) {
        mdb_txn_abort(txn);
        return Status(Code::kInvalidArgument,
                      "the storage in " + o.dir.string() + " has data format " + std::string(*format) +
                          "; this ates reads formats up to " + std::to_string(kStorageFormat) +
                          " (a newer ates wrote it): run that one, or restore a backup made by this one");
      }
      if (found < kStorageFormat && !o.read_only) {
        const std::string number = std::to_string(kStorageFormat);
        MDB_val key{kFormatKey.size(), const_cast<char*>(kFormatKey.data())};
        MDB_val value{number.size(), const_cast<char*>(number.data())};
        lmdb::dbi_put(txn, meta_dbi, &key, &value, 0);
      }
      if (auto floor = impl->meta.get(view, kFloorKey)) {
        impl->watermark = static_cast<std::int64_t>(decode_key_u64(*floor));
      }
      std::vector<std::pair<std::string, StreamRecord>> records;
      impl->streams_table.scan(view, {}, [&](std::string_view name, StreamRecord record) {
        records.emplace_back(std::string(name), std::move(record));
        return true;
      });
      for (auto& [name, record] : records) {
        StreamState state{.epoch = record.epoch, .dbi = open_dbi(outbox_table_name(name))};
        const RawTable outbox(state.dbi);
        outbox.scan(view, {}, [&](std::string_view key, std::string_view) {
          state.first_seq = decode_key_u64(key);
          return false;
        });
        if (const auto last = outbox.last(view)) state.head_seq = decode_key_u64(last->first);
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
  if (impl_->options.read_only) {
    // Nothing can be created: a stream declared by an earlier run passes,
    // so a plugin loaded read-only constructs as it does when it serves.
    const ReadTxn txn = read();
    if (impl_->streams_table.get(txn, stream)) return Status::ok();
    return {Code::kUnavailable,
            "stream " + std::string(stream) + " was never declared, and storage is read-only"};
  }
  std::promise<Status> done;
  EnvironmentImpl* impl = impl_.get();
  impl_->enqueue(
      Job{.unit = [impl, stream = std::string(stream)](WriteTxn& txn) -> Status {
            if (txn.batch_.streams.contains(stream)) return Status::ok();
            StreamState state;
            lmdb::dbi_open(txn.handle(), outbox_table_name(stream).c_str(), MDB_CREATE, &state.dbi);
            if (auto record = impl->streams_table.get(txn, stream)) {
              state.epoch = record->epoch;  // the record survived, its table too
            } else {
              state.epoch = protocol::make_uuid(*impl->random);
              impl->streams_table.put(txn, stream, StreamRecord{state.epoch, impl->clock->now_us()});
            }
            txn.batch_.streams.emplace(stream, std::move(state));
            txn.batch_.declared.push_back(stream);
            return Status::ok();
          },
          .done = [&](Status status) { done.set_value(std::move(status)); },
          .exclusive = true});
  return done.get_future().get();
}

// [SECTION] reading -----------------------------------------------------------------

ReadTxn Environment::read() const {
  MDB_txn* txn = nullptr;
  check_lmdb(mdb_txn_begin(impl_->env, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin (read)");
  return ReadTxn(txn);
}

Status Environment::copy_to(const std::filesystem::path& dir) const {
  const auto file = dir / "data.mdb";
  int rc = mdb_env_copy2(impl_->env, dir.c_str(), MDB_CP_COMPACT);
  if (rc != 0) {
    // Compaction walks every page; a copy of the file as it is needs less
    // (and LMDB's compacting copy has refused environments with many
    // tables before). What it left behind goes first: the copy will not
    // overwrite a file.
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    rc = mdb_env_copy2(impl_->env, dir.c_str(), 0);
  }
  if (rc != 0)
    return status_of_errno(rc, "cannot copy storage to " + dir.string() + " (" + mdb_strerror(rc) + ")");
  if (::chmod(file.c_str(), 0600) != 0) {
    return Status(Code::kInternal, "cannot make " + file.string() + " private: " + std::strerror(errno));
  }
  return Status::ok();
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
  const auto record = impl_->streams_table.get(txn, stream);
  if (!record) return std::nullopt;
  StreamHead head{std::string(stream), record->epoch, 0, 0, 0};
  if (auto floor = impl_->meta.get(txn, kFloorKey)) {
    head.watermark = static_cast<std::int64_t>(decode_key_u64(*floor));
  }
  const RawTable outbox(dbi);
  outbox.scan(txn, {}, [&](std::string_view key, std::string_view) {
    head.first_seq = decode_key_u64(key);
    return false;
  });
  if (const auto last = outbox.last(txn)) head.head_seq = decode_key_u64(last->first);
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
  RawTable(dbi).scan(txn, key_u64(from_seq), [&](std::string_view, std::string_view value) {
    out.emplace_back(value);
    return out.size() < max;
  });
  return out;
}

std::optional<Checkpoint> Environment::checkpoint(const ReadTxn& txn, std::string_view stream) const {
  return impl_->inbox.get(txn, stream);
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
      impl->consumers.scan(txn, prefix, [&](std::string_view key, std::string_view value) {
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
        if (outbox.erase(txn, key_u64(seq))) ++deleted;
      }
      state.first_seq = last_to_delete + 1;
    }
    return deleted;
  });
}

}  // namespace ates::storage
