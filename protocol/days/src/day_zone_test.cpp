#include "ates/days/day_zone.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::days {
namespace {

constexpr std::int64_t kHour = std::int64_t{3600} * 1'000'000;
// 2026-03-03T00:00:00Z
constexpr std::int64_t kMarch3 = std::int64_t{1772496000} * 1'000'000;

BOOST_AUTO_TEST_SUITE(day_zone)

BOOST_AUTO_TEST_CASE(utc_days_start_and_end_at_midnight) {
  const auto zone = DayZone::locate("UTC");
  BOOST_TEST_REQUIRE(zone.has_value());
  BOOST_TEST(zone->day_of(kMarch3) == "2026-03-03");
  BOOST_TEST(zone->day_of(kMarch3 - 1) == "2026-03-02");
  BOOST_TEST(zone->start_of("2026-03-03") == kMarch3);
  BOOST_TEST(zone->end_of("2026-03-03") == kMarch3 + 24 * kHour);
  BOOST_TEST(zone->day_of(zone->end_of("2026-03-03") - 1) == "2026-03-03");
}

BOOST_AUTO_TEST_CASE(a_zone_moves_the_midnight) {
  const auto moscow = DayZone::locate("Europe/Moscow");  // UTC+3, no clock changes
  BOOST_TEST_REQUIRE(moscow.has_value());
  BOOST_TEST(moscow->day_of(kMarch3 - 3 * kHour) == "2026-03-03");
  BOOST_TEST(moscow->day_of(kMarch3 - 3 * kHour - 1) == "2026-03-02");
  BOOST_TEST(moscow->start_of("2026-03-03") == kMarch3 - 3 * kHour);
}

BOOST_AUTO_TEST_CASE(days_with_a_clock_change_are_23_or_25_hours) {
  const auto new_york = DayZone::locate("America/New_York");
  BOOST_TEST_REQUIRE(new_york.has_value());
  // 2026-03-08: clocks go forward at 02:00; 2026-11-01: back at 02:00.
  BOOST_TEST(new_york->end_of("2026-03-08") - new_york->start_of("2026-03-08") == 23 * kHour);
  BOOST_TEST(new_york->end_of("2026-11-01") - new_york->start_of("2026-11-01") == 25 * kHour);
  BOOST_TEST(new_york->end_of("2026-03-09") - new_york->start_of("2026-03-09") == 24 * kHour);
}

BOOST_AUTO_TEST_CASE(unknown_zones_and_bad_days_are_refused) {
  const auto bad = DayZone::locate("Mars/Olympus_Mons");
  BOOST_TEST(!bad.has_value());
  BOOST_TEST(bad.status().message().find("Mars/Olympus_Mons") != std::string::npos);
  BOOST_TEST(DayZone::is_day("2026-02-28"));
  BOOST_TEST(DayZone::is_day("2028-02-29"));
  BOOST_TEST(!DayZone::is_day("2026-02-29"));
  BOOST_TEST(!DayZone::is_day("2026-13-01"));
  BOOST_TEST(!DayZone::is_day("2026-1-01"));
  BOOST_TEST(!DayZone::is_day("2026-01-01T00"));
  BOOST_TEST(!DayZone::is_day("yesterday"));
}

BOOST_AUTO_TEST_CASE(next_and_previous_cross_months_and_years) {
  BOOST_TEST(DayZone::next_day("2026-12-31") == "2027-01-01");
  BOOST_TEST(DayZone::next_day("2028-02-28") == "2028-02-29");
  BOOST_TEST(DayZone::previous_day("2026-03-01") == "2026-02-28");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::days
