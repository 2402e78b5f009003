// The envelope every event travels in, and its MessagePack codec.
//
// An envelope is a MessagePack map with the fields below; `payload` holds
// the MessagePack map of the typed event (see events.hpp), validated against
// the registry. Decoding never trusts its input: malformed bytes, a missing
// or mistyped field, or an unknown (name, version) come back as a Status
// with a reason, never as a crash or an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ates/base/status.hpp"

namespace ates::protocol {

// The largest encoded envelope a producer may append, and so the largest
// event frame the bus carries: every bus socket refuses bigger messages
// (ZMQ_MAXMSGSIZE), so a peer cannot make a host buffer more.
inline constexpr std::size_t kMaxEnvelopeBytes = std::size_t{1} << 20;

struct Envelope {
  std::string event_id;  // UUID, unique per event
  std::string name;      // e.g. "TaskAssigned"
  std::uint32_t version = 1;
  std::string producer;      // the plugin that owns `stream`
  std::string stream;        // e.g. "tracker.tasks"
  std::string stream_epoch;  // UUID made when the stream was created
  std::uint64_t seq = 0;     // gapless per stream, from 1
  std::int64_t time_us = 0;  // UTC µs, stamped by the producer's writer
  std::string trace_id;      // ties the event to the request that caused it
  std::string payload;       // MessagePack map of the typed event

  bool operator==(const Envelope&) const = default;
};

std::string encode_envelope(const Envelope& envelope);

// Checks the envelope's own structure (fields, types, UUIDs), not the
// payload: see validate_event.
base::Result<Envelope> decode_envelope(std::string_view bytes);

// Checks that (name, version) is registered on `stream` with that producer
// and that the payload satisfies its schema.
base::Status validate_event(const Envelope& envelope);

// decode_envelope followed by validate_event: what a consumer runs on
// every message it receives.
base::Result<Envelope> decode_event(std::string_view bytes);

}  // namespace ates::protocol
