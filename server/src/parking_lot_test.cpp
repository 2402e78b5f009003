#include "parking_lot.hpp"

#include <atomic>
#include <mutex>

#include <boost/test/unit_test.hpp>

#include "ates/testing/wait.hpp"

namespace ates::server {
namespace {

using namespace std::chrono_literals;
using testing::wait_until;

// A lot whose position is set by the test, recording what it released.
struct Lot {
  MetricsRegistry metrics;
  std::atomic<std::uint64_t> position{0};
  std::mutex mutex;
  std::vector<std::string> released;  // request paths, in release order
  ParkingLot lot;

  explicit Lot(std::chrono::milliseconds wait = 10s, std::size_t capacity = 4)
      : lot(
            capacity, wait, [this] { return position.load(); },
            [this](ParkedRequest parked) {
              std::lock_guard lock(mutex);
              released.push_back(parked.request.path);
            },
            metrics) {}

  bool park(const std::string& path, std::uint64_t seq) {
    plugin_api::Request request;
    request.path = path;
    return lot.park(
        request, [](plugin_api::Response) {}, seq);
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mutex);
    return released;
  }
};

BOOST_AUTO_TEST_SUITE(parking_lot)

BOOST_AUTO_TEST_CASE(a_request_is_released_once_the_position_reaches_it) {
  Lot lot;
  BOOST_TEST(lot.park("/a", 5));
  BOOST_TEST(lot.park("/b", 7));
  BOOST_TEST(lot.metrics.render().find("ates_tokens_parked_requests 2") != std::string::npos);
  lot.position = 5;
  lot.lot.notify();
  BOOST_TEST(wait_until([&] { return lot.seen().size() == 1; }));
  BOOST_TEST(lot.seen().front() == "/a");
  lot.position = 9;
  lot.lot.notify();
  BOOST_TEST(wait_until([&] { return lot.seen().size() == 2; }));
  BOOST_TEST(lot.seen().back() == "/b");
  BOOST_TEST(lot.metrics.render().find("ates_tokens_parked_requests 0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_request_whose_wait_is_over_is_released_without_the_position) {
  Lot lot(50ms);
  BOOST_TEST(lot.park("/late", 100));
  BOOST_TEST(wait_until([&] { return lot.seen().size() == 1; }, 5s));
  BOOST_TEST(lot.position.load() == 0u);
}

BOOST_AUTO_TEST_CASE(a_full_lot_and_a_stopped_one_refuse_to_park) {
  Lot lot(10s, 2);
  BOOST_TEST(lot.park("/1", 3));
  BOOST_TEST(lot.park("/2", 3));
  BOOST_TEST(!lot.park("/3", 3));  // the caller answers it itself
  lot.lot.stop();                  // releases what waits, however far the position is
  BOOST_TEST(lot.seen().size() == 2u);
  BOOST_TEST(!lot.park("/4", 3));
}

BOOST_AUTO_TEST_CASE(no_wait_configured_parks_nothing) {
  Lot lot(0ms);
  BOOST_TEST(!lot.park("/a", 1));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
