// analytics' storage: the event store (every event analytics received, in
// arrival order) and two sets of read models, "a" and "b". One set is live; a
// rebuild fills the other from the event store and swaps it in, in one
// transaction, so readers never see a half built model.
//
// Money, completions and days come from accounting's ledger entries
// (TransactionApplied, DayClosed); titles and jira ids from tracker.tasks;
// the zone of accounting's days (DayZoneSet), which says which day is
// today, from accounting.transactions too.
// Each model reads one stream only, so the order in which streams interleave
// does not change any answer, and a rebuild gives the same answers.
//
// Thread-safety: units run on the environment's writer thread; reads open
// their own read transaction on any thread.
#pragma once

#include <optional>
#include <string>

#include "ates/protocol/envelope.hpp"
#include "ates/storage/environment.hpp"

namespace ates::analytics {

struct DayStats {
  std::int64_t fees_cents = 0;
  std::int64_t rewards_cents = 0;
  MSGPACK_DEFINE(fees_cents, rewards_cents)
};

// The completed task with the highest reward of a day.
struct BestTask {
  std::string task_id;
  std::int64_t reward_cents = 0;
  std::int64_t completed_at = 0;  // µs
  MSGPACK_DEFINE(task_id, reward_cents, completed_at)
};

struct TaskTitle {
  std::string title;
  std::string jira_id;
  MSGPACK_DEFINE(title, jira_id)
};

struct Summary {
  std::string date;
  std::int64_t management_earnings_cents = 0;
  std::int64_t fees_cents = 0;
  std::int64_t rewards_cents = 0;
  std::uint64_t negative_balance_users = 0;
  bool at_close = false;  // the count is the one at the day's close
};

struct ExpensiveTask {
  BestTask best;
  std::optional<TaskTitle> title;  // none until the task's TaskCreated arrives
};

// One set of read-model tables ("a" or "b").
class ModelSet {
 public:
  ModelSet(storage::Environment& env, const std::string& name);
  const std::string& name() const { return name_; }
  base::Status apply(storage::WriteTxn& txn, const protocol::Envelope& event) const;
  void clear(storage::WriteTxn& txn) const;

  Summary summary(const storage::Txn& txn, const std::string& date) const;
  // The best completed task over [from, to]; ties: the earliest completed,
  // then the smallest task id.
  std::optional<ExpensiveTask> expensive(const storage::Txn& txn, const std::string& from,
                                         const std::string& to) const;

 private:
  std::string name_;
  storage::Table<DayStats> days_;           // date -> fees and rewards
  storage::Table<std::int64_t> balances_;   // user -> balance
  storage::Table<std::uint64_t> counters_;  // "negative" -> users with a negative balance
  storage::Table<std::uint64_t> at_close_;  // date -> users with a negative balance at its close
  storage::Table<BestTask> best_;           // date -> the day's best completed task
  storage::Table<TaskTitle> titles_;        // task id -> title and jira id
};

class Analytics {
 public:
  explicit Analytics(storage::Environment& env);

  // The bus's handler: keeps the event, applies it to the live set.
  base::Status receive(storage::WriteTxn& txn, const protocol::Envelope& event) const;

  Summary summary(const std::string& date) const;
  std::optional<ExpensiveTask> expensive(const std::string& from, const std::string& to) const;
  std::uint64_t stored_events() const;
  // The zone accounting counts its days in (its DayZoneSet event); none
  // until that event arrives.
  std::optional<std::string> day_zone() const;

  // Rebuild, as units: start (or restart after a crash) clears the set that
  // is not live; step applies up to `batch` stored events to it and, when
  // none are left, makes it live in the same unit. Returns true when done.
  base::Status start_rebuild(storage::WriteTxn& txn) const;
  base::Result<bool> rebuild_step(storage::WriteTxn& txn, std::size_t batch) const;
  bool rebuilding() const;
  std::string live() const;

 private:
  const ModelSet& live_set(const storage::Txn& txn) const;
  const ModelSet& other_set(const storage::Txn& txn) const;
  std::optional<std::string> meta(const storage::Txn& txn, std::string_view key) const;

  storage::Environment& env_;
  storage::RawTable meta_;    // live, rebuild_cursor (present while a rebuild runs), stored, day_zone
  storage::RawTable events_;  // arrival number -> the envelope as received
  ModelSet a_;
  ModelSet b_;
};

}  // namespace ates::analytics
