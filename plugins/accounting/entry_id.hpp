// Ledger ids derived from their cause: an entry's id is a hash of the id of
// the event that caused it and its kind, a payout's of its user and day.
// Header-only because `ates audit` recomputes them to match entries with the
// events they answer.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace ates::accounting {

// A UUID-shaped id from `parts` (unkeyed BLAKE2b, 16 bytes; version nibble 8,
// "custom", so it is never mistaken for a random v4).
inline std::string derived_id(std::initializer_list<std::string_view> parts) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 16);
  for (std::string_view part : parts) {
    crypto_generichash_update(&state, reinterpret_cast<const std::uint8_t*>(part.data()), part.size());
    const std::uint8_t separator = 0;
    crypto_generichash_update(&state, &separator, 1);
  }
  std::uint8_t bytes[16];
  crypto_generichash_final(&state, bytes, sizeof bytes);
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x80);  // version 8
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

inline std::string fee_id(std::string_view event_id) { return derived_id({event_id, "fee"}); }
inline std::string reward_id(std::string_view event_id) { return derived_id({event_id, "reward"}); }

}  // namespace ates::accounting
