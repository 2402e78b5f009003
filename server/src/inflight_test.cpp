#include "inflight.hpp"

#include <future>

#include <boost/test/unit_test.hpp>

namespace ates::server {
namespace {

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(inflight)

BOOST_AUTO_TEST_CASE(an_owner_with_nothing_in_flight_is_idle_at_once) {
  InflightWork work;
  BOOST_TEST(work.wait_idle("tracker", 0ms));
  BOOST_TEST(work.wait_idle("", 0ms));
}

BOOST_AUTO_TEST_CASE(a_wait_ends_when_the_last_call_of_that_owner_ends) {
  InflightWork work;
  work.begin("tracker");
  work.begin("tracker");
  work.begin("auth");
  BOOST_TEST(!work.wait_idle("tracker", 10ms));
  auto waiting = std::async(std::launch::async, [&] { return work.wait_idle("tracker", 10s); });
  work.end("tracker");
  BOOST_TEST((waiting.wait_for(50ms) == std::future_status::timeout));  // one still runs
  work.end("tracker");
  BOOST_TEST(waiting.get());
  // Another owner's work does not hold it, but holds a wait for everyone.
  BOOST_TEST(!work.wait_idle("", 10ms));
  work.end("auth");
  BOOST_TEST(work.wait_idle("", 0ms));
}

BOOST_AUTO_TEST_CASE(a_scope_counts_until_it_ends) {
  InflightWork work;
  {
    InflightWork::Scope running(work, "accounting");
    BOOST_TEST(!work.wait_idle("accounting", 0ms));
  }
  BOOST_TEST(work.wait_idle("accounting", 0ms));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
