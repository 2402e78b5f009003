// The host's own API beside the plugins' routes, all admin-only:
//
//   GET  /api/v1/events/streams                     every stream's head and consumers
//   GET  /api/v1/events/dead-letters                every consumer's dead letters, a page
//   POST /api/v1/events/dead-letters/{id}/redrive   apply one again
//   POST /api/v1/dev/clock                          (--fake-clock only) advance the business clock
//   POST /api/v1/dev/hold                           (--fake-clock only) hold a stream back
//
// EventsAdmin is also what the control socket answers `streams`,
// `dead-letters` and `redrive` with, so the CLI and the HTTP API tell the
// same thing.
//
// Thread-safety: EventsAdmin's members may run on any thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/base/clock.hpp"
#include "ates/bus/bus.hpp"
#include "ates/plugin_api/idempotency.hpp"
#include "ates/storage/environment.hpp"

#include "inflight.hpp"
#include "router.hpp"

namespace ates::server {

// A consumer's name and the environment its dead letters are kept in.
using ConsumerEnvironments = std::vector<std::pair<std::string, storage::Environment*>>;

class EventsAdmin {
 public:
  EventsAdmin(bus::Bus& bus, InflightWork& inflight, std::function<ConsumerEnvironments()> environments)
      : bus_(bus), inflight_(inflight), environments_(std::move(environments)) {}

  // {"streams": [{name, producer, head_seq, watermark, epoch?, consumers: [...]}]}
  nlohmann::json streams() const;
  // {"dead_letters": [...]}, every consumer's.
  nlohmann::json dead_letters() const;
  // One page of them, ordered by consumer and number, the cursor being the
  // last id of the previous page: {"dead_letters": [...], "next": id|null}.
  // A cursor that is not "<consumer>-<number>" is invalid_argument.
  base::Result<nlohmann::json> dead_letters(const plugin_api::Page& page) const;
  // Applies a dead letter again, once. It runs the consuming plugin's code,
  // so it counts as that plugin's work in flight: a reload waits for it.
  base::Result<bus::DeadLetter> redrive(std::string_view id);

 private:
  bus::Bus& bus_;
  InflightWork& inflight_;
  std::function<ConsumerEnvironments()> environments_;
};

nlohmann::json dead_letter_json(const bus::DeadLetter& letter);

// Where the host's POST routes keep their answers for Idempotency-Key
// (docs/api.md): the host's own environment.
struct HostStore {
  storage::Environment& env;
  const plugin_api::Idempotency& idempotency;
};

// Registers the events routes under the owner "host".
void add_events_routes(RouteTable& routes, EventsAdmin& admin, HostStore store);

// The latest time the fake business clock may show: the start of
// 9999-12-30 UTC, so that the day of it in any zone (at most 14 hours
// ahead) is still a date ates accepts.
inline constexpr std::int64_t kLatestBusinessTimeUs = std::int64_t{253402128000} * 1'000'000;

// Registers the routes of --fake-clock: the clock's and the bus's hold.
void add_dev_routes(RouteTable& routes, base::ManualClock& clock, bus::Bus& bus, HostStore store);

}  // namespace ates::server
