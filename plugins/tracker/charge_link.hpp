// How money follows the tracker's changes: one interface, two links chosen by
// tracker.charge_link.
//   events (default): nothing to do here; accounting charges from the
//     TaskAssigned/TaskCompleted events asynchronously, and the tracker keeps
//     working while accounting is down.
//   rpc: the two-phase charge (docs/tracker.md). The tracker commits an intent,
//     asks accounting to hold the charges (PREPARE), and only then commits
//     the change with its decision; accounting down means 503 and no change.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ates/base/status.hpp"
#include "ates/plugin_api/context.hpp"
#include "ates/protocol/charge.hpp"

namespace ates::tracker {

class ChargeLink {
 public:
  virtual ~ChargeLink() = default;
  virtual std::string_view name() const = 0;
  // True: changes go through intent, prepare() and decide().
  virtual bool two_phase() const = 0;
  // Asks accounting to hold the charges; `done` runs on the link's thread.
  virtual void prepare(protocol::PrepareCharges charges, std::function<void(base::Status)> done) = 0;
  // Tells accounting the decision, once, without waiting: a lost COMMIT is
  // made good by the tracker.tasks events, a lost ABORT by the deadline.
  virtual void decide(protocol::ChargeDecision decision) = 0;
};

class EventsChargeLink final : public ChargeLink {
 public:
  std::string_view name() const override { return "events"; }
  bool two_phase() const override { return false; }
  void prepare(protocol::PrepareCharges, std::function<void(base::Status)> done) override {
    done(base::Status::ok());
  }
  void decide(protocol::ChargeDecision) override {}
};

// Calls accounting over the bus from its own thread, so neither the
// storage writer nor the completer ever waits on the network.
class RpcChargeLink final : public ChargeLink {
 public:
  RpcChargeLink(plugin_api::HostContext& host, std::string peer, std::chrono::milliseconds timeout);
  ~RpcChargeLink() override;
  std::string_view name() const override { return "rpc"; }
  bool two_phase() const override { return true; }
  void prepare(protocol::PrepareCharges charges, std::function<void(base::Status)> done) override;
  void decide(protocol::ChargeDecision decision) override;
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  void post(std::function<void()> job);
  void run();

  plugin_api::HostContext& host_;
  std::string peer_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;  // guards jobs_, stopping_
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

// "events" or "rpc" (with accounting at `peer`, answering within `timeout`).
base::Result<std::unique_ptr<ChargeLink>> make_charge_link(const std::string& name,
                                                           plugin_api::HostContext& host,
                                                           const std::string& peer,
                                                           std::chrono::milliseconds timeout);

}  // namespace ates::tracker
