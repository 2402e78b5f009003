// accounting's "audit" command (`ates audit`, docs/operations.md): the
// ledger against tracker.tasks and against itself.
//
//   charges  every assignment one fee and every completion one reward, for
//            the task's price and the event's assignee; no fee or reward
//            without its event (up to what accounting applied);
//   ledger   balances are the sums of their entries, day totals the sums
//            of the day's fees and rewards, each payout its day's closing
//            balance, every late entry dated after its own closed day.
//
// Its own tables are read in one transaction before tracker.tasks, so
// what the tracker published since is a lag, not a mismatch.
#pragma once

#include <nlohmann/json.hpp>

#include "ates/plugin_api/context.hpp"

namespace ates::accounting {

// Works the same against a running server and read-only; an error only
// when accounting's own tables cannot be read.
base::Result<nlohmann::json> audit(plugin_api::HostContext& host);

}  // namespace ates::accounting
