// The payload of an event: any MSGPACK_DEFINE_MAP struct packed as a
// MessagePack map, and back. Generic over the event type, so storage (which
// packs what a plugin publishes) needs only this, not the typed catalog in
// events.hpp.
#pragma once

#include <functional>
#include <string>

#include <msgpack.hpp>

#include "ates/base/status.hpp"
#include "ates/protocol/envelope.hpp"

namespace ates::protocol {

template <class Event>
std::string encode_payload(const Event& event) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, event);
  return {buffer.data(), buffer.size()};
}

namespace detail {
// Validates the envelope's payload against the schema of its (name,
// version), then hands the unpacked map to `convert`; a conversion error
// becomes a Status too.
base::Status unpack_validated(const Envelope& envelope,
                              const std::function<void(const msgpack::object&)>& convert);
}  // namespace detail

// The typed event of an envelope: checks that name and version are Event's,
// validates the payload against the registry, then converts it.
template <class Event>
base::Result<Event> decode_payload(const Envelope& envelope) {
  if (envelope.name != Event::kName || envelope.version != Event::kVersion) {
    return base::invalid_argument("expected " + std::string(Event::kName) + " v" +
                                  std::to_string(Event::kVersion) + ", got " + envelope.name + " v" +
                                  std::to_string(envelope.version));
  }
  Event event;
  const base::Status status =
      detail::unpack_validated(envelope, [&](const msgpack::object& object) { object.convert(event); });
  if (!status) return status;
  return event;
}

}  // namespace ates::protocol
