#include "ates/base/random.hpp"

namespace ates::base {

void SeededRandom::fill(std::span<std::uint8_t> out) {
  for (auto& byte : out) byte = static_cast<std::uint8_t>(engine_());
}

}  // namespace ates::base
