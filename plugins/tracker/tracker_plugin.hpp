// The tracker plugin (MISSION 5-10): tasks, random assignment to active
// workers and accountants, shuffles as durable jobs, my tasks, completion;
// everything it does is published on tracker.tasks.
#pragma once

#include <mutex>

#include "ates/plugin_api/idempotency.hpp"
#include "ates/plugin_api/plugin.hpp"

#include "charge_link.hpp"
#include "tasks.hpp"

namespace ates::tracker {

class TrackerPlugin final : public plugin_api::Plugin {
 public:
  explicit TrackerPlugin(plugin_api::HostContext& host);
  protocol::Status start() override;
  void stop() override;

 private:
  void add_routes();
  void create(plugin_api::Request request, plugin_api::Responder respond);
  void mine(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void list(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void get(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void update(plugin_api::Request request, plugin_api::Responder respond);
  void complete(plugin_api::Request request, plugin_api::Responder respond);
  void shuffle(plugin_api::Request request, plugin_api::Responder respond);
  // Runs a shuffle's batches one unit after another, letting other units in
  // between; `done` gets the finished job (or the error).
  void continue_shuffle(std::string job_id, std::function<void(protocol::Result<ShuffleJob>)> done);

  plugin_api::HostContext& host_;
  std::unique_ptr<protocol::RandomSource> random_;
  Tasks tasks_;
  plugin_api::Idempotency idempotency_;
  std::unique_ptr<ChargeLink> charge_link_;
  std::size_t shuffle_batch_;
  // Shuffles still running, so stop() can wait for them.
  std::mutex running_mutex_;  // guards running_
  std::condition_variable running_cv_;
  int running_ = 0;
  bool stopping_ = false;
};

}  // namespace ates::tracker
