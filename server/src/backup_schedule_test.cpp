// The schedule's parts: durations as configured, the folder names and
// their times, and pruning to the newest `keep`.
#include "backup_schedule.hpp"

#include <fstream>

#include <boost/test/unit_test.hpp>

#include "ates/testing/temp_dir.hpp"

namespace ates::server {
namespace {

namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(backup_schedule)

BOOST_AUTO_TEST_CASE(every_is_a_positive_count_and_a_unit) {
  BOOST_TEST(parse_every("90s")->count() == 90);
  BOOST_TEST(parse_every("30m")->count() == 1800);
  BOOST_TEST(parse_every("6h")->count() == 21600);
  BOOST_TEST(parse_every("1d")->count() == 86400);
  for (const std::string bad :
       {"", "s", "0s", "-5m", "5", "5w", "1.5h", " 5m", "5m ", "99999999999999999999s", "400d"}) {
    BOOST_TEST(!parse_every(bad).has_value(), "'" << bad << "'");
  }
}

BOOST_AUTO_TEST_CASE(names_carry_their_time_and_sort_by_it) {
  const std::int64_t at = std::int64_t{1772528400} * 1'000'000;  // 2026-03-03T09:00:00Z
  BOOST_TEST(scheduled_backup_name(at) == "ates-20260303T090000Z");
  BOOST_TEST(scheduled_backup_time("ates-20260303T090000Z").value_or(0) == at);
  for (const std::string other : {"ates-20260303T090000", "ates-2026-03-03", "monday",
                                  "ates-20261303T090000Z", ".ates-20260303T090000Z.partial"}) {
    BOOST_TEST(!scheduled_backup_time(other).has_value(), other);
  }
}

BOOST_AUTO_TEST_CASE(pruning_keeps_the_newest_and_touches_nothing_else) {
  testing::TempDir dir;
  for (const std::string name : {"ates-20260301T000000Z", "ates-20260302T000000Z", "ates-20260303T000000Z",
                                 ".ates-20260304T000000Z.partial", "monday"}) {
    fs::create_directories(dir / name);
  }
  std::ofstream(dir / "ates-20260101T000000Z") << "a file, not a backup";
  const auto removed = prune_backups(dir.path(), 2);
  BOOST_TEST(removed.size() == 2u);
  BOOST_TEST(!fs::exists(dir / "ates-20260301T000000Z"));
  BOOST_TEST(!fs::exists(dir / ".ates-20260304T000000Z.partial"));
  BOOST_TEST(fs::exists(dir / "ates-20260302T000000Z"));
  BOOST_TEST(fs::exists(dir / "ates-20260303T000000Z"));
  BOOST_TEST(fs::exists(dir / "monday"));
  BOOST_TEST(fs::exists(dir / "ates-20260101T000000Z"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
