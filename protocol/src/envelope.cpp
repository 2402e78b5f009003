#include "ates/protocol/envelope.hpp"

#include <msgpack.hpp>

#include "ates/protocol/registry.hpp"
#include "ates/protocol/uuid.hpp"

#include "unpack.hpp"

namespace ates::protocol {

using base::invalid_argument;
using base::Result;
using base::Status;

namespace {

constexpr std::uint32_t kEnvelopeFields = 10;

void pack_str(msgpack::packer<msgpack::sbuffer>& packer, std::string_view key, std::string_view value) {
  packer.pack(key);
  packer.pack(value);
}

// Reads one envelope field into `envelope`; an unknown key, a repeated key or
// a value of the wrong type is an error.
Status read_field(std::string_view key, const msgpack::object& value, Envelope& envelope,
                  std::uint32_t& seen_mask) {
  using msgpack::type::object_type;
  struct StringField {
    std::string_view key;
    std::string Envelope::*member;
    std::uint32_t bit;
  };
  static constexpr StringField kStrings[] = {
      {"event_id", &Envelope::event_id, 1u << 0},         {"name", &Envelope::name, 1u << 1},
      {"producer", &Envelope::producer, 1u << 3},         {"stream", &Envelope::stream, 1u << 4},
      {"stream_epoch", &Envelope::stream_epoch, 1u << 5}, {"trace_id", &Envelope::trace_id, 1u << 8},
  };
  auto mark = [&](std::uint32_t bit) -> Status {
    if (seen_mask & bit) return invalid_argument("envelope field '" + std::string(key) + "' appears twice");
    seen_mask |= bit;
    return Status::ok();
  };
  for (const auto& field : kStrings) {
    if (key != field.key) continue;
    if (value.type != object_type::STR) {
      return invalid_argument("envelope field '" + std::string(key) + "' must be a string");
    }
    if (Status s = mark(field.bit); !s) return s;
    envelope.*field.member = std::string(value.via.str.ptr, value.via.str.size);
    return Status::ok();
  }
  if (key == "version" || key == "seq") {
    if (value.type != object_type::POSITIVE_INTEGER) {
      return invalid_argument("envelope field '" + std::string(key) + "' must be a positive integer");
    }
    if (key == "version") {
      if (value.via.u64 > UINT32_MAX) return invalid_argument("envelope field 'version' is out of range");
      if (Status s = mark(1u << 2); !s) return s;
      envelope.version = static_cast<std::uint32_t>(value.via.u64);
    } else {
      if (Status s = mark(1u << 6); !s) return s;
      envelope.seq = value.via.u64;
    }
    return Status::ok();
  }
  if (key == "time") {
    if (value.type != object_type::POSITIVE_INTEGER ||
        value.via.u64 > static_cast<std::uint64_t>(INT64_MAX)) {
      return invalid_argument("envelope field 'time' must be a non-negative integer");
    }
    if (Status s = mark(1u << 7); !s) return s;
    envelope.time_us = static_cast<std::int64_t>(value.via.u64);
    return Status::ok();
  }
  if (key == "payload") {
    if (value.type != object_type::BIN) return invalid_argument("envelope field 'payload' must be binary");
    if (Status s = mark(1u << 9); !s) return s;
    envelope.payload = std::string(value.via.bin.ptr, value.via.bin.size);
    return Status::ok();
  }
  return invalid_argument("unknown envelope field '" + std::string(key) + "'");
}

constexpr std::string_view kFieldNames[kEnvelopeFields] = {"event_id", "name",         "version", "producer",
                                                           "stream",   "stream_epoch", "seq",     "time",
                                                           "trace_id", "payload"};

}  // namespace

std::string encode_envelope(const Envelope& e) {
  msgpack::sbuffer buffer(128 + e.payload.size());
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(kEnvelopeFields);
  pack_str(packer, "event_id", e.event_id);
  pack_str(packer, "name", e.name);
  packer.pack(std::string_view("version"));
  packer.pack(e.version);
  pack_str(packer, "producer", e.producer);
  pack_str(packer, "stream", e.stream);
  pack_str(packer, "stream_epoch", e.stream_epoch);
  packer.pack(std::string_view("seq"));
  packer.pack(e.seq);
  packer.pack(std::string_view("time"));
  packer.pack(static_cast<std::uint64_t>(e.time_us < 0 ? 0 : e.time_us));
  pack_str(packer, "trace_id", e.trace_id);
  packer.pack(std::string_view("payload"));
  packer.pack_bin(static_cast<std::uint32_t>(e.payload.size()));
  packer.pack_bin_body(e.payload.data(), static_cast<std::uint32_t>(e.payload.size()));
  return {buffer.data(), buffer.size()};
}

Result<Envelope> decode_envelope(std::string_view bytes) {
  msgpack::object_handle handle;
  if (Status status = detail::unpack_untrusted(bytes, handle); !status) return status;
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::MAP) return invalid_argument("envelope must be a map");
  Envelope envelope;
  std::uint32_t seen = 0;
  for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
    const auto& kv = root.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return invalid_argument("envelope keys must be strings");
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    if (Status status = read_field(key, kv.val, envelope, seen); !status) return status;
  }
  for (std::uint32_t i = 0; i < kEnvelopeFields; ++i) {
    if (!(seen & (1u << i))) {
      return invalid_argument("envelope field '" + std::string(kFieldNames[i]) + "' is missing");
    }
  }
  if (!is_uuid(envelope.event_id)) return invalid_argument("envelope field 'event_id' is not a UUID");
  if (!is_uuid(envelope.stream_epoch)) return invalid_argument("envelope field 'stream_epoch' is not a UUID");
  if (envelope.seq == 0) return invalid_argument("envelope field 'seq' must be at least 1");
  if (envelope.version == 0) return invalid_argument("envelope field 'version' must be at least 1");
  return envelope;
}

Status validate_event(const Envelope& envelope) {
  const Registry& registry = Registry::instance();
  const EventSchema* schema = registry.find(envelope.name, envelope.version);
  if (schema == nullptr) {
    return invalid_argument("unknown event " + envelope.name + " v" + std::to_string(envelope.version));
  }
  if (schema->stream != envelope.stream) {
    return invalid_argument(envelope.name + " belongs on " + std::string(schema->stream) + ", not on " +
                            envelope.stream);
  }
  const StreamSpec* stream = registry.find_stream(envelope.stream);
  if (stream == nullptr || stream->producer != envelope.producer) {
    return invalid_argument("producer '" + envelope.producer + "' does not own stream " + envelope.stream);
  }
  return Registry::validate(*schema, envelope.payload);
}

Result<Envelope> decode_event(std::string_view bytes) {
  Result<Envelope> envelope = decode_envelope(bytes);
  if (!envelope) return envelope;
  if (Status status = validate_event(*envelope); !status) return status;
  return envelope;
}

}  // namespace ates::protocol
