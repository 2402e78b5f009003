#include "ates/protocol/schema.hpp"

#include <boost/test/unit_test.hpp>

#include "ates/protocol/time.hpp"
#include "ates/protocol/uuid.hpp"

namespace ates::protocol {

using base::SeededRandom;

namespace {

BOOST_AUTO_TEST_SUITE(schema)

BOOST_AUTO_TEST_CASE(formats) {
  BOOST_TEST(is_day("2024-02-29"));
  BOOST_TEST(!is_day("2023-02-29"));
  BOOST_TEST(!is_day("2026-13-01"));
  BOOST_TEST(!is_day("2026-1-01"));
  BOOST_TEST(is_jira_id("UBERPOP-42"));
  BOOST_TEST(is_jira_id("A1-0"));
  BOOST_TEST(!is_jira_id("A-1"));  // at least two characters before the dash
  BOOST_TEST(!is_jira_id("1A-1"));
  BOOST_TEST(!is_jira_id("AB-"));
  BOOST_TEST(!is_jira_id("AB-1x"));
  BOOST_TEST(is_task_title("Fix the beak"));
  BOOST_TEST(!is_task_title("[AB-1] Fix"));
  BOOST_TEST(is_username("popug.42_x-y"));
  BOOST_TEST(!is_username("Popug"));
  BOOST_TEST(is_email("a@b"));
  BOOST_TEST(!is_email("a@@b"));
  BOOST_TEST(!is_email("@b"));
}

BOOST_AUTO_TEST_CASE(utf8_counts_code_points_and_rejects_invalid) {
  BOOST_TEST(utf8_length("") == 0);
  BOOST_TEST(utf8_length("попуг") == 5);
  BOOST_TEST(utf8_length("\xf0\x9f\xa6\x9c") == 1);  // a parrot
  BOOST_TEST(utf8_length("\xc0\xaf") == -1);         // overlong '/'
  BOOST_TEST(utf8_length("\xed\xa0\x80") == -1);     // a surrogate
  BOOST_TEST(utf8_length("\xe2\x82") == -1);         // truncated
  BOOST_TEST(utf8_length("\xff") == -1);
}

BOOST_AUTO_TEST_CASE(uuids_are_version_4_and_seeded_randomness_repeats) {
  SeededRandom a(7);
  SeededRandom b(7);
  const std::string first = make_uuid(a);
  BOOST_TEST(first == make_uuid(b));
  BOOST_TEST(is_uuid(first));
  BOOST_TEST(first[14] == '4');
  BOOST_TEST(first != make_uuid(a));
  BOOST_TEST(!is_uuid("11111111-1111-4111-8111-11111111111g"));
}

BOOST_AUTO_TEST_CASE(times_are_rfc3339_utc_seconds) {
  BOOST_TEST(format_utc(1772528400000000) == "2026-03-03T09:00:00Z");
  BOOST_TEST(format_utc(1772528400999999) == "2026-03-03T09:00:00Z");
  BOOST_TEST(format_utc(0) == "1970-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::protocol
