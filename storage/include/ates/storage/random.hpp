// The production source of randomness: libsodium's CSPRNG. Thread-safe.
#pragma once

#include "ates/protocol/uuid.hpp"

namespace ates::storage {

class SystemRandom final : public base::RandomSource {
 public:
  SystemRandom();  // initialises libsodium; throws if it cannot
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace ates::storage
