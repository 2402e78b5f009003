#include "hash_pool.hpp"

#include <unistd.h>

#include <algorithm>

#include <sys/resource.h>
#include <sys/syscall.h>

namespace ates::auth {

HashPool::Options HashPool::for_this_machine() {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  Options options;
  options.threads = std::max<std::size_t>(1, cores - 1);
  options.queue_capacity = 4 * options.threads;
  return options;
}

HashPool::HashPool(Options options) : options_(options) {
  workers_.reserve(options_.threads);
  for (std::size_t i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { work(); });
}

HashPool::~HashPool() { stop(); }

bool HashPool::try_submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) return false;
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

std::size_t HashPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void HashPool::stop() {
  std::deque<Job> cancelled;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    cancelled.swap(queue_);
  }
  ready_.notify_all();
  for (Job& job : cancelled) job(false);
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

void HashPool::work() {
  // Linux gives each thread its own nice value: lower only this one, so the
  // HTTP threads win the cores whenever both want them.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), options_.nice);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    // A job answers its own failures; one that throws anyway must not end
    // the process from a pool thread.
    try {
      job(true);
    } catch (...) {
    }
  }
}

}  // namespace ates::auth
