// The base library: the error codes' names round-trip, a Result holds a
// value or an error, the clocks and the seeded random source behave as
// their contracts say.
#include <array>
#include <sstream>
#include <string>

#include <boost/test/unit_test.hpp>

#include "ates/base/clock.hpp"
#include "ates/base/random.hpp"
#include "ates/base/status.hpp"

namespace ates::base {
namespace {

constexpr std::array kCodes = {Code::kOk,          Code::kInvalidArgument,  Code::kNotFound,
                               Code::kConflict,    Code::kPermissionDenied, Code::kUnauthenticated,
                               Code::kStorageFull, Code::kUnavailable,      Code::kInternal};

BOOST_AUTO_TEST_SUITE(base)

BOOST_AUTO_TEST_CASE(every_code_names_itself_and_is_read_back) {
  for (const Code code : kCodes) BOOST_TEST((code_from_string(to_string(code)) == code), to_string(code));
  // A name from a newer peer, or garbage, is an internal error, never ok.
  BOOST_TEST((code_from_string("ok ") == Code::kInternal));
  BOOST_TEST((code_from_string("") == Code::kInternal));
  BOOST_TEST((code_from_string("OK") == Code::kInternal));
  std::ostringstream out;
  out << Code::kStorageFull;
  BOOST_TEST(out.str() == "storage_full");
}

BOOST_AUTO_TEST_CASE(a_status_says_its_code_and_message) {
  BOOST_TEST(Status::ok().is_ok());
  BOOST_TEST(Status::ok().to_string() == "ok");
  const Status refused = invalid_argument("title: must not be empty");
  BOOST_TEST(!refused.is_ok());
  BOOST_TEST(!static_cast<bool>(refused));
  BOOST_TEST((refused.code() == Code::kInvalidArgument));
  BOOST_TEST(refused.to_string() == "invalid_argument: title: must not be empty");
}

BOOST_AUTO_TEST_CASE(a_result_holds_a_value_or_the_error_that_explains_why_not) {
  Result<std::string> value = std::string("popug");
  BOOST_TEST(value.has_value());
  BOOST_TEST(*value == "popug");
  BOOST_TEST(value->size() == 5u);
  BOOST_TEST(value.status().is_ok());
  const Result<std::string> error = Status(Code::kNotFound, "no such task");
  BOOST_TEST(!error.has_value());
  BOOST_TEST((error.status().code() == Code::kNotFound));
  BOOST_TEST(error.status().message() == "no such task");
  const std::string moved = std::move(value).value();
  BOOST_TEST(moved == "popug");
}

BOOST_AUTO_TEST_CASE(the_manual_clock_moves_only_when_told) {
  ManualClock clock(1'000);
  BOOST_TEST(clock.now_us() == 1'000);
  clock.advance(500);
  BOOST_TEST(clock.now_us() == 1'500);
  clock.set(-7);  // before the epoch: a clock does not judge the time it is given
  BOOST_TEST(clock.now_us() == -7);
  const SystemClock system;
  const auto first = system.now_us();
  BOOST_TEST(first > 1'600'000'000'000'000);  // after 2020: microseconds, not seconds or nanoseconds
  BOOST_TEST(first < 4'000'000'000'000'000);
}

BOOST_AUTO_TEST_CASE(a_seeded_source_repeats_and_seeds_differ) {
  SeededRandom a(42), b(42), c(43);
  std::array<std::uint8_t, 32> x{}, y{}, z{};
  a.fill(x);
  b.fill(y);
  c.fill(z);
  BOOST_TEST((x == y));
  BOOST_TEST((x != z));
  a.fill(y);
  BOOST_TEST((x != y));  // the stream goes on, it does not restart
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::base
