// WriteTxn, the transaction a unit runs in: publishing to the outbox (with
// gapless sequences, the stream's epoch and the batch's time) and the
// inbox's checkpoints, which make a consumer's apply exactly-once.
#include "environment_impl.hpp"

namespace ates::storage {

using namespace detail;

// [SECTION] WriteTxn: publish, inbox ---------------------------------------------

std::int64_t WriteTxn::now_us() const {
  if (!now_) now_ = std::max(env_.clock->now_us(), batch_.floor);
  return *now_;
}

base::RandomSource& WriteTxn::random() const { return *env_.random; }

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
  std::string bytes = protocol::encode_envelope(envelope);
  if (bytes.size() > protocol::kMaxEnvelopeBytes) {
    return base::invalid_argument(std::string(name) + " of " + std::to_string(bytes.size()) +
                                  " bytes is larger than an event may be (" +
                                  std::to_string(protocol::kMaxEnvelopeBytes) + ")");
  }
  if (!RawTable(state.dbi).put(*this, key_u64(envelope.seq), bytes, Put::kAppend)) {
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
  return env_.inbox.get(*this, stream);
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
  env_.inbox.put(*this, stream, Checkpoint{std::string(epoch), seq});
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
  env_.inbox.put(*this, stream, Checkpoint{"", seq});
}

void WriteTxn::record_consumer_checkpoint(std::string_view stream, std::string_view consumer,
                                          std::uint64_t seq) {
  std::string key(stream);
  key += '\0';
  key += consumer;
  env_.consumers.put(*this, key, key_u64(seq));
}

}  // namespace ates::storage
