// UUIDs as their canonical 36-character text.
#pragma once

#include <string>
#include <string_view>

#include "ates/base/random.hpp"

namespace ates::protocol {

// A version-4 UUID, lower-case canonical text.
std::string make_uuid(base::RandomSource& random);

// True for the canonical 8-4-4-4-12 lower- or upper-case hex text.
bool is_uuid(std::string_view text);

}  // namespace ates::protocol
