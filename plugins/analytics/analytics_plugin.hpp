// The analytics plugin: keeps every event of auth.users, tracker.tasks and
// accounting.transactions in its own event store and answers admins from read
// models built from them: a day's management earnings and users with a
// negative balance, and the most expensive task of a range of days.
// POST /rebuild rebuilds the models from the store.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "ates/plugin_api/idempotency.hpp"
#include "ates/plugin_api/plugin.hpp"

#include "models.hpp"

namespace ates::analytics {

class AnalyticsPlugin final : public plugin_api::Plugin {
 public:
  explicit AnalyticsPlugin(plugin_api::HostContext& host);
  base::Status start() override;
  void stop() override;

 private:
  void add_routes();
  void summary(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void expensive(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void rebuild(const plugin_api::Request& request, const plugin_api::Responder& respond);
  // Today in accounting's day zone, and that zone ("UTC" until it is known).
  std::pair<std::string, std::string> today() const;
  // The rebuild thread: runs a requested (or interrupted) rebuild to its swap.
  void rebuild_loop();

  plugin_api::HostContext& host_;
  Analytics analytics_;
  std::size_t rebuild_batch_;
  // POST /rebuild's answers for Idempotency-Key; serving only (read-only,
  // data from before it had no tables for it).
  std::optional<plugin_api::Idempotency> idempotency_;

  std::mutex mutex_;  // guards rebuild_wanted_, stopping_
  std::condition_variable cv_;
  bool rebuild_wanted_ = false;
  bool stopping_ = false;
  std::thread rebuilder_;
};

}  // namespace ates::analytics
