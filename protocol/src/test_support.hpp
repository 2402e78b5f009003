// Helpers shared by the protocol's unit tests.
#pragma once

#include <tuple>

#include "ates/protocol/envelope.hpp"
#include "ates/protocol/events.hpp"

namespace ates::protocol::test {

// Every typed event; registry_test checks this list and the registry match.
using AllEvents =
    std::tuple<UserCreated, UserUpdated, UserRoleChanged, UserDeactivated, SigningKeyAdded, TokensRevoked,
               TokenRevoked, SigningKeyRetired, TaskCreatedV1, TaskCreated, TaskUpdated, TaskAssigned,
               TaskCompleted, DayZoneSet, TaskPriced, TransactionApplied, PayoutMade, DayClosed>;

template <class Event>
Envelope envelope_of(const Event& event, std::uint64_t seq = 1) {
  const StreamSpec* stream = Registry::instance().find_stream(Event::kStream);
  return Envelope{.event_id = "7d444840-9dc0-41e5-8a1c-5b0d8e5a1f00",
                  .name = std::string(Event::kName),
                  .version = Event::kVersion,
                  .producer = std::string(stream->producer),
                  .stream = std::string(Event::kStream),
                  .stream_epoch = "0b7e1c55-2f5c-4a7e-9d64-3c1c2a9b8e11",
                  .seq = seq,
                  .time_us = 1772528400000000,
                  .trace_id = "trace-1",
                  .payload = encode_payload(event)};
}

}  // namespace ates::protocol::test
