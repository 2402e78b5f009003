// UUIDs as their canonical 36-character text, and the injectable source of
// randomness they are made from.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>

namespace ates::protocol {

// Where random bytes come from. Production passes a cryptographic source
// (libsodium, in storage); tests pass SeededRandom so runs repeat.
// Implementations must be safe to call from any thread.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// A deterministic source for tests. Not thread-safe: give each thread its own.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::mt19937_64 engine_;
};

// A version-4 UUID, lower-case canonical text.
std::string make_uuid(RandomSource& random);

// True for the canonical 8-4-4-4-12 lower- or upper-case hex text.
bool is_uuid(std::string_view text);

}  // namespace ates::protocol
