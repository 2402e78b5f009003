// `ates bench lifecycle`: the whole system end to end. Concurrent clients
// create tasks over HTTP (each assigned on creation) and their assignees
// complete them, on a host running all four plugins in `events` charge
// mode; the figures are lifecycles/s (create -> assign -> complete, both
// answered after their commits), request latencies, and the time from the
// last answer until everything has converged: accounting has applied all
// of tracker.tasks, analytics all of accounting.transactions, and the money
// reconciles (`ates audit`: every balance is the sum of its entries, and
// tracker, accounting and analytics agree). 10 000 tasks by 100 workers by
// default; `full`: 100 000 tasks by 1 000 workers.
//
// It throws when an answer is wrong or the money does not reconcile, never
// because of a time.
#pragma once

#include <ostream>
#include <string>

namespace ates::bench {

struct LifecycleBenchOptions {
  bool full = false;
  std::string dir;  // an empty or missing directory for the data; empty: a temp dir
};

void run_lifecycle_bench(const LifecycleBenchOptions& options, std::ostream& out);

}  // namespace ates::bench
