// HashPool: where argon2id runs. Hashing a password takes tens of
// milliseconds and tens of megabytes by design; on the HTTP threads, a few
// dozen log-ins a second would hold every other request. The pool has its
// own threads, fewer than the cores (cores - 1, at least one) and at a
// lower scheduling priority than the HTTP threads, and a bounded queue: a
// job that finds it full is refused at once, and the caller answers 503
// with Retry-After. So the overall rate of log-ins is the pool's capacity,
// never a lock-out of every user, and requests that don't hash keep being
// answered during a flood.
//
// Thread-safe. Every job submitted is called exactly once: with run = true
// on a pool thread, or with run = false when the pool stops before it
// started (so a job that owns a Responder can still answer).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ates::auth {

class HashPool {
 public:
  using Job = std::function<void(bool run)>;

  struct Options {
    std::size_t threads = 1;
    std::size_t queue_capacity = 8;  // jobs waiting, beyond those running
    int nice = 10;                   // added to the threads' niceness (Linux: per thread)
  };
  // cores - 1 threads (at least one), a queue of four jobs per thread.
  static Options for_this_machine();

  explicit HashPool(Options options);
  ~HashPool();  // stop()
  HashPool(const HashPool&) = delete;
  HashPool& operator=(const HashPool&) = delete;

  // Queues `job`; false, without calling it, when the queue is full or the
  // pool has stopped.
  bool try_submit(Job job);
  // Refuses new jobs, calls the queued ones with run = false, waits for the
  // running ones and joins the threads. Idempotent.
  void stop();

  std::size_t threads() const { return options_.threads; }
  std::size_t queued() const;

 private:
  void work();

  const Options options_;
  mutable std::mutex mutex_;  // guards queue_ and stopping_
  std::condition_variable ready_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ates::auth
