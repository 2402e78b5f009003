#include "charge_link.hpp"

#include "ates/base/failpoint.hpp"

namespace ates::tracker {

using base::Status;

RpcChargeLink::RpcChargeLink(plugin_api::HostContext& host, std::string peer,
                             std::chrono::milliseconds timeout)
    : host_(host), peer_(std::move(peer)), timeout_(timeout), thread_([this] { run(); }) {}

RpcChargeLink::~RpcChargeLink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();  // runs what was posted first: every prepare gets its answer
}

void RpcChargeLink::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void RpcChargeLink::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

void RpcChargeLink::prepare(protocol::PrepareCharges charges, std::function<void(Status)> done) {
  post([this, charges = std::move(charges), done = std::move(done)] {
    // Calls go one at a time: one queued behind a slow one gets only what
    // is left of its deadline, and none once it has passed.
    const std::int64_t left_us = charges.deadline_us - host_.business_clock().now_us();
    if (left_us <= 0)
      return done(Status(base::Code::kUnavailable, "the charge's deadline passed in the queue"));
    const auto wait =
        std::min(timeout_, std::chrono::milliseconds(std::max<std::int64_t>(1, left_us / 1000)));
    auto answer =
        host_.call(peer_, std::string(protocol::kPrepareService), protocol::pack_message(charges), wait);
    base::failpoint("tracker.rpc_after_prepare");
    done(answer ? Status::ok() : answer.status());
  });
}

void RpcChargeLink::decide(protocol::ChargeDecision decision) {
  post([this, decision = std::move(decision)] {
    auto answer =
        host_.call(peer_, std::string(protocol::kDecideService), protocol::pack_message(decision), timeout_);
    if (!answer) {
      host_.log().warn("the " + decision.decision + " of charge " + decision.op_id +
                       " did not reach accounting (" + answer.status().message() + "); " +
                       (decision.decision == "commit" ? "its events will carry it"
                                                      : "accounting drops it past its deadline"));
    }
  });
}

base::Result<std::unique_ptr<ChargeLink>> make_charge_link(const std::string& name,
                                                           plugin_api::HostContext& host,
                                                           const std::string& peer,
                                                           std::chrono::milliseconds timeout) {
  if (name == "events") return std::unique_ptr<ChargeLink>(std::make_unique<EventsChargeLink>());
  if (name == "rpc") return std::unique_ptr<ChargeLink>(std::make_unique<RpcChargeLink>(host, peer, timeout));
  return base::invalid_argument("bad value for 'tracker.charge_link': expected events or rpc, got '" + name +
                                "'");
}

}  // namespace ates::tracker
