// The writer thread of an Environment: it takes queued units in batches,
// runs each in a nested transaction of one top-level transaction (group
// commit: one fsync for the batch), stamps the watermark, tells the commit
// observers, and hands the callers' completions to the completer thread.
#include "environment_impl.hpp"

namespace ates::storage {

using detail::EnvironmentImpl;
using namespace detail;

// [SECTION] the writer loop and group commit -----------------------------------

void EnvironmentImpl::enqueue(Job job) {
  {
    std::unique_lock lock(queue_mutex);
    if (!stopping) {
      queue.push_back(std::move(job));
      lock.unlock();
      queue_cv.notify_one();
      return;
    }
  }
  job.done(
      Status(Code::kUnavailable, options.read_only ? "storage is open read-only" : "storage is closing"));
}

void Environment::submit(Unit unit, Done done) {
  impl_->enqueue(Job{.unit = std::move(unit), .done = std::move(done)});
}

std::future<Status> Environment::submit(Unit unit) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  submit(std::move(unit), [promise](Status status) { promise->set_value(std::move(status)); });
  return future;
}

void EnvironmentImpl::writer_loop() {
  using SteadyClock = std::chrono::steady_clock;
  auto next_reader_check = SteadyClock::now() + options.reader_check_interval;
  std::vector<Job> jobs;
  for (;;) {
    jobs.clear();
    {
      std::unique_lock lock(queue_mutex);
      const bool woke = queue_cv.wait_for(lock, options.tick, [&] { return stopping || !queue.empty(); });
      if (queue.empty() && stopping) break;
      // An exclusive job runs alone; it also ends the batch before it.
      while (!queue.empty() && jobs.size() < options.max_batch) {
        if (queue.front().exclusive && !jobs.empty()) break;
        jobs.push_back(std::move(queue.front()));
        queue.pop_front();
        if (jobs.back().exclusive) break;
      }
      if (!woke && jobs.empty()) {
        // Idle: an empty batch moves the watermark on (only worth an fsync
        // when there are streams whose consumers wait on it).
        std::lock_guard state_lock(state_mutex);
        if (committed.empty()) continue;
      }
    }
    run_batch(jobs);
    if (SteadyClock::now() >= next_reader_check) {
      int dead = 0;
      mdb_reader_check(env, &dead);
      next_reader_check = SteadyClock::now() + options.reader_check_interval;
    }
  }
}

void EnvironmentImpl::run_batch(std::vector<Job>& jobs) {
  const bool exclusive = jobs.size() == 1 && jobs.front().exclusive;
  std::vector<Status> results(jobs.size());
  auto fail_all = [&](const Status& status) {
    std::fill(results.begin(), results.end(), status);
    complete(jobs, results);
  };

  const auto batch_start = std::chrono::steady_clock::now();
  MDB_txn* parent = nullptr;
  if (const int rc = mdb_txn_begin(env, nullptr, 0, &parent); rc != 0) {
    fail_all(status_of_errno(rc, "cannot begin a write transaction"));
    return;
  }
  WriteTxn::Batch batch;
  {
    std::lock_guard lock(state_mutex);
    batch.streams = committed;
    batch.floor = watermark;
  }
  batch.max_time = batch.floor;

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    batch.undo.clear();
    batch.declared.clear();
    MDB_txn* txn = parent;
    if (!exclusive) {
      if (const int rc = mdb_txn_begin(env, parent, 0, &txn); rc != 0) {
        results[i] = status_of_errno(rc, "cannot begin a nested transaction");
        continue;
      }
    }
    WriteTxn write(*this, batch, txn);
    Status status;
    try {
      status = jobs[i].unit(write);
    } catch (...) {
      status = status_of_exception();
    }
    if (!exclusive) {
      if (status) {
        if (const int rc = mdb_txn_commit(txn); rc != 0) status = status_of_errno(rc, "commit of a unit");
      } else {
        mdb_txn_abort(txn);
      }
    }
    if (!status) {
      // Roll the unit's sequence numbers back with its writes.
      for (auto it = batch.undo.rbegin(); it != batch.undo.rend(); ++it) {
        auto& state = batch.streams.find(std::get<0>(*it))->second;
        state.head_seq = std::get<1>(*it);
        state.first_seq = std::get<2>(*it);
      }
      for (const auto& stream : batch.declared) batch.streams.erase(stream);
      if (exclusive) {
        mdb_txn_abort(parent);
        results[i] = std::move(status);
        complete(jobs, results);
        return;
      }
    }
    results[i] = std::move(status);
    base::failpoint(kFailAfterUnit);
  }

  // The watermark of this batch, committed with it: every later event is
  // stamped at or above it, so events with time < watermark are all <= head.
  const std::int64_t new_watermark = std::max({clock->now_us(), batch.floor, batch.max_time});
  Status commit_status;
  try {
    WriteTxn batch_txn(*this, batch, parent);
    meta.put(batch_txn, kFloorKey, key_u64(static_cast<std::uint64_t>(new_watermark)));
  } catch (...) {
    commit_status = status_of_exception();
  }
  base::failpoint(kFailBeforeCommit);
  if (commit_status) {
    if (const int rc = mdb_txn_commit(parent); rc != 0) commit_status = status_of_errno(rc, "commit");
  } else {
    mdb_txn_abort(parent);
  }
  if (!commit_status) {
    fail_all(commit_status);
    return;
  }
  base::failpoint(kFailAfterCommit);

  CommitInfo info{.watermark = new_watermark,
                  .commit_seconds =
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_start).count()};
  {
    std::lock_guard lock(state_mutex);
    for (auto& [name, state] : batch.streams) committed[name] = state;
    watermark = new_watermark;
    info.heads.reserve(committed.size());
    for (const auto& [name, state] : committed) {
      info.heads.push_back({name, state.epoch, state.first_seq, state.head_seq, new_watermark});
    }
  }
  info.units = static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [](const Status& s) { return s.is_ok(); }));
  {
    std::lock_guard lock(observers_mutex);
    for (CommitObserver* observer : observers) observer->on_commit(info);
  }
  complete(jobs, results);
}

void EnvironmentImpl::complete(std::vector<Job>& jobs, std::vector<Status>& results) {
  // The units go before anyone learns of the commit (see completer_loop).
  for (auto& job : jobs) job.unit = nullptr;
  {
    std::lock_guard lock(completions_mutex);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      completions.emplace_back(std::move(jobs[i].done), std::move(results[i]));
    }
  }
  completions_cv.notify_one();
}

void EnvironmentImpl::completer_loop() {
  std::deque<std::pair<Environment::Done, Status>> ready;
  for (;;) {
    {
      std::unique_lock lock(completions_mutex);
      completions_cv.wait(lock, [&] { return completer_stopping || !completions.empty(); });
      if (completions.empty() && completer_stopping) return;
      ready.swap(completions);
    }
    // Each callback is destroyed right after it ran, before the next one
    // runs: a caller woken by a later completion (the host's barrier before
    // unloading a plugin) must find no earlier callback still alive.
    for (auto& [done, status] : ready) {
      done(std::move(status));
      done = nullptr;
    }
    ready.clear();
  }
}

}  // namespace ates::storage
