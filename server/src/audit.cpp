#include "audit.hpp"

#include <map>
#include <set>

#include "ates/protocol/events.hpp"
#include "ates/storage/environment.hpp"

#include "ledger.hpp"  // plugins/accounting: the ledger's record types
#include "models.hpp"  // plugins/analytics: the read models' record types

namespace ates::server {

namespace {

using accounting::Account;
using accounting::DayRecord;
using accounting::DayTotals;
using accounting::Entry;
using accounting::TaskRef;

std::unique_ptr<storage::Environment> open(const std::filesystem::path& data, const std::string& plugin) {
  if (!std::filesystem::exists(data / plugin / "data.mdb")) return nullptr;
  auto env = storage::Environment::open({.dir = data / plugin, .producer = plugin, .read_only = true});
  if (!env) throw std::runtime_error(plugin + ": " + env.status().message());
  return std::move(env).value();
}

// Every event of a stream, decoded, by sequence.
std::map<std::uint64_t, protocol::Envelope> read_stream(storage::Environment& env, std::string_view stream) {
  std::map<std::uint64_t, protocol::Envelope> events;
  storage::ReadTxn txn = env.read();
  for (std::uint64_t seq = 1;;) {
    const auto entries = env.read_outbox(txn, stream, seq, 4096);
    if (entries.empty()) break;
    for (const auto& bytes : entries) {
      auto event = protocol::decode_event(bytes);
      if (!event)
        throw std::runtime_error(std::string(stream) + " seq " + std::to_string(seq) + ": " +
                                 event.status().message());
      const std::uint64_t event_seq = event->seq;
      events.emplace(event_seq, std::move(event).value());
      ++seq;
    }
  }
  return events;
}

struct Audit {
  std::ostream& out;
  int mismatches = 0;
  void mismatch(const std::string& what) {
    ++mismatches;
    out << "MISMATCH " << what << "\n";
  }
  void lag(std::string_view consumer, std::string_view stream, std::uint64_t applied, std::uint64_t head) {
    if (head > applied)
      out << "lag " << (head - applied) << ": " << consumer << " has applied " << stream << " up to "
          << applied << " of " << head << "\n";
  }
};

// What accounting holds, read in one transaction.
struct Books {
  std::uint64_t tasks_checkpoint = 0;
  std::map<std::string, Entry> entries;         // by id
  std::map<std::string, Account> accounts;      // by user
  std::map<std::string, TaskRef> tasks;         // by task id
  std::map<std::string, DayRecord> days;        // by date
  std::map<std::string, DayTotals> day_totals;  // by date
};

Books read_books(storage::Environment& env) {
  Books books;
  auto entries = env.table<Entry>("entries");
  auto accounts = env.table<Account>("accounts");
  auto tasks = env.table<TaskRef>("tasks");
  auto days = env.table<DayRecord>("days");
  auto totals = env.table<DayTotals>("day_totals");
  storage::ReadTxn txn = env.read();
  const auto checkpoint = env.checkpoint(txn, protocol::kTasksStream);
  books.tasks_checkpoint = checkpoint ? checkpoint->applied_seq : 0;
  entries.scan(txn.handle(), {}, [&](std::string_view id, Entry e) {
    books.entries.emplace(id, std::move(e));
    return true;
  });
  accounts.scan(txn.handle(), {}, [&](std::string_view id, Account a) {
    books.accounts.emplace(id, std::move(a));
    return true;
  });
  tasks.scan(txn.handle(), {}, [&](std::string_view id, TaskRef t) {
    books.tasks.emplace(id, std::move(t));
    return true;
  });
  days.scan(txn.handle(), {}, [&](std::string_view d, DayRecord r) {
    books.days.emplace(d, std::move(r));
    return true;
  });
  totals.scan(txn.handle(), {}, [&](std::string_view d, DayTotals t) {
    books.day_totals.emplace(d, t);
    return true;
  });
  return books;
}

// Every assignment one fee, every completion one reward, each for the
// task's price and the event's assignee; no fee or reward without its event.
void check_charges(Audit& audit, const Books& books, storage::Environment& tracker) {
  const auto events = read_stream(tracker, protocol::kTasksStream);  // the producer, after the consumer
  const std::uint64_t head = events.empty() ? 0 : events.rbegin()->first;
  std::set<std::string> caused;
  std::size_t fees = 0, rewards = 0;
  for (const auto& [seq, event] : events) {
    std::string kind, task_id, user_id;
    if (event.name == protocol::TaskAssigned::kName) {
      auto assigned = protocol::decode_payload<protocol::TaskAssigned>(event);
      if (!assigned) continue;
      kind = "fee", task_id = assigned->task_id, user_id = assigned->assignee_id;
    } else if (event.name == protocol::TaskCompleted::kName) {
      auto completed = protocol::decode_payload<protocol::TaskCompleted>(event);
      if (!completed) continue;
      kind = "reward", task_id = completed->task_id, user_id = completed->assignee_id;
    } else {
      continue;
    }
    const std::string id = accounting::derived_id({event.event_id, kind});
    caused.insert(id);
    const auto entry = books.entries.find(id);
    if (entry == books.entries.end()) {
      // rpc mode may book a charge before its event is applied; missing
      // is a mismatch only within what accounting says it applied.
      if (seq <= books.tasks_checkpoint)
        audit.mismatch("tracker.tasks seq " + std::to_string(seq) + " (" + event.name + " of task " +
                       task_id + ") has no " + kind + " entry");
      continue;
    }
    (kind == "fee" ? fees : rewards)++;
    if (entry->second.user_id != user_id)
      audit.mismatch("entry " + id + " charges " + entry->second.user_id + ", the event names " + user_id);
    const auto task = books.tasks.find(task_id);
    const std::int64_t price =
        task == books.tasks.end() ? 0 : (kind == "fee" ? -task->second.fee_cents : task->second.reward_cents);
    if (task == books.tasks.end() || entry->second.amount_cents != price)
      audit.mismatch("entry " + id + " (" + kind + " of task " + task_id + ") is " +
                     std::to_string(entry->second.amount_cents) + " cents, the task's price says " +
                     std::to_string(price));
  }
  for (const auto& [id, entry] : books.entries) {
    if ((entry.kind == "fee" || entry.kind == "reward") && !caused.contains(id))
      audit.mismatch("entry " + id + " (" + entry.kind + " of task " + entry.task_id +
                     ") answers no event of tracker.tasks");
  }
  audit.out << "charges: " << fees << " fees and " << rewards
            << " rewards match their tracker.tasks events\n";
  audit.lag("accounting", protocol::kTasksStream, books.tasks_checkpoint, head);
}

// Balances, day totals, payouts and late entries, within accounting.
void check_ledger(Audit& audit, const Books& books) {
  std::map<std::string, std::int64_t> sums;
  std::map<std::string, std::map<std::string, std::int64_t>> by_day;  // user -> date -> sum
  std::map<std::string, DayTotals> totals;
  std::size_t late = 0;
  for (const auto& [id, e] : books.entries) {
    sums[e.user_id] += e.amount_cents;
    by_day[e.user_id][e.date] += e.amount_cents;
    if (e.kind == "fee") totals[e.date].fees_cents -= e.amount_cents;
    if (e.kind == "reward") totals[e.date].rewards_cents += e.amount_cents;
    if (!e.original_date.empty()) {
      ++late;
      const auto day = books.days.find(e.original_date);
      if (e.original_date >= e.date || day == books.days.end() || day->second.status != "closed")
        audit.mismatch("late entry " + id + " of " + e.original_date + " dated " + e.date +
                       ": its own day must be closed and earlier");
    }
  }
  for (const auto& [user, account] : books.accounts) {
    const std::int64_t sum = sums.contains(user) ? sums[user] : 0;
    if (account.balance_cents != sum)
      audit.mismatch("balance of " + user + " is " + std::to_string(account.balance_cents) +
                     " cents, its entries sum to " + std::to_string(sum));
  }
  for (const auto& [user, sum] : sums) {
    if (!books.accounts.contains(user)) audit.mismatch("entries of " + user + " have no account");
  }
  for (const auto& [date, t] : totals) {
    const auto kept = books.day_totals.find(date);
    const DayTotals k = kept == books.day_totals.end() ? DayTotals{} : kept->second;
    if (k.fees_cents != t.fees_cents || k.rewards_cents != t.rewards_cents)
      audit.mismatch("earnings of " + date + ": kept " + std::to_string(k.fees_cents) + "/" +
                     std::to_string(k.rewards_cents) + ", entries say " + std::to_string(t.fees_cents) + "/" +
                     std::to_string(t.rewards_cents));
  }
  // Each payout equals its day's closing balance: after it, the entries
  // dated up to that day sum to zero; an unpaid account ends that day at
  // zero or below (its balance carries over).
  std::size_t payouts = 0;
  for (const auto& [date, day] : books.days) {
    if (day.status != "closed") continue;
    std::uint64_t paid = 0;
    std::int64_t paid_cents = 0;
    for (const auto& [user, dates] : by_day) {
      std::int64_t closing = 0;
      for (const auto& [d, sum] : dates) {
        if (d > date) break;
        closing += sum;
      }
      const Entry* payout = nullptr;
      const auto id = accounting::derived_id({"payout", user, date});
      if (const auto it = books.entries.find(id); it != books.entries.end()) payout = &it->second;
      if (payout) {
        ++paid, ++payouts;
        paid_cents -= payout->amount_cents;
        if (closing != 0)
          audit.mismatch("payout of " + user + " for " + date + " is " +
                         std::to_string(-payout->amount_cents) + " cents, the closing balance was " +
                         std::to_string(closing - payout->amount_cents));
      } else if (closing > 0) {
        audit.mismatch(user + " closed " + date + " at " + std::to_string(closing) +
                       " cents and was not paid");
      }
    }
    if (paid != day.payouts || paid_cents != day.paid_cents)
      audit.mismatch("day " + date + " says " + std::to_string(day.payouts) + " payouts of " +
                     std::to_string(day.paid_cents) + " cents, the ledger has " + std::to_string(paid) +
                     " of " + std::to_string(paid_cents));
  }
  audit.out << "ledger: " << books.accounts.size() << " balances, " << books.entries.size() << " entries, "
            << payouts << " payouts, " << late << " late entries\n";
}

// analytics' earnings against accounting's published entries, up to what
// analytics applied.
void check_analytics(Audit& audit, storage::Environment& analytics, storage::Environment& accounting_env) {
  // Both sets' tables first, then one read transaction: a rebuild's swap
  // cannot fall between reading which set is live and reading it.
  auto meta = analytics.raw_table("analytics");
  const auto set_a = analytics.table<analytics::DayStats>("a:days");
  const auto set_b = analytics.table<analytics::DayStats>("b:days");
  std::map<std::string, analytics::DayStats> seen;
  std::uint64_t applied = 0;
  {
    storage::ReadTxn txn = analytics.read();  // the consumer first
    const auto live = meta.get(txn.handle(), "live");
    const auto& days = live && *live == "b" ? set_b : set_a;
    const auto checkpoint = analytics.checkpoint(txn, protocol::kTransactionsStream);
    applied = checkpoint ? checkpoint->applied_seq : 0;
    days.scan(txn.handle(), {}, [&](std::string_view d, analytics::DayStats s) {
      seen.emplace(d, s);
      return true;
    });
  }
  const auto events = read_stream(accounting_env, protocol::kTransactionsStream);
  std::map<std::string, analytics::DayStats> expected;
  for (const auto& [seq, event] : events) {
    if (seq > applied) break;
    if (event.name != protocol::TransactionApplied::kName) continue;
    auto entry = protocol::decode_payload<protocol::TransactionApplied>(event);
    if (!entry) continue;
    if (entry->kind == "fee") expected[entry->date].fees_cents -= entry->amount_cents;
    if (entry->kind == "reward") expected[entry->date].rewards_cents += entry->amount_cents;
  }
  std::set<std::string> dates;
  for (const auto& [d, s] : seen) dates.insert(d);
  for (const auto& [d, s] : expected) dates.insert(d);
  for (const auto& date : dates) {
    const auto a = seen.contains(date) ? seen[date] : analytics::DayStats{};
    const auto e = expected.contains(date) ? expected[date] : analytics::DayStats{};
    if (a.fees_cents - a.rewards_cents != e.fees_cents - e.rewards_cents || a.fees_cents != e.fees_cents)
      audit.mismatch("analytics' earnings of " + date + " are " +
                     std::to_string(a.fees_cents - a.rewards_cents) + " cents, accounting's entries say " +
                     std::to_string(e.fees_cents - e.rewards_cents));
  }
  audit.out << "analytics: earnings of " << dates.size() << " days match accounting's entries\n";
  audit.lag("analytics", protocol::kTransactionsStream, applied, events.empty() ? 0 : events.rbegin()->first);
}

}  // namespace

int run_audit(const std::filesystem::path& data, std::ostream& out) {
  Audit audit{out};
  auto accounting_env = open(data, "accounting");
  if (!accounting_env) {
    out << "no accounting data in " << data.string() << ": nothing to reconcile\n";
    return 0;
  }
  const Books books = read_books(*accounting_env);  // consumers before producers
  if (auto tracker = open(data, "tracker")) {
    check_charges(audit, books, *tracker);
  } else {
    out << "no tracker data: charges not checked\n";
  }
  check_ledger(audit, books);
  if (auto analytics_env = open(data, "analytics")) check_analytics(audit, *analytics_env, *accounting_env);
  out << (audit.mismatches == 0 ? "audit: the money reconciles\n"
                                : "audit: " + std::to_string(audit.mismatches) + " mismatches\n");
  return audit.mismatches;
}

}  // namespace ates::server
