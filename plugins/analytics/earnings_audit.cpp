#include "earnings_audit.hpp"

#include <map>
#include <set>

#include "ates/plugin_api/audit.hpp"
#include "ates/protocol/dispatch.hpp"

#include "models.hpp"

namespace ates::analytics {

namespace {

struct Earnings {
  std::uint64_t applied = 0;                // of accounting.transactions
  std::map<std::string, DayStats> by_date;  // the live set's
};

Earnings read_earnings(storage::Environment& env) {
  // Both sets' tables first, then one read transaction.
  auto meta = env.raw_table("analytics");
  const auto set_a = env.table<DayStats>("a:days");
  const auto set_b = env.table<DayStats>("b:days");
  Earnings earnings;
  const storage::ReadTxn txn = env.read();
  const auto live = meta.get(txn, "live");
  const auto& days = live && *live == "b" ? set_b : set_a;
  const auto checkpoint = env.checkpoint(txn, protocol::kTransactionsStream);
  earnings.applied = checkpoint ? checkpoint->applied_seq : 0;
  days.scan(txn, {}, [&](std::string_view date, DayStats stats) {
    earnings.by_date.emplace(date, stats);
    return true;
  });
  return earnings;
}

}  // namespace

base::Result<nlohmann::json> audit(plugin_api::HostContext& host) {
  Earnings seen;
  try {
    seen = read_earnings(host.storage());  // the consumer before its producer
  } catch (const std::exception& e) {
    return base::Status(base::Code::kInternal, std::string("reading the read models: ") + e.what());
  }
  plugin_api::AuditReport report;
  report.check("analytics");
  std::map<std::string, DayStats> expected;
  std::uint64_t head = 0;
  for (std::uint64_t from = 1;;) {
    const auto batch = host.read_stream(protocol::kTransactionsStream, from, 4096);
    if (!batch) {
      report.summary("not checked");
      report.note("analytics' earnings not checked: " + batch.status().message());
      return report.to_json();
    }
    if (batch->empty()) break;
    for (const auto& event : *batch) {
      from = head = event.seq;
      ++from;
      if (event.seq > seen.applied) continue;
      // An entry that does not decode was a dead letter of analytics'
      // consumer, and counted nowhere.
      static_cast<void>(protocol::dispatch(event, [&](const protocol::TransactionApplied& entry) {
        // A reversal has the opposite sign of its charge: it takes it back.
        if (entry.kind == "fee" || entry.kind == "fee_reversal")
          expected[entry.date].fees_cents -= entry.amount_cents;
        if (entry.kind == "reward" || entry.kind == "reward_reversal")
          expected[entry.date].rewards_cents += entry.amount_cents;
      }));
    }
  }
  std::set<std::string> dates;
  for (const auto& [date, stats] : seen.by_date) dates.insert(date);
  for (const auto& [date, stats] : expected) dates.insert(date);
  for (const auto& date : dates) {
    const auto kept = seen.by_date.find(date);
    const auto due = expected.find(date);
    const DayStats a = kept == seen.by_date.end() ? DayStats{} : kept->second;
    const DayStats e = due == expected.end() ? DayStats{} : due->second;
    if (a.fees_cents - a.rewards_cents != e.fees_cents - e.rewards_cents || a.fees_cents != e.fees_cents)
      report.mismatch("analytics' earnings of " + date + " are " +
                      std::to_string(a.fees_cents - a.rewards_cents) + " cents, accounting's entries say " +
                      std::to_string(e.fees_cents - e.rewards_cents));
  }
  report.summary("earnings of " + std::to_string(dates.size()) + " days match accounting's entries");
  report.lag("analytics", std::string(protocol::kTransactionsStream), seen.applied, head);
  return report.to_json();
}

}  // namespace ates::analytics
