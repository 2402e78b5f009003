// Times as ates writes them: RFC 3339 in UTC, to the second
// ("2026-03-03T09:00:00Z"), from UTC microseconds since the epoch.
#pragma once

#include <cstdint>
#include <string>

namespace ates::protocol {

std::string format_utc(std::int64_t micros);

}  // namespace ates::protocol
