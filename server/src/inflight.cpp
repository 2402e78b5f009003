#include "inflight.hpp"

#include <algorithm>

namespace ates::server {

void InflightWork::begin(const std::string& owner) {
  std::lock_guard lock(mutex_);
  ++counts_[owner];
}

void InflightWork::end(const std::string& owner) {
  {
    std::lock_guard lock(mutex_);
    --counts_[owner];
  }
  idle_.notify_all();
}

bool InflightWork::wait_idle(std::string_view owner, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [&] {
    if (owner.empty()) {
      return std::all_of(counts_.begin(), counts_.end(), [](const auto& entry) { return entry.second == 0; });
    }
    auto it = counts_.find(owner);
    return it == counts_.end() || it->second == 0;
  });
}

}  // namespace ates::server
