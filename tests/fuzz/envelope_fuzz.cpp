// Fuzzes what a consumer does with bytes from the bus: decode the envelope,
// validate it against the registry, upcast it. No input may crash, hang or
// leak; whatever decodes must encode back to bytes that decode the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ates/protocol/envelope.hpp"
#include "ates/protocol/upcast.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ates::protocol;
  using ates::base::Result;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<Envelope> envelope = decode_envelope(bytes);
  if (!envelope) return 0;
  const Result<Envelope> again = decode_envelope(encode_envelope(*envelope));
  if (!again || !(*again == *envelope)) std::abort();
  if (!validate_event(*envelope)) return 0;
  const Result<Envelope> latest = upcast(std::move(envelope).value());
  if (latest && !validate_event(*latest)) std::abort();  // an upcast must stay valid
  return 0;
}
