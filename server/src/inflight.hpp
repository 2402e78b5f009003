// Work in flight per owner (a plugin's name, or "host"): HTTP requests,
// dead-letter re-drives and plugin commands. A reload or a stop waits here
// until no call into a plugin's code is running before it unloads that code.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace ates::server {

class InflightWork {
 public:
  void begin(const std::string& owner);
  void end(const std::string& owner);
  // Waits until `owner` has nothing in flight (every owner, when empty) or
  // `timeout` passes; true when idle.
  bool wait_idle(std::string_view owner, std::chrono::milliseconds timeout);

  // begin() now and end() when it goes out of scope.
  class Scope {
   public:
    Scope(InflightWork& work, std::string owner) : work_(work), owner_(std::move(owner)) {
      work_.begin(owner_);
    }
    ~Scope() { work_.end(owner_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    InflightWork& work_;
    std::string owner_;
  };

 private:
  std::mutex mutex_;  // guards counts_
  std::condition_variable idle_;
  std::map<std::string, int, std::less<>> counts_;
};

}  // namespace ates::server
