// `ates bench storage`: durable units per second through the writer with one
// commit per unit and with group commit at 1, 8 and 64 concurrent
// submitters, against the raw LMDB ceiling (bare puts and one synced commit
// per batch of the same size) measured in the same run.
#pragma once

#include <chrono>
#include <filesystem>
#include <ostream>
#include <string>

namespace ates::bench {

struct StorageBenchOptions {
  bool full = false;  // longer runs per scenario
  std::string dir;    // empty: a temporary directory, removed afterwards
};

void run_storage_bench(const StorageBenchOptions& options, std::ostream& out);

// Durable units/s through one environment's writer with `in_flight` units
// kept in flight (the group-commit ceiling other benchmarks compare with).
double group_commit_units_per_second(const std::filesystem::path& dir, int in_flight,
                                     std::chrono::milliseconds duration);

}  // namespace ates::bench
