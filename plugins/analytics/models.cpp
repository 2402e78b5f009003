#include "models.hpp"

#include "ates/days/day_zone.hpp"
#include "ates/protocol/dispatch.hpp"
#include "ates/protocol/events.hpp"

namespace ates::analytics {

using base::Status;

namespace {

constexpr std::string_view kNegative = "negative";

bool better(const BestTask& candidate, const BestTask& current) {
  if (candidate.reward_cents != current.reward_cents) return candidate.reward_cents > current.reward_cents;
  if (candidate.completed_at != current.completed_at) return candidate.completed_at < current.completed_at;
  return candidate.task_id < current.task_id;
}

}  // namespace

ModelSet::ModelSet(storage::Environment& env, const std::string& name)
    : name_(name),
      days_(env.table<DayStats>(name + ":days")),
      balances_(env.table<std::int64_t>(name + ":balances")),
      counters_(env.table<std::uint64_t>(name + ":counters")),
      at_close_(env.table<std::uint64_t>(name + ":at_close")),
      best_(env.table<BestTask>(name + ":best")),
      titles_(env.table<TaskTitle>(name + ":titles")) {}

void ModelSet::clear(storage::WriteTxn& txn) const {
  days_.clear(txn);
  balances_.clear(txn);
  counters_.clear(txn);
  at_close_.clear(txn);
  best_.clear(txn);
  titles_.clear(txn);
}

Status ModelSet::apply(storage::WriteTxn& txn, const protocol::Envelope& event) const {
  using namespace protocol;
  // Events of other types are kept in the event store; no model reads them.
  return dispatch(
      event,
      [&](const TransactionApplied& entry) {
        // Balances and who is below zero.
        const std::int64_t before = balances_.get(txn, entry.user_id).value_or(0);
        const std::int64_t after = before + entry.amount_cents;
        balances_.put(txn, entry.user_id, after);
        if ((before < 0) != (after < 0)) {
          const std::uint64_t negative = counters_.get(txn, kNegative).value_or(0);
          counters_.put(txn, kNegative, after < 0 ? negative + 1 : negative - 1);
        }
        // Management's earnings: the day the ledger counts the entry in, as
        // accounting's earnings do.
        // Fees are negative entries, rewards positive; the reversal of one
        // (a charge committed over rpc that its event never confirmed) has
        // the opposite sign and takes it back out of the day.
        const bool fee = entry.kind == "fee" || entry.kind == "fee_reversal";
        const bool reward = entry.kind == "reward" || entry.kind == "reward_reversal";
        if (fee || reward) {
          DayStats day = days_.get(txn, entry.date).value_or(DayStats{});
          if (fee) day.fees_cents -= entry.amount_cents;
          if (reward) day.rewards_cents += entry.amount_cents;
          days_.put(txn, entry.date, day);
        }
        // The best task of the day it was completed (a late entry keeps its own day).
        if (entry.kind == "reward" && entry.task_id) {
          const std::string day = entry.original_date.value_or(entry.date);
          const BestTask candidate{*entry.task_id, entry.amount_cents, entry.occurred_at};
          const auto current = best_.get(txn, day);
          if (!current || better(candidate, *current)) best_.put(txn, day, candidate);
        }
      },
      [&](const DayClosed& closed) {
        // The close's payouts came before it on the same stream: this is
        // the count right after them.
        at_close_.put(txn, closed.date, counters_.get(txn, kNegative).value_or(0));
      },
      [&](const TaskCreated& created) {
        titles_.put(txn, created.task_id, TaskTitle{created.title, created.jira_id.value_or("")});
      },
      [&](const TaskUpdated& updated) {
        titles_.put(txn, updated.task_id, TaskTitle{updated.title, updated.jira_id.value_or("")});
      });
}

Summary ModelSet::summary(const storage::Txn& txn, const std::string& date) const {
  const DayStats day = days_.get(txn, date).value_or(DayStats{});
  Summary out;
  out.date = date;
  out.fees_cents = day.fees_cents;
  out.rewards_cents = day.rewards_cents;
  out.management_earnings_cents = day.fees_cents - day.rewards_cents;
  if (auto at_close = at_close_.get(txn, date)) {
    out.negative_balance_users = *at_close;
    out.at_close = true;
  } else {
    out.negative_balance_users = counters_.get(txn, kNegative).value_or(0);
  }
  return out;
}

std::optional<ExpensiveTask> ModelSet::expensive(const storage::Txn& txn, const std::string& from,
                                                 const std::string& to) const {
  // One record per day: a month is at most 31 reads, however many tasks.
  std::optional<BestTask> best;
  best_.scan(txn, from, [&](std::string_view day, BestTask candidate) {
    if (day > to) return false;
    if (!best || better(candidate, *best)) best = std::move(candidate);
    return true;
  });
  if (!best) return std::nullopt;
  return ExpensiveTask{*best, titles_.get(txn, best->task_id)};
}

Analytics::Analytics(storage::Environment& env)
    : env_(env),
      meta_(env.raw_table("analytics")),
      events_(env.raw_table("event_store")),
      a_(env, "a"),
      b_(env, "b") {}

std::optional<std::string> Analytics::meta(const storage::Txn& txn, std::string_view key) const {
  auto value = meta_.get(txn, key);
  if (!value) return std::nullopt;
  return std::string(*value);
}

const ModelSet& Analytics::live_set(const storage::Txn& txn) const {
  return meta(txn, "live").value_or("a") == "b" ? b_ : a_;
}
const ModelSet& Analytics::other_set(const storage::Txn& txn) const {
  return &live_set(txn) == &a_ ? b_ : a_;
}

Status Analytics::receive(storage::WriteTxn& txn, const protocol::Envelope& event) const {
  const auto stored = meta_.get(txn, "stored");
  const std::uint64_t number = stored ? storage::decode_key_u64(*stored) + 1 : 1;
  meta_.put(txn, "stored", storage::key_u64(number));
  events_.put(txn, storage::key_u64(number), protocol::encode_envelope(event), storage::Put::kAppend);
  // The zone is not a model: it only says which day is "today". Every
  // entry carries its own accounting day, so no model changes with the
  // zone and nothing is rebuilt when it arrives.
  Status zone = protocol::dispatch(event, [&](const protocol::DayZoneSet& set) -> Status {
    if (auto located = days::DayZone::locate(set.zone); !located) return located.status();
    meta_.put(txn, "day_zone", set.zone);
    return Status::ok();
  });
  if (!zone) return zone;
  return live_set(txn).apply(txn, event);
}

std::optional<std::string> Analytics::day_zone() const {
  storage::ReadTxn txn = env_.read();
  return meta(txn, "day_zone");
}

Summary Analytics::summary(const std::string& date) const {
  storage::ReadTxn txn = env_.read();
  return live_set(txn).summary(txn, date);
}

std::optional<ExpensiveTask> Analytics::expensive(const std::string& from, const std::string& to) const {
  storage::ReadTxn txn = env_.read();
  return live_set(txn).expensive(txn, from, to);
}

std::uint64_t Analytics::stored_events() const {
  storage::ReadTxn txn = env_.read();
  const auto stored = meta_.get(txn, "stored");
  return stored ? storage::decode_key_u64(*stored) : 0;
}

bool Analytics::rebuilding() const {
  storage::ReadTxn txn = env_.read();
  return meta_.get(txn, "rebuild_cursor").has_value();
}

std::string Analytics::live() const {
  storage::ReadTxn txn = env_.read();
  return live_set(txn).name();
}

Status Analytics::start_rebuild(storage::WriteTxn& txn) const {
  // From scratch, also after a crash mid-way: the target set is not live,
  // so whatever it holds can go.
  other_set(txn).clear(txn);
  meta_.put(txn, "rebuild_cursor", storage::key_u64(0));
  return Status::ok();
}

base::Result<bool> Analytics::rebuild_step(storage::WriteTxn& txn, std::size_t batch) const {
  const auto cursor_bytes = meta_.get(txn, "rebuild_cursor");
  if (!cursor_bytes) return true;  // no rebuild running
  std::uint64_t cursor = storage::decode_key_u64(*cursor_bytes);
  const ModelSet& target = other_set(txn);
  std::size_t applied = 0;
  Status failed;
  events_.scan(txn, storage::key_u64(cursor + 1), [&](std::string_view key, std::string_view bytes) {
    auto event = protocol::decode_envelope(bytes);
    if (!event) {
      failed = event.status();
      return false;
    }
    if (Status s = target.apply(txn, *event); !s) {
      // The live set took this event when it arrived; a rebuild that
      // cannot is a bug, not a reason to serve a smaller model.
      failed = Status(base::Code::kInternal, "rebuild: event " + event->event_id + ": " + s.message());
      return false;
    }
    cursor = storage::decode_key_u64(key);
    return ++applied < batch;
  });
  if (!failed) return failed;
  if (applied > 0) {
    meta_.put(txn, "rebuild_cursor", storage::key_u64(cursor));
    return false;
  }
  // Caught up with the store in this very transaction: swap.
  meta_.put(txn, "live", target.name());
  meta_.erase(txn, "rebuild_cursor");
  return true;
}

}  // namespace ates::analytics
