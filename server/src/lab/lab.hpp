// `ates lab`: runnable demonstrations of the asynchronous trade-offs of the
// system. Each scenario runs a real host with its plugins in this process, on
// a fresh temporary data directory, drives it over HTTP on loopback, prints
// what it shows, and returns 0 only when what it demonstrates held
// (docs/lab.md).
#pragma once

#include <cstdint>
#include <ostream>

namespace ates::lab {

struct ChargeModesOptions {
  int workers = 20;           // who tasks go to
  int clients = 8;            // concurrent HTTP clients
  int rounds = 3;             // each: creations, shuffles, completions
  int tasks_per_round = 200;  // creations per round
  int shuffles_per_round = 3;
  int outage_ms = 1500;    // how long accounting is stopped, in the middle round's completions
  int probe_ms = 1000;     // then, after the balances are taken: creations while accounting is down
  std::int64_t seed = 42;  // the tracker's assignments and task ids
};
// The same seeded workload in `events` and in `rpc` charge mode, accounting
// stopped for a while in each, side by side; non-zero when the final
// balances differ between the modes.
int run_charge_modes(const ChargeModesOptions& options, std::ostream& out);

// A day close that waits for a held-back tracker stream and then closes with
// the held events in the day; a forced close and the late entry it makes.
int run_day_close_under_lag(std::ostream& out);

// A poisoned event dead-lettered, inspected, and re-driven once.
int run_dead_letter(std::ostream& out);

}  // namespace ates::lab
