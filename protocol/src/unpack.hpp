// Unpacking untrusted MessagePack: limits, and no exception escapes.
#pragma once

#include <string_view>

#include <msgpack.hpp>

#include "ates/base/status.hpp"

namespace ates::protocol::detail {

// Bounds on what one message may declare, so a few hostile bytes claiming a
// four-billion-element array cannot make the decoder allocate for it.
inline msgpack::unpack_limit untrusted_limits() {
  return msgpack::unpack_limit(/*array=*/4096, /*map=*/256, /*str=*/1 << 20,
                               /*bin=*/1 << 20, /*ext=*/0, /*depth=*/16);
}

// Unpacks exactly one object spanning all of `bytes` into `out`.
inline base::Status unpack_untrusted(std::string_view bytes, msgpack::object_handle& out) {
  try {
    std::size_t offset = 0;
    out = msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, untrusted_limits());
    if (offset != bytes.size()) {
      return base::invalid_argument("trailing bytes after the MessagePack object");
    }
    return base::Status::ok();
  } catch (const msgpack::insufficient_bytes&) {
    return base::invalid_argument("truncated MessagePack");
  } catch (const std::exception& e) {
    return base::invalid_argument(std::string("malformed MessagePack: ") + e.what());
  }
}

}  // namespace ates::protocol::detail
