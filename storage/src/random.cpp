#include "ates/storage/random.hpp"

#include <sodium.h>

#include <stdexcept>

namespace ates::storage {

SystemRandom::SystemRandom() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

void SystemRandom::fill(std::span<std::uint8_t> out) { randombytes_buf(out.data(), out.size()); }

}  // namespace ates::storage
