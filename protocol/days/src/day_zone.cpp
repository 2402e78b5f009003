#include "ates/days/day_zone.hpp"

#include <cstdio>

#include <date/date.h>
#include <date/tz.h>

namespace ates::days {

namespace {

using Micros = std::chrono::duration<std::int64_t, std::micro>;

date::year_month_day parse(std::string_view day) {
  int y = 0;
  unsigned m = 0, d = 0;
  std::sscanf(std::string(day).c_str(), "%d-%u-%u", &y, &m, &d);
  return date::year{y} / date::month{m} / date::day{d};
}

std::string format(date::year_month_day ymd) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

}  // namespace

base::Result<DayZone> DayZone::locate(const std::string& name) {
  try {
    return DayZone(name, date::locate_zone(name));
  } catch (const std::exception& e) {
    return base::invalid_argument("'" + name + "' is not a time zone (" + e.what() + ")");
  }
}

std::string DayZone::day_of(std::int64_t time_us) const {
  const date::sys_time<Micros> instant{Micros{time_us}};
  const auto local = zone_->to_local(instant);
  return format(date::year_month_day{date::floor<date::days>(local)});
}

std::int64_t DayZone::start_of(std::string_view day) const {
  const date::local_days midnight{parse(day)};
  const auto info = zone_->get_info(midnight);
  date::sys_seconds start;
  if (info.result == date::local_info::nonexistent) {
    start = info.second.begin;  // skipped by a clock change: the day starts at the change
  } else {
    start = zone_->to_sys(midnight, date::choose::earliest);
  }
  return std::chrono::duration_cast<Micros>(start.time_since_epoch()).count();
}

bool DayZone::is_day(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  const auto ymd = parse(text);
  return ymd.ok() && format(ymd) == text;
}

std::string DayZone::next_day(std::string_view day) {
  return format(date::year_month_day{date::sys_days{parse(day)} + date::days{1}});
}

std::string DayZone::previous_day(std::string_view day) {
  return format(date::year_month_day{date::sys_days{parse(day)} - date::days{1}});
}

}  // namespace ates::days
