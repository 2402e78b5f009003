// The business clock: it stamps events and decides days and watermarks.
// Production uses SystemClock; tests and `--fake-clock` use ManualClock,
// which moves only when told. Both are thread-safe.
// (Tokens, throttling, retries and timeouts use the real clock directly.)
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ates::base {

class Clock {
 public:
  virtual ~Clock() = default;
  // UTC microseconds since the Unix epoch.
  virtual std::int64_t now_us() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_us() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_us) : now_(start_us) {}
  std::int64_t now_us() const override { return now_.load(std::memory_order_acquire); }
  void set(std::int64_t now_us) { now_.store(now_us, std::memory_order_release); }
  void advance(std::int64_t delta_us) { now_.fetch_add(delta_us, std::memory_order_acq_rel); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace ates::base
