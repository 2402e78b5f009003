// Calendar days in an IANA time zone, resolved with the system's tz
// database (Debian's tzdata) through Howard Hinnant's date library. Days are
// "YYYY-MM-DD" strings, which sort as the days do.
//
// Accounting counts its days in `accounting.day_zone` (an entry's day is the
// day of its occurred_at there) and publishes the zone on its stream
// (DayZoneSet); analytics takes it from there, so both say the same "today".
// A module of its own, beside protocol and not in it: protocol also builds
// with emscripten, which has no tz database.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ates/base/status.hpp"

namespace date {
class time_zone;
}

namespace ates::days {

class DayZone {
 public:
  // "UTC" or any zone of the tz database; an unknown name is an error.
  static base::Result<DayZone> locate(const std::string& name);

  const std::string& name() const { return name_; }
  // The day of a UTC instant (µs since the epoch).
  std::string day_of(std::int64_t time_us) const;
  // The first µs of a day, and the first µs of the next one (its end). A
  // midnight that a clock change skips starts the day at the change.
  std::int64_t start_of(std::string_view day) const;
  std::int64_t end_of(std::string_view day) const { return start_of(next_day(day)); }

  static bool is_day(std::string_view text);  // a real YYYY-MM-DD date
  static std::string next_day(std::string_view day);
  static std::string previous_day(std::string_view day);

 private:
  DayZone(std::string name, const date::time_zone* zone) : name_(std::move(name)), zone_(zone) {}
  std::string name_;
  const date::time_zone* zone_;  // owned by the tz database, which lives for the process
};

}  // namespace ates::days
