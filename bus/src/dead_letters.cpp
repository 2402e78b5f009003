#include "dead_letters.hpp"

#include <cstdint>

namespace ates::bus {

using base::Code;

// Errors that are the event's fault (dead letter) rather than ours (stall).
bool is_domain_error(const Status& status) {
  switch (status.code()) {
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kConflict:
    case Code::kPermissionDenied:
      return true;
    default:
      return false;
  }
}

namespace {

std::uint64_t next_dead_letter_number(const storage::Txn& txn, const storage::RawTable& table) {
  const auto last = table.last(txn);
  return last ? storage::decode_key_u64(last->first) + 1 : 1;
}

}  // namespace

void add_dead_letter(storage::WriteTxn& txn, const storage::Table<DeadLetterRecord>& table,
                     DeadLetterRecord record) {
  record.time_us = txn.now_us();
  table.put(txn, storage::key_u64(next_dead_letter_number(txn, table.raw())), record);
}

DeadLetter to_dead_letter(std::uint64_t number, const DeadLetterRecord& r) {
  return {r.consumer + "-" + std::to_string(number),
          r.consumer,
          r.stream,
          r.seq,
          r.reason,
          r.time_us,
          r.event_time_us,
          r.resolved};
}

std::vector<DeadLetter> dead_letters(storage::Environment& env, std::string_view consumer) {
  auto table = env.table<DeadLetterRecord>(kDeadLetterTable);
  storage::ReadTxn txn = env.read();
  std::vector<DeadLetter> out;
  table.scan(txn, {}, [&](std::string_view key, const DeadLetterRecord& record) {
    if (consumer.empty() || record.consumer == consumer)
      out.push_back(to_dead_letter(storage::decode_key_u64(key), record));
    return true;
  });
  return out;
}

std::vector<DeadLetter> dead_letters(storage::Environment& env, std::string_view consumer,
                                     std::uint64_t after, std::size_t limit) {
  std::vector<DeadLetter> out;
  if (after == UINT64_MAX || limit == 0) return out;
  auto table = env.table<DeadLetterRecord>(kDeadLetterTable);
  storage::ReadTxn txn = env.read();
  table.scan(txn, storage::key_u64(after + 1), [&](std::string_view key, const DeadLetterRecord& record) {
    if (consumer.empty() || record.consumer == consumer)
      out.push_back(to_dead_letter(storage::decode_key_u64(key), record));
    return out.size() < limit;
  });
  return out;
}

Status reset_consumer(storage::Environment& env, std::string_view stream, std::uint64_t applied_seq) {
  return env.run([&](storage::WriteTxn& txn) {
    txn.reset_checkpoint(stream, applied_seq);
    return Status::ok();
  });
}

}  // namespace ates::bus
