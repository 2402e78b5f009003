// `ates bench analytics`: the analytics models (plugins/analytics) on real
// LMDB environments with full fsync.
//
// Both scenarios draw from one month (March 2026) of completed tasks: task n
// has a fee (1 000..2 000 cents, on its assignment) and a reward (2 000..
// 4 000 cents in steps of 100, on its completion, on a ten-minute grid, so
// equal rewards often complete at the same time), 10 000 users, and one
// reward in 40 booked late: on the next day, with the day it happened on as
// original_date. The bench works out every true answer from the same
// numbers, independently of the models.
//
// 1. Events ingested/s: an "accounting" environment publishes the month's
//    TransactionApplied events (200 000, 1 000 000 with `full`) with 64 units
//    in flight; an "analytics" environment applies them through a real bus
//    (ipc, producer bus and consumer bus apart) with Analytics::receive, as
//    the plugin does. The figure runs from the first submit to analytics'
//    durable checkpoint reaching the stream's head. In the same run: the same
//    consumer with a no-op handler (the ceiling), both live and draining the
//    whole log as a backlog, with ratios.
// 2. The most expensive task: an analytics store holding the month's
//    completed tasks (100 000, 1 000 000 with `full`), each with its
//    TaskCreated, fee and reward, filled by calling Analytics::receive
//    directly in large units (not through the bus: the fill is not what is
//    measured). Then Analytics::expensive over the whole month, random weeks
//    and random days, 2 000 calls each, one after another on one thread:
//    p50, p99 and max in ms (target: <= 5 ms over a month of 1 000 000).
//
// It throws when an answer is wrong (a task, a day's fees and rewards, the
// users below zero, a count of stored events, a checkpoint that never
// reaches the head), never because of a time.
#pragma once

#include <ostream>
#include <string>

namespace ates::bench {

struct AnalyticsBenchOptions {
  bool full = false;
  std::string dir;  // an empty or missing directory for the data; empty: a temp dir
};

void run_analytics_bench(const AnalyticsBenchOptions& options, std::ostream& out);

}  // namespace ates::bench
