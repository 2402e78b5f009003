// `ates bench accounting`: the accounting ledger (plugins/accounting) on
// real LMDB environments with full fsync.
//
// 1. Tracker events applied/s: a "tracker" environment publishes
//    TaskAssigned and TaskCompleted events (100 000, 500 000 with `full`)
//    with 64 units in flight; a consumer environment ("accounting") applies
//    them through a real bus (ipc, producer bus and consumer bus apart) with
//    the Ledger. The figure runs from the first submit to the consumer's
//    durable checkpoint reaching the stream's head. In the same run: the same
//    consumer with a no-op handler (the ceiling), both live and draining the
//    whole log as a backlog, with ratios. The assignees' UserCreated events
//    come first, on auth.users from an "auth" environment, so no placeholder
//    account is made.
// 2. A day close: a Ledger holding 20 000 accounts (100 000 with `full`),
//    each with entries on day D (positive, zero and negative closing
//    balances, three in four with an email, some with entries on D + 1
//    already applied), and one unit running Ledger::close_day for D: its
//    time (target <= 2 s for 100 000 accounts), the payouts, the receipts
//    queued. The Ledger only queues receipts; nothing is sent.
//
// It throws when an answer is wrong (balances that differ from the prices,
// a checkpoint that never reaches the head, payouts that differ from the
// positive closing balances), never because of a time.
#pragma once

#include <ostream>
#include <string>

namespace ates::bench {

struct AccountingBenchOptions {
  bool full = false;
  std::string dir;  // an empty or missing directory for the data; empty: a temp dir
};

void run_accounting_bench(const AccountingBenchOptions& options, std::ostream& out);

}  // namespace ates::bench
