// The messages of the two-phase charge between tracker and accounting (rpc
// mode, docs/tracker.md), sent over the bus's request/reply as MessagePack.
// They are not events: nothing of them is kept in a stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "ates/base/status.hpp"

namespace ates::protocol {

inline constexpr std::string_view kPrepareService = "accounting.prepare";
inline constexpr std::string_view kDecideService = "accounting.decide";

// One money movement the tracker is about to cause, named by the id of the
// event that will carry it (TaskAssigned: a fee; TaskCompleted: a reward).
struct Charge {
  std::string event_id;
  std::string kind;  // "fee" | "reward"
  std::string task_id;
  std::string user_id;
  bool operator==(const Charge&) const = default;
  MSGPACK_DEFINE_MAP(event_id, kind, task_id, user_id)
};

struct PrepareCharges {
  std::string op_id;
  std::vector<Charge> charges;
  std::int64_t deadline_us = 0;  // business time: no event of the op is stamped at or after it
  MSGPACK_DEFINE_MAP(op_id, charges, deadline_us)
};

struct ChargeDecision {
  std::string op_id;
  std::string decision;                // "commit" | "abort"
  std::vector<std::string> committed;  // commit: the event ids actually published (a shuffle may skip some)
  std::int64_t time_us = 0;            // commit: the events' time
  MSGPACK_DEFINE_MAP(op_id, decision, committed, time_us)
};

template <class Message>
std::string pack_message(const Message& message) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, message);
  return {buffer.data(), buffer.size()};
}

// The most charges one PrepareCharges may carry: a shuffle's batch (the
// tracker's shuffle_batch is capped at it), and with ~180 bytes a charge,
// well inside the bus's largest message.
inline constexpr std::size_t kMaxChargesPerMessage = 4096;

// Unpacks a charge message from another host with limits on what it may
// declare (element counts, string sizes, depth), so a few hostile bytes
// cannot make accounting allocate for a four-billion-element array.
template <class Message>
base::Result<Message> unpack_message(std::string_view bytes) {
  try {
    const msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), nullptr, nullptr,
                        msgpack::unpack_limit(/*array=*/kMaxChargesPerMessage, /*map=*/16, /*str=*/256,
                                              /*bin=*/0, /*ext=*/0, /*depth=*/4));
    return handle.get().as<Message>();
  } catch (const std::exception& e) {
    return base::invalid_argument(std::string("malformed charge message: ") + e.what());
  }
}

}  // namespace ates::protocol
