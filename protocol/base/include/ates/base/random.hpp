// The injectable source of randomness. Production passes a cryptographic
// source (storage's SystemRandom, over libsodium, which stays out of this
// library so it builds for the browser); tests pass SeededRandom so runs
// repeat.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace ates::base {

// Where random bytes come from. Implementations must be safe to call from
// any thread.
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

}  // namespace ates::base
