// Task prices as a keyed hash of the task id, so every mode,
// replay and rebuild gives the same price without storing a random draw:
//   fee    = 1000 + 100 × (H(k, task_id ‖ "fee")    mod 11)  cents (10..20 dollars)
//   reward = 2000 + 100 × (H(k, task_id ‖ "reward") mod 21)  cents (20..40 dollars)
// H is libsodium's keyed crypto_generichash (BLAKE2b), read as a
// little-endian u64. k is a 32-byte secret made at accounting's first start,
// so nobody outside can predict which tasks pay well.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace ates::accounting {

struct Price {
  std::int64_t fee_cents = 0;
  std::int64_t reward_cents = 0;
};

class Prices {
 public:
  static constexpr std::size_t kKeySize = 32;
  using Key = std::array<std::uint8_t, kKeySize>;

  explicit Prices(const Key& key) : key_(key) {}
  Price of(std::string_view task_id) const;

 private:
  std::uint64_t hash(std::string_view task_id, std::string_view purpose) const;
  Key key_;
};

}  // namespace ates::accounting
