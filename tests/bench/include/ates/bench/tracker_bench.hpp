// `ates bench tracker`: durable task creations/s from concurrent clients;
// GET /api/v1/tracker/tasks/mine requests/s against a bare route on the same
// HTTP server code and thread count, in the same run; the time a shuffle of
// every open task takes (10 000 tasks, 100 000 with `full`); how long a
// running shuffle holds up a reader and a writer (p99 and max latency, next
// to the same figures without a shuffle); the process's peak RSS.
//
// It runs an in-process host with the real auth and tracker plugins, found
// beside the running binary as `ates serve` finds them. It throws when an
// answer is wrong (a status, a shuffle's count), never because of a time.
#pragma once

#include <ostream>
#include <string>

namespace ates::bench {

struct TrackerBenchOptions {
  bool full = false;
  std::string dir;  // an empty or missing directory for the data; empty: a temp dir
};

void run_tracker_bench(const TrackerBenchOptions& options, std::ostream& out);

}  // namespace ates::bench
