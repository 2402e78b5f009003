// The bus's frames (docs/bus.md):
//   PUB event:      [stream][envelope]
//   PUB heartbeat:  [stream "\0hb"][Heartbeat]
//   FETCH request:  DEALER → ROUTER [FetchRequest]
//   FETCH reply:    ROUTER → DEALER [FetchReply][envelope]...  (seq = from, from+1, …)
// Control frames are MessagePack maps; envelopes are the outbox's bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace ates::bus::wire {

inline constexpr std::string_view kHeartbeatSuffix{"\0hb", 3};
// rpc on the replay ROUTER: a request is [kRpcRequest][service][call id][body]
// (the ROUTER adds the caller's identity first); the reply is
// [kRpcReply][call id][status code name or "ok"][body or error message].
inline constexpr std::string_view kRpcRequest{"\0rpc", 4};
inline constexpr std::string_view kRpcReply{"\0rpc-reply", 10};

struct Heartbeat {
  std::string epoch;
  std::uint64_t first_seq = 0;
  std::uint64_t head_seq = 0;
  std::int64_t watermark = 0;
  // No endpoint: where to FETCH a stream comes from the configuration
  // (its owner's replay=), never from a frame a peer sent.
  MSGPACK_DEFINE_MAP(epoch, first_seq, head_seq, watermark)
};

struct FetchRequest {
  std::string stream;
  std::uint64_t from = 1;
  std::uint64_t max = 1000;
  std::string consumer;  // who asks: the producer records its checkpoint for retention
  MSGPACK_DEFINE_MAP(stream, from, max, consumer)
};

// What a FETCH found. On the wire it is the string "ok", "truncated",
// "unknown" or "denied" (so peers of other builds read it); a reply with any other
// string does not unpack and is ignored.
enum class FetchStatus {
  kOk,         // the events from `from` follow
  kTruncated,  // `from` is below the stream's first kept seq: retention dropped it
  kUnknown,    // this host does not produce the stream (or not yet)
  kDenied,     // the caller's key may not read the stream
};

struct FetchReply {
  std::string stream;
  FetchStatus status = FetchStatus::kUnknown;
  std::string epoch;
  std::uint64_t from = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t head_seq = 0;
  std::int64_t watermark = 0;
  MSGPACK_DEFINE_MAP(stream, status, epoch, from, first_seq, head_seq, watermark)
};

template <class T>
std::string pack(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return {buffer.data(), buffer.size()};
}

// Control frames come from the network: malformed ones are ignored.
template <class T>
std::optional<T> unpack(std::string_view bytes) {
  try {
    const auto handle = msgpack::unpack(bytes.data(), bytes.size(), nullptr, nullptr,
                                        msgpack::unpack_limit(64, 64, 1 << 16, 1 << 16, 0, 4));
    return handle.get().as<T>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace ates::bus::wire

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <>
  struct convert<ates::bus::wire::FetchStatus> {
    const msgpack::object& operator()(const msgpack::object& object,
                                      ates::bus::wire::FetchStatus& status) const {
      using ates::bus::wire::FetchStatus;
      const auto text = object.as<std::string_view>();
      if (text == "ok") {
        status = FetchStatus::kOk;
      } else if (text == "truncated") {
        status = FetchStatus::kTruncated;
      } else if (text == "unknown") {
        status = FetchStatus::kUnknown;
      } else if (text == "denied") {
        status = FetchStatus::kDenied;
      } else {
        throw msgpack::type_error();
      }
      return object;
    }
  };

  template <>
  struct pack<ates::bus::wire::FetchStatus> {
    template <class Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& packer,
                                        ates::bus::wire::FetchStatus status) const {
      using ates::bus::wire::FetchStatus;
      switch (status) {
        case FetchStatus::kOk:
          return packer.pack(std::string_view("ok"));
        case FetchStatus::kTruncated:
          return packer.pack(std::string_view("truncated"));
        case FetchStatus::kDenied:
          return packer.pack(std::string_view("denied"));
        case FetchStatus::kUnknown:
          break;
      }
      return packer.pack(std::string_view("unknown"));
    }
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
