#include "ates/protocol/calendar_day.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::protocol {
namespace {

BOOST_AUTO_TEST_SUITE(calendar_day)

BOOST_AUTO_TEST_CASE(parses_real_dates_within_the_range_only) {
  for (const char* good : {"1970-01-01", "2026-03-03", "2024-02-29", "2000-02-29", "9999-12-31"}) {
    const auto day = CalendarDay::parse(good);
    BOOST_TEST_REQUIRE(day.has_value(), good);
    BOOST_TEST(day->to_string() == good);
  }
  for (const char* bad : {"1969-12-31", "0000-01-01", "10000-01-01", "2023-02-29", "1900-02-29", "2026-13-01",
                          "2026-00-10", "2026-01-00", "2026-04-31", "2026-1-01", "2026/01/01", " 2026-01-01",
                          "2026-01-01 ", "+026-01-01", "-001-01-01", "2026-01-01T00", "", "９９９９-12-31"}) {
    BOOST_TEST(!CalendarDay::parse(bad).has_value(), bad);
  }
  BOOST_TEST(!CalendarDay::parse(std::string_view("2026-01-0\0", 10)).has_value());
}

BOOST_AUTO_TEST_CASE(walks_by_integers_and_stops_at_the_ends) {
  const auto last = CalendarDay::last();
  BOOST_TEST(last.to_string() == "9999-12-31");
  BOOST_TEST(!last.plus(1).has_value());  // no year 10000
  BOOST_TEST(last.plus(-1)->to_string() == "9999-12-30");
  BOOST_TEST(CalendarDay::first().to_string() == "1970-01-01");
  BOOST_TEST(!CalendarDay::first().plus(-1).has_value());
  BOOST_TEST(CalendarDay::parse("2024-02-28")->plus(1)->to_string() == "2024-02-29");
  BOOST_TEST(CalendarDay::parse("2024-12-31")->plus(1)->to_string() == "2025-01-01");
  BOOST_TEST(!CalendarDay::from_days(-1).has_value());
  BOOST_TEST(!CalendarDay::from_days(std::int64_t{1} << 40).has_value());
  BOOST_TEST(!last.plus(INT64_MAX / 2).has_value());
  BOOST_TEST(days_inclusive(*CalendarDay::parse("2026-01-01"), *CalendarDay::parse("2026-12-31")) == 365);
  BOOST_TEST(days_inclusive(*CalendarDay::parse("2026-01-02"), *CalendarDay::parse("2026-01-01")) == 0);
}

BOOST_AUTO_TEST_CASE(every_day_of_the_range_round_trips_in_order) {
  std::string previous;
  for (std::int64_t n = 0;; ++n) {
    const auto day = CalendarDay::from_days(n);
    if (!day) {
      BOOST_TEST(previous == "9999-12-31");
      break;
    }
    const std::string text = day->to_string();
    if (text.size() != 10 || text <= previous || CalendarDay::parse(text) != day) {
      BOOST_FAIL("day " << n << " is " << text << " after " << previous);
    }
    previous = text;
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::protocol
