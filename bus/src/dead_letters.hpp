// The dead letters a consumer keeps in its own environment (table
// "dead_letters", keyed by a number that only grows): an event its handler
// refused, or a frame too broken to place in the stream, with the reason
// and the bytes as received. Written in the transaction that moves the
// consumer past the event, so a dead letter and the skip are one commit.
#pragma once

#include <cstdint>
#include <string>

#include <msgpack.hpp>

#include "ates/bus/bus.hpp"

namespace ates::bus {

struct DeadLetterRecord {
  std::string consumer;
  std::string stream;
  std::uint64_t seq = 0;  // 0: an undecodable frame, no place in the stream
  std::string reason;
  std::int64_t time_us = 0;
  std::int64_t event_time_us = 0;
  std::string envelope;  // the bytes as received
  bool resolved = false;
  MSGPACK_DEFINE(consumer, stream, seq, reason, time_us, event_time_us, envelope, resolved)
};

inline constexpr std::string_view kDeadLetterTable = "dead_letters";

// Errors that are the event's fault (a dead letter) rather than ours (the
// consumer stalls and retries): invalid_argument, not_found, conflict,
// permission_denied.
bool is_domain_error(const Status& status);

// Stores `record` under the next number, stamped with the transaction's time.
void add_dead_letter(storage::WriteTxn& txn, const storage::Table<DeadLetterRecord>& table,
                     DeadLetterRecord record);

// The public form; its id is "<consumer>-<number>".
DeadLetter to_dead_letter(std::uint64_t number, const DeadLetterRecord& record);

}  // namespace ates::bus
