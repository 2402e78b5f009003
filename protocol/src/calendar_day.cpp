#include "ates/protocol/calendar_day.hpp"

#include <cstdio>

namespace ates::protocol {

namespace {

// Howard Hinnant's days_from_civil and civil_from_days
// (http://howardhinnant.github.io/date_algorithms.html), for the years the
// range allows.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

bool is_leap(std::int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned days_in_month(std::int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
}

const std::int64_t kLastDays = days_from_civil(CalendarDay::kLastYear, 12, 31);

}  // namespace

CalendarDay CalendarDay::first() { return CalendarDay(0); }
CalendarDay CalendarDay::last() { return CalendarDay(static_cast<std::int32_t>(kLastDays)); }

std::optional<CalendarDay> CalendarDay::from_days(std::int64_t count) {
  if (count < 0 || count > kLastDays) return std::nullopt;
  return CalendarDay(static_cast<std::int32_t>(count));
}

std::optional<CalendarDay> CalendarDay::parse(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  unsigned digits[8];
  std::size_t n = 0;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (t[i] < '0' || t[i] > '9') return std::nullopt;
    digits[n++] = static_cast<unsigned>(t[i] - '0');
  }
  const std::int64_t year = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3];
  const unsigned month = digits[4] * 10 + digits[5];
  const unsigned day = digits[6] * 10 + digits[7];
  if (year < kFirstYear || year > kLastYear || month < 1 || month > 12) return std::nullopt;
  if (day < 1 || day > days_in_month(year, month)) return std::nullopt;
  return CalendarDay(static_cast<std::int32_t>(days_from_civil(year, month, day)));
}

std::string CalendarDay::to_string() const {
  const Civil c = civil_from_days(days_);
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(c.year), c.month, c.day);
  return text;
}

}  // namespace ates::protocol
