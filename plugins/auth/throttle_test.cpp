#include "throttle.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::auth {
namespace {

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(throttle)

BOOST_AUTO_TEST_CASE(five_failures_in_a_minute_block_with_a_growing_delay) {
  LoginThrottle throttle;
  const auto t0 = LoginThrottle::Clock::time_point{} + 1000s;
  for (int i = 0; i < 4; ++i) throttle.failed("popug", t0 + std::chrono::seconds(i));
  BOOST_TEST(!throttle.retry_after("popug", t0 + 4s).has_value());
  throttle.failed("popug", t0 + 4s);  // the fifth
  BOOST_TEST(throttle.retry_after("popug", t0 + 4s).value_or(0) == 1);
  throttle.failed("popug", t0 + 6s);  // the sixth doubles the delay
  BOOST_TEST(throttle.retry_after("popug", t0 + 6s).value_or(0) == 2);
  BOOST_TEST(!throttle.retry_after("popug", t0 + 9s).has_value());
  BOOST_TEST(!throttle.retry_after("other", t0 + 6s).has_value());  // per username
}

BOOST_AUTO_TEST_CASE(old_failures_fall_out_of_the_window_and_success_resets) {
  LoginThrottle throttle;
  const auto t0 = LoginThrottle::Clock::time_point{} + 1000s;
  for (int i = 0; i < 4; ++i) throttle.failed("popug", t0);
  throttle.failed("popug", t0 + 61s);  // the first four are over a minute old
  BOOST_TEST(!throttle.retry_after("popug", t0 + 61s).has_value());
  for (int i = 0; i < 5; ++i) throttle.failed("kiwi", t0);
  BOOST_TEST(throttle.retry_after("kiwi", t0).has_value());
  throttle.succeeded("kiwi");
  BOOST_TEST(!throttle.retry_after("kiwi", t0).has_value());
}

BOOST_AUTO_TEST_CASE(memory_stays_bounded_under_made_up_usernames) {
  LoginThrottle throttle;
  const auto t0 = LoginThrottle::Clock::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) throttle.failed("victim", t0);
  for (std::size_t i = 0; i < LoginThrottle::kMaxTracked + 10; ++i) {
    throttle.failed("made-up-" + std::to_string(i), t0 + 120s);
  }
  BOOST_TEST(throttle.tracked() <= LoginThrottle::kMaxTracked);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::auth
