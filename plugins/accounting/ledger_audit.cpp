#include "ledger_audit.hpp"

#include <map>
#include <set>

#include "ates/plugin_api/audit.hpp"
#include "ates/protocol/dispatch.hpp"

#include "entry_id.hpp"
#include "ledger.hpp"

namespace ates::accounting {

namespace {

using plugin_api::AuditReport;

// What accounting holds, read in one transaction.
struct Books {
  std::uint64_t tasks_checkpoint = 0;
  std::map<std::string, Entry> entries;         // by id
  std::map<std::string, Account> accounts;      // by user
  std::map<std::string, TaskRef> tasks;         // by task id
  std::map<std::string, DayRecord> days;        // by date
  std::map<std::string, DayTotals> day_totals;  // by date
};

template <class V>
void read_all(const storage::Table<V>& table, const storage::ReadTxn& txn, std::map<std::string, V>& into) {
  table.scan(txn, {}, [&](std::string_view key, V value) {
    into.emplace(key, std::move(value));
    return true;
  });
}

Books read_books(storage::Environment& env) {
  Books books;
  const auto entries = env.table<Entry>("entries");
  const auto accounts = env.table<Account>("accounts");
  const auto tasks = env.table<TaskRef>("tasks");
  const auto days = env.table<DayRecord>("days");
  const auto totals = env.table<DayTotals>("day_totals");
  const storage::ReadTxn txn = env.read();
  const auto checkpoint = env.checkpoint(txn, protocol::kTasksStream);
  books.tasks_checkpoint = checkpoint ? checkpoint->applied_seq : 0;
  read_all(entries, txn, books.entries);
  read_all(accounts, txn, books.accounts);
  read_all(tasks, txn, books.tasks);
  read_all(days, txn, books.days);
  read_all(totals, txn, books.day_totals);
  return books;
}

// Every event of a stream, by sequence, from its producer.
base::Result<std::map<std::uint64_t, protocol::Envelope>> read_whole(plugin_api::HostContext& host,
                                                                     std::string_view stream) {
  std::map<std::uint64_t, protocol::Envelope> events;
  for (std::uint64_t from = 1;;) {
    auto batch = host.read_stream(stream, from, 4096);
    if (!batch) return batch.status();
    if (batch->empty()) return events;
    for (auto& event : *batch) {
      from = event.seq + 1;
      events.emplace(event.seq, std::move(event));
    }
  }
}

void check_charges(AuditReport& report, const Books& books, plugin_api::HostContext& host) {
  report.check("charges");
  const auto events = read_whole(host, protocol::kTasksStream);  // the producer, after the consumer
  if (!events) {
    report.summary("not checked");
    report.note("charges not checked: " + events.status().message());
    return;
  }
  const std::uint64_t head = events->empty() ? 0 : events->rbegin()->first;
  std::set<std::string> caused;
  std::size_t fees = 0, rewards = 0;
  for (const auto& [seq, event] : *events) {
    std::string kind, task_id, user_id;
    // An event that does not decode was a dead letter of accounting's
    // consumer, and charged nothing: there is nothing to match it with.
    static_cast<void>(protocol::dispatch(
        event,
        [&](const protocol::TaskAssigned& assigned) {
          kind = "fee", task_id = assigned.task_id, user_id = assigned.assignee_id;
        },
        [&](const protocol::TaskCompleted& completed) {
          kind = "reward", task_id = completed.task_id, user_id = completed.assignee_id;
        }));
    if (kind.empty()) continue;
    const std::string id = derived_id({event.event_id, kind});
    caused.insert(id);
    const auto entry = books.entries.find(id);
    if (entry == books.entries.end()) {
      // rpc mode may book a charge before its event is applied; missing
      // is a mismatch only within what accounting says it applied.
      if (seq <= books.tasks_checkpoint)
        report.mismatch("tracker.tasks seq " + std::to_string(seq) + " (" + event.name + " of task " +
                        task_id + ") has no " + kind + " entry");
      continue;
    }
    (kind == "fee" ? fees : rewards)++;
    if (entry->second.user_id != user_id)
      report.mismatch("entry " + id + " charges " + entry->second.user_id + ", the event names " + user_id);
    const auto task = books.tasks.find(task_id);
    const std::int64_t price =
        task == books.tasks.end() ? 0 : (kind == "fee" ? -task->second.fee_cents : task->second.reward_cents);
    if (task == books.tasks.end() || entry->second.amount_cents != price)
      report.mismatch("entry " + id + " (" + kind + " of task " + task_id + ") is " +
                      std::to_string(entry->second.amount_cents) + " cents, the task's price says " +
                      std::to_string(price));
  }
  // A charge with no event is right only when reversed: committed over
  // rpc, then never confirmed by tracker.tasks. A reversal undoes exactly
  // one such charge.
  std::size_t reversed = 0;
  for (const auto& [id, entry] : books.entries) {
    if ((entry.kind == "fee" || entry.kind == "reward") && !caused.contains(id)) {
      const auto reversal = books.entries.find(reversal_id(id));
      if (reversal != books.entries.end() && reversal->second.kind == entry.kind + "_reversal" &&
          reversal->second.amount_cents == -entry.amount_cents && reversal->second.user_id == entry.user_id) {
        ++reversed;
        continue;
      }
      report.mismatch("entry " + id + " (" + entry.kind + " of task " + entry.task_id +
                      ") answers no event of tracker.tasks");
    }
    if (entry.kind == "fee_reversal" || entry.kind == "reward_reversal") {
      bool undoes = false;
      for (const auto& [original_id, original] : books.entries) {
        if (reversal_id(original_id) == id) {
          undoes = !caused.contains(original_id) && original.kind + "_reversal" == entry.kind;
          break;
        }
      }
      if (!undoes)
        report.mismatch("entry " + id + " (" + entry.kind + " of task " + entry.task_id +
                        ") reverses no unconfirmed charge");
    }
  }
  report.summary(std::to_string(fees) + " fees and " + std::to_string(rewards) +
                 " rewards match their tracker.tasks events" +
                 (reversed > 0 ? "; " + std::to_string(reversed) +
                                     " charges committed over rpc were reversed, their events never came"
                               : std::string()));
  report.lag("accounting", std::string(protocol::kTasksStream), books.tasks_checkpoint, head);
}

void check_ledger(AuditReport& report, const Books& books) {
  report.check("ledger");
  std::map<std::string, std::int64_t> sums;
  std::map<std::string, std::map<std::string, std::int64_t>> by_day;  // user -> date -> sum
  std::map<std::string, DayTotals> totals;
  std::size_t late = 0;
  for (const auto& [id, e] : books.entries) {
    sums[e.user_id] += e.amount_cents;
    by_day[e.user_id][e.date] += e.amount_cents;
    if (charge_of(e.kind) == "fee") totals[e.date].fees_cents -= e.amount_cents;
    if (charge_of(e.kind) == "reward") totals[e.date].rewards_cents += e.amount_cents;
    if (!e.original_date.empty()) {
      ++late;
      const auto day = books.days.find(e.original_date);
      if (e.original_date >= e.date || day == books.days.end() || day->second.status != DayStatus::kClosed)
        report.mismatch("late entry " + id + " of " + e.original_date + " dated " + e.date +
                        ": its own day must be closed and earlier");
    }
  }
  for (const auto& [user, account] : books.accounts) {
    const auto sum = sums.find(user);
    const std::int64_t total = sum == sums.end() ? 0 : sum->second;
    if (account.balance_cents != total)
      report.mismatch("balance of " + user + " is " + std::to_string(account.balance_cents) +
                      " cents, its entries sum to " + std::to_string(total));
  }
  for (const auto& [user, sum] : sums) {
    if (!books.accounts.contains(user)) report.mismatch("entries of " + user + " have no account");
  }
  for (const auto& [date, t] : totals) {
    const auto kept = books.day_totals.find(date);
    const DayTotals k = kept == books.day_totals.end() ? DayTotals{} : kept->second;
    if (k.fees_cents != t.fees_cents || k.rewards_cents != t.rewards_cents)
      report.mismatch("earnings of " + date + ": kept " + std::to_string(k.fees_cents) + "/" +
                      std::to_string(k.rewards_cents) + ", entries say " + std::to_string(t.fees_cents) +
                      "/" + std::to_string(t.rewards_cents));
  }
  // Each payout equals its day's closing balance: after it, the entries
  // dated up to that day sum to zero; an unpaid account ends that day at
  // zero or below (its balance carries over).
  std::size_t payouts = 0;
  for (const auto& [date, day] : books.days) {
    if (day.status != DayStatus::kClosed) continue;
    std::uint64_t paid = 0;
    std::int64_t paid_cents = 0;
    for (const auto& [user, dates] : by_day) {
      std::int64_t closing = 0;
      for (const auto& [d, sum] : dates) {
        if (d > date) break;
        closing += sum;
      }
      const auto payout = books.entries.find(derived_id({"payout", user, date}));
      if (payout != books.entries.end()) {
        ++paid, ++payouts;
        paid_cents -= payout->second.amount_cents;
        if (closing != 0)
          report.mismatch("payout of " + user + " for " + date + " is " +
                          std::to_string(-payout->second.amount_cents) + " cents, the closing balance was " +
                          std::to_string(closing - payout->second.amount_cents));
      } else if (closing > 0) {
        report.mismatch(user + " closed " + date + " at " + std::to_string(closing) +
                        " cents and was not paid");
      }
    }
    if (paid != day.payouts || paid_cents != day.paid_cents)
      report.mismatch("day " + date + " says " + std::to_string(day.payouts) + " payouts of " +
                      std::to_string(day.paid_cents) + " cents, the ledger has " + std::to_string(paid) +
                      " of " + std::to_string(paid_cents));
  }
  report.summary(std::to_string(books.accounts.size()) + " balances, " +
                 std::to_string(books.entries.size()) + " entries, " + std::to_string(payouts) +
                 " payouts, " + std::to_string(late) + " late entries");
}

}  // namespace

base::Result<nlohmann::json> audit(plugin_api::HostContext& host) {
  Books books;
  try {
    books = read_books(host.storage());  // the consumer before its producer
  } catch (const std::exception& e) {
    return base::Status(base::Code::kInternal, std::string("reading the ledger: ") + e.what());
  }
  AuditReport report;
  check_charges(report, books, host);
  check_ledger(report, books);
  return report.to_json();
}

}  // namespace ates::accounting
