#include "dead_letters.hpp"

#include <boost/test/unit_test.hpp>

#include "ates/testing/temp_dir.hpp"

namespace ates::bus {
namespace {

using base::Code;

BOOST_AUTO_TEST_SUITE(dead_letter_records)

BOOST_AUTO_TEST_CASE(only_the_events_fault_makes_a_dead_letter) {
  for (Code code : {Code::kInvalidArgument, Code::kNotFound, Code::kConflict, Code::kPermissionDenied})
    BOOST_TEST(is_domain_error(Status(code, "refused")));
  // Ours, not the event's: the consumer stalls and retries instead.
  for (Code code : {Code::kInternal, Code::kUnavailable, Code::kStorageFull, Code::kUnauthenticated})
    BOOST_TEST(!is_domain_error(Status(code, "failed")));
  BOOST_TEST(!is_domain_error(Status::ok()));
}

BOOST_AUTO_TEST_CASE(numbers_grow_per_environment_and_each_consumer_sees_its_own) {
  testing::TempDir dir;
  base::ManualClock clock(std::int64_t{1772528400} * 1'000'000);
  auto env = storage::Environment::open(
      {.dir = dir / "env", .producer = "accounting", .map_size = std::size_t{1} << 26, .clock = &clock});
  BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
  auto table = (*env)->table<DeadLetterRecord>(kDeadLetterTable);
  for (const char* consumer : {"accounting", "analytics", "accounting"}) {
    const Status status = (*env)->run([&](storage::WriteTxn& txn) {
      add_dead_letter(txn, table, {consumer, "tracker.tasks", 7, "no such task", 0, 5, "bytes", false});
      return Status::ok();
    });
    BOOST_TEST_REQUIRE(status.is_ok());
  }
  const auto accounting = dead_letters(**env, "accounting");
  BOOST_TEST_REQUIRE(accounting.size() == 2u);
  BOOST_TEST(accounting[0].id == "accounting-1");
  BOOST_TEST(accounting[1].id == "accounting-3");
  BOOST_TEST(accounting[0].time_us == clock.now_us());  // the transaction's time, not the record's
  BOOST_TEST(accounting[0].seq == 7u);
  BOOST_TEST(!accounting[0].resolved);
  BOOST_TEST(dead_letters(**env, "analytics").front().id == "analytics-2");
  BOOST_TEST(dead_letters(**env, "").size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::bus
