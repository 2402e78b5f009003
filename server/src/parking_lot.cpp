#include "parking_lot.hpp"

#include <algorithm>

namespace ates::server {

namespace {

constexpr std::string_view kParkedHelp =
    "requests waiting for the replica of auth.users to learn of their token's user";

}  // namespace

ParkingLot::ParkingLot(std::size_t capacity, std::chrono::milliseconds wait, Position position,
                       Release release, MetricsRegistry& metrics)
    : capacity_(capacity),
      wait_(wait),
      position_(std::move(position)),
      release_(std::move(release)),
      metrics_(metrics),
      thread_([this] { loop(); }) {}

ParkingLot::~ParkingLot() { stop(); }

bool ParkingLot::park(const plugin_api::Request& request, const plugin_api::Responder& respond,
                      std::uint64_t seq) {
  if (wait_.count() == 0) return false;
  {
    std::lock_guard lock(mutex_);
    if (stop_ || parked_.size() >= capacity_) return false;
    parked_.push_back({request, respond, seq, std::chrono::steady_clock::now() + wait_});
    ++events_;
    report_size();
  }
  changed_.notify_all();
  return true;
}

void ParkingLot::notify() {
  {
    std::lock_guard lock(mutex_);
    ++events_;
  }
  changed_.notify_all();
}

void ParkingLot::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ParkingLot::report_size() {
  metrics_.set("ates_tokens_parked_requests", {}, static_cast<double>(parked_.size()), kParkedHelp);
}

void ParkingLot::loop() {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      const auto changed = [&] { return stop_ || events_ != seen; };
      if (parked_.empty()) {
        changed_.wait(lock, changed);
      } else {
        auto deadline = parked_.front().deadline;
        for (const auto& p : parked_) deadline = std::min(deadline, p.deadline);
        changed_.wait_until(lock, deadline, changed);
      }
      seen = events_;
      if (stop_ && parked_.empty()) return;
    }
    const std::uint64_t position = position_();
    const auto now = std::chrono::steady_clock::now();
    std::vector<ParkedRequest> ready;
    {
      std::lock_guard lock(mutex_);
      for (auto it = parked_.begin(); it != parked_.end();) {
        if (stop_ || it->seq <= position || it->deadline <= now) {
          ready.push_back(std::move(*it));
          it = parked_.erase(it);
        } else {
          ++it;
        }
      }
      if (!ready.empty()) report_size();
    }
    for (auto& p : ready) release_(std::move(p));
  }
}

}  // namespace ates::server
