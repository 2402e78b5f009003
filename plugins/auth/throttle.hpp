// Log-in throttling (real clock), per key: after `free_failures` failed
// attempts for one key within a minute, further attempts are refused for a
// delay that doubles with each further failure (1 s, 2 s, 4 s … at most 5
// minutes); a success forgets the key's failures. auth keeps one throttle
// per username (5 free failures, known or not) and one per client address
// (more, for a household or an office behind one address), so guessing
// across many made-up usernames from one place is slowed too. Thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace ates::auth {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kFreeFailures = 5;  // the default, per username
  static constexpr std::chrono::seconds kWindow{60};
  static constexpr std::chrono::seconds kMaxDelay{300};
  static constexpr std::size_t kMaxTracked = 100'000;

  explicit LoginThrottle(int free_failures = kFreeFailures) : free_failures_(free_failures) {}

  // Seconds to wait before trying again, or nothing when allowed now.
  std::optional<long> retry_after(const std::string& username, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = state_.find(username);
    if (it == state_.end() || now >= it->second.blocked_until) return std::nullopt;
    return std::max<long>(1, std::chrono::ceil<std::chrono::seconds>(it->second.blocked_until - now).count());
  }

  void failed(const std::string& username, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    // Bounded: failures for many made-up usernames must not grow memory
    // without end. Entries whose window and block are over go first.
    if (state_.size() >= kMaxTracked && !state_.contains(username)) {
      std::erase_if(state_, [&](const auto& entry) {
        return now >= entry.second.blocked_until &&
               (entry.second.failures.empty() || now - entry.second.failures.back() > kWindow);
      });
      if (state_.size() >= kMaxTracked) state_.erase(state_.begin());
    }
    State& state = state_[username];
    state.failures.push_back(now);
    while (!state.failures.empty() && now - state.failures.front() > kWindow) state.failures.pop_front();
    const int over = static_cast<int>(state.failures.size()) - free_failures_;
    if (over >= 0) {
      const auto delay =
          std::min<std::chrono::seconds>(std::chrono::seconds(1L << std::min(over, 9)), kMaxDelay);
      state.blocked_until = now + delay;
    }
  }

  std::size_t tracked() {
    std::lock_guard lock(mutex_);
    return state_.size();
  }

  void succeeded(const std::string& username) {
    std::lock_guard lock(mutex_);
    state_.erase(username);
  }

 private:
  struct State {
    std::deque<Clock::time_point> failures;
    Clock::time_point blocked_until{};
  };
  const int free_failures_;
  std::mutex mutex_;  // guards state_
  std::map<std::string, State> state_;
};

}  // namespace ates::auth
