// The tracker plugin: tasks, random assignment to active workers and
// accountants, shuffles as durable jobs, my tasks, completion; everything it
// does is published on tracker.tasks.
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
  base::Status start() override;
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
  // `caller_waits`: someone asked and hears the outcome (a resumed shuffle
  // answers nobody).
  void continue_shuffle(const std::string& job_id, const std::function<void(base::Result<ShuffleJob>)>& done,
                        bool caller_waits);

  // rpc mode (docs/tracker.md): `plan` writes nothing visible and returns the
  // intent with its charges; the intent is committed, accounting asked to
  // hold the charges, then `apply` makes the change (naming the event ids it
  // published) in the unit that records COMMIT. Any failure records ABORT and
  // answers the error (503 when accounting did not answer).
  struct TwoPhaseOp {
    std::function<base::Result<Intent>(storage::WriteTxn&)> plan;
    std::function<base::Result<plugin_api::Response>(storage::WriteTxn&, const Intent&,
                                                     std::vector<std::string>& published)>
        apply;
    std::optional<plugin_api::Request> request;  // its Idempotency-Key is honoured by the apply unit
  };
  // `count_work`: counted as running (and refused while stopping) here;
  // false for a shuffle's batch, which its shuffle counts.
  void two_phase(const std::shared_ptr<TwoPhaseOp>& op, bool count_work, plugin_api::Responder respond);
  void commit_two_phase(const std::shared_ptr<TwoPhaseOp>& op, const std::shared_ptr<Intent>& intent,
                        plugin_api::Responder finish);
  void abort_two_phase(const std::shared_ptr<Intent>& intent, plugin_api::Response answer,
                       plugin_api::Responder finish);
  // Counts work that stop() must wait for; false once stopping.
  bool begin_work();
  void end_work();

  plugin_api::HostContext& host_;
  std::unique_ptr<base::RandomSource> random_;
  Tasks tasks_;
  plugin_api::Idempotency idempotency_;
  std::unique_ptr<ChargeLink> charge_link_;
  std::int64_t rpc_timeout_us_;
  std::size_t shuffle_batch_;
  // Shuffles and two-phase changes still running, so stop() can wait.
  std::mutex running_mutex_;  // guards running_, stopping_
  std::condition_variable running_cv_;
  int running_ = 0;
  bool stopping_ = false;
};

}  // namespace ates::tracker
