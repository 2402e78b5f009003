// CalendarDay: a date of the proleptic Gregorian calendar between
// 1970-01-01 and 9999-12-31, kept as a count of days since 1970-01-01.
//
// Days reach ates from clients ("from=9999-12-31"), from configuration and
// from the UI. Parsed into this type at the edge, a day can only lie in the
// range, and walking from one day to another is integer arithmetic: no loop
// compares "10000-01-01" with "9999-12-31" as strings (which sorts before
// it) and runs on without end. A value type; thread-safe as any int.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ates::protocol {

class CalendarDay {
 public:
  static constexpr int kFirstYear = 1970;
  static constexpr int kLastYear = 9999;

  static CalendarDay first();  // 1970-01-01
  static CalendarDay last();   // 9999-12-31

  // Strictly "YYYY-MM-DD", a real date, within [first(), last()]; nothing
  // else (no signs, spaces, times, other lengths).
  static std::optional<CalendarDay> parse(std::string_view text);
  // The day `count` days after 1970-01-01; nothing outside the range.
  static std::optional<CalendarDay> from_days(std::int64_t count);

  std::int32_t days_since_epoch() const { return days_; }
  std::string to_string() const;  // "YYYY-MM-DD"

  // The day `n` days later (or earlier, for a negative n); nothing when
  // that leaves the range.
  std::optional<CalendarDay> plus(std::int64_t n) const { return from_days(std::int64_t{days_} + n); }

  // clang-tidy 14 takes the defaulted comparison for a literal 0.
  auto operator<=>(const CalendarDay&) const = default;  // NOLINT(modernize-use-nullptr)

 private:
  explicit CalendarDay(std::int32_t days) : days_(days) {}
  std::int32_t days_ = 0;
};

// Days from `from` to `to`, both counted: 1 for the same day; 0 or less
// when `to` is before `from`.
inline std::int64_t days_inclusive(CalendarDay from, CalendarDay to) {
  return std::int64_t{to.days_since_epoch()} - from.days_since_epoch() + 1;
}

}  // namespace ates::protocol
