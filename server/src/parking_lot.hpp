// Requests set aside, holding no HTTP thread, until a position they wait
// for is reached or their wait is over. The host parks here a request
// whose token names a user its replica of auth.users has not applied yet
// (the position is the replica's applied sequence of auth.users).
//
// One thread of its own hands each request back through `release`, once:
// when the position reaches the request's, when its deadline passes, or
// when the lot stops. It never answers a request itself; the release
// callback routes it again, and knows from its context whether to answer
// it or refuse it.
//
// Thread-safety: park() and notify() may be called from any thread; the
// destructor stops the lot (stop() releases everything still parked).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "ates/plugin_api/http.hpp"

#include "metrics.hpp"

namespace ates::server {

struct ParkedRequest {
  plugin_api::Request request;
  plugin_api::Responder respond;
  std::uint64_t seq = 0;  // the position to wait for
  std::chrono::steady_clock::time_point deadline;
};

class ParkingLot {
 public:
  using Position = std::function<std::uint64_t()>;  // where things stand now; must not throw
  using Release = std::function<void(ParkedRequest)>;

  // `capacity`: at most this many wait at once (they hold memory, not
  // threads). `wait`: how long each may wait; 0 parks nothing. The gauge
  // `ates_tokens_parked_requests` in `metrics` counts those waiting.
  ParkingLot(std::size_t capacity, std::chrono::milliseconds wait, Position position, Release release,
             MetricsRegistry& metrics);
  ~ParkingLot();
  ParkingLot(const ParkingLot&) = delete;
  ParkingLot& operator=(const ParkingLot&) = delete;

  // False when the request cannot wait: the lot is full, waiting is off, or
  // it stopped. The caller then answers the request itself.
  bool park(const plugin_api::Request& request, const plugin_api::Responder& respond, std::uint64_t seq);
  // The position may have moved (a commit of the environment it reads).
  void notify();
  // Releases every parked request and joins the thread; idempotent.
  void stop();

 private:
  void loop();
  void report_size();  // with mutex_ held

  const std::size_t capacity_;
  const std::chrono::milliseconds wait_;
  Position position_;
  Release release_;
  MetricsRegistry& metrics_;
  std::mutex mutex_;  // guards parked_, events_, stop_
  std::condition_variable changed_;
  std::vector<ParkedRequest> parked_;
  // Bumped by every notify() and every park: the loop reads the position
  // only after taking note of it, so no wake-up is lost.
  std::uint64_t events_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ates::server
