// `ates bench startup`: the time from exec of `ates serve` (all four
// plugins) to its first 200 from /readyz, and its resident memory then,
// over several runs: on an empty data directory (environments, keys and a
// first admin are made) and restarting on that data. Prints min and median
// against the 300 ms target; never passes or fails on time.
#pragma once

#include <ostream>

namespace ates::bench {

struct StartupBenchOptions {
  int runs = 7;
};

void run_startup_bench(const StartupBenchOptions& options, std::ostream& out);

}  // namespace ates::bench
