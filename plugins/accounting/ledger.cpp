#include "ledger.hpp"

#include <sodium.h>

#include <algorithm>

#include "ates/protocol/dispatch.hpp"
#include "ates/protocol/events.hpp"

namespace ates::accounting {

using base::Code;
using base::Status;

namespace {

std::string pair_key(std::string_view a, std::string_view b) {
  std::string key(a);
  key += '\0';
  key += b;
  return key;
}

}  // namespace

Ledger::Ledger(storage::Environment& env)
    : env_(env),
      meta_(env.raw_table("settings")),
      accounts_(env.table<Account>("accounts")),
      tasks_(env.table<TaskRef>("tasks")),
      entries_(env.table<Entry>("entries")),
      entries_by_account_(env.raw_table("entries_by_account")),
      account_days_(env.table<std::int64_t>("account_days")),
      day_totals_(env.table<DayTotals>("day_totals")),
      days_(env.table<DayRecord>("days")),
      receipts_(env.table<Receipt>("receipts")),
      receipt_queue_(env.raw_table("receipt_queue")),
      receipts_waiting_(env.raw_table("receipts_waiting")),
      pending_(env.table<PendingCharge>("pending_charges")),
      pending_by_op_(env.raw_table("pending_by_op")) {
  try {
    unconfirmed_.emplace(env.table<UnconfirmedCharge>("unconfirmed_charges"));
  } catch (const std::runtime_error&) {
    if (!env.options().read_only) throw;
  }
}

std::optional<std::string> Ledger::meta(const storage::Txn& txn, std::string_view key) const {
  auto value = meta_.get(txn, key);
  if (!value) return std::nullopt;
  return std::string(*value);
}

base::Result<Ledger::Settings> Ledger::initialise(storage::WriteTxn& txn, const std::string& zone,
                                                  const std::optional<Prices::Key>& configured_key) const {
  auto located = DayZone::locate(zone);
  if (!located) return base::invalid_argument("accounting.day_zone: " + located.status().message());
  Settings settings;
  if (auto stored = meta(txn, "day_zone")) {
    if (*stored != zone) {
      return base::invalid_argument("accounting.day_zone is '" + zone +
                                    "' but this data keeps its days in '" + *stored +
                                    "' since its first start; days cannot move");
    }
  } else {
    meta_.put(txn, "day_zone", zone);
    meta_.put(txn, "first_day", located->day_of(txn.now_us()));
  }
  // Analytics learns the zone from the stream, not from a second setting
  // that could say otherwise. Once: at the first start, or at the first
  // start of a version that knows DayZoneSet for a ledger that is older.
  if (!meta(txn, "day_zone_published")) {
    if (auto published = txn.publish(protocol::DayZoneSet{.zone = zone}); !published) {
      return published.status();
    }
    meta_.put(txn, "day_zone_published", "1");
  }
  settings.zone = zone;
  if (auto stored = meta(txn, "price_key"); stored && stored->size() == Prices::kKeySize) {
    std::copy(stored->begin(), stored->end(), settings.key.begin());
    if (configured_key && *configured_key != settings.key) {
      return base::invalid_argument(
          "accounting.price_key differs from the key this data was priced with; prices cannot change");
    }
  } else {
    if (configured_key) {
      settings.key = *configured_key;
    } else {
      txn.random().fill({settings.key.data(), settings.key.size()});
    }
    meta_.put(txn, "price_key",
              std::string_view(reinterpret_cast<const char*>(settings.key.data()), settings.key.size()));
  }
  return settings;
}

void Ledger::configure(DayZone zone, Prices prices) {
  zone_.emplace(std::move(zone));
  prices_.emplace(prices);
}

// [SECTION] events ---------------------------------------------------------------

Account Ledger::ensure_account(storage::WriteTxn& txn, const std::string& user_id) const {
  // A user first seen in a task event gets a placeholder that auth.users
  // fills later: streams are not ordered between each other.
  if (auto account = accounts_.get(txn, user_id)) return *account;
  Account placeholder;
  accounts_.put(txn, user_id, placeholder);
  return placeholder;
}

base::Result<TaskRef> Ledger::ensure_task(storage::WriteTxn& txn, const std::string& task_id) const {
  if (auto task = tasks_.get(txn, task_id)) return *task;
  const Price price = prices_->of(task_id);
  TaskRef task{.title = {}, .jira_id = {}, .fee_cents = price.fee_cents, .reward_cents = price.reward_cents};
  tasks_.put(txn, task_id, task);
  auto priced = txn.publish(protocol::TaskPriced{
      .task_id = task_id, .fee_cents = price.fee_cents, .reward_cents = price.reward_cents});
  if (!priced) return priced.status();
  return task;
}

Status Ledger::apply_user_event(storage::WriteTxn& txn, const protocol::Envelope& event) const {
  using namespace protocol;
  const auto keep = [&](const std::string& id, const Account& account) {
    accounts_.put(txn, id, account);
    if (!account.email.empty()) queue_receipts_of(txn, id);
  };
  const auto fill = [&](const auto& user) {
    Account account = ensure_account(txn, user.user_id);
    account.username = user.username;
    account.email = user.email.value_or("");
    account.role = user.role;
    account.active = user.active;
    account.known = true;
    keep(user.user_id, account);
  };
  // Signing keys and revocations are the host's business: skipped.
  return dispatch(
      event, [&](const UserCreated& created) { fill(created); },
      [&](const UserUpdated& updated) { fill(updated); },
      [&](const UserRoleChanged& change) {
        Account account = ensure_account(txn, change.user_id);
        account.role = change.new_role;
        keep(change.user_id, account);
      },
      [&](const UserDeactivated& change) {
        Account account = ensure_account(txn, change.user_id);
        account.active = false;
        keep(change.user_id, account);
      });
}

void Ledger::queue_receipts_of(storage::WriteTxn& txn, const std::string& user_id) const {
  const std::string prefix = pair_key(user_id, "");
  std::vector<std::string> waiting;
  receipts_waiting_.scan(txn, prefix, [&](std::string_view key, std::string_view) {
    if (!key.starts_with(prefix)) return false;
    waiting.emplace_back(key);
    return true;
  });
  for (const auto& key : waiting) {
    const std::string payout_id = key.substr(prefix.size());
    receipts_waiting_.erase(txn, key);
    auto receipt = receipts_.get(txn, payout_id);
    if (!receipt || receipt->state != ReceiptState::kWaitingEmail) continue;
    receipt->state = ReceiptState::kQueued;
    receipts_.put(txn, payout_id, *receipt);
    receipt_queue_.put(txn, payout_id, "");
  }
}

Status Ledger::apply_task_event(storage::WriteTxn& txn, const protocol::Envelope& event) const {
  using namespace protocol;
  const auto describe = [&](const std::string& task_id, const std::string& title,
                            const std::optional<std::string>& jira_id) -> Status {
    auto task = ensure_task(txn, task_id);
    if (!task) return task.status();
    task->title = title;
    task->jira_id = jira_id.value_or("");
    tasks_.put(txn, task_id, *task);
    return Status::ok();
  };
  return dispatch(
      event,
      [&](const TaskCreated& created) { return describe(created.task_id, created.title, created.jira_id); },
      [&](const TaskUpdated& updated) { return describe(updated.task_id, updated.title, updated.jira_id); },
      // Every assignment charges the assignee the task's fee: at creation
      // and at each shuffle.
      // The event also confirms a charge COMMIT booked first.
      [&](const TaskAssigned& assigned) {
        unconfirmed_->erase(txn, event.event_id);
        return book_charge(txn, event.event_id, "fee", assigned.task_id, assigned.assignee_id, event.time_us,
                           event.trace_id);
      },
      [&](const TaskCompleted& completed) {
        unconfirmed_->erase(txn, event.event_id);
        return book_charge(txn, event.event_id, "reward", completed.task_id, completed.assignee_id,
                           event.time_us, event.trace_id);
      });
}

Status Ledger::book_charge(storage::WriteTxn& txn, const std::string& event_id, const std::string& kind,
                           const std::string& task_id, const std::string& user_id, std::int64_t occurred_at,
                           std::string_view trace_id) const {
  // The entry's id comes from the event's, so the event and a COMMIT of
  // the same charge (rpc mode) book it once, whichever comes first.
  erase_pending(txn, event_id);
  auto task = ensure_task(txn, task_id);
  if (!task) return task.status();
  return add_entry(txn,
                   {.id = derived_id({event_id, kind}),
                    .user_id = user_id,
                    .task_id = task_id,
                    .kind = kind,
                    .amount_cents = kind == "fee" ? -task->fee_cents : task->reward_cents,
                    .occurred_at = occurred_at,
                    .date = {}},
                   trace_id)
      .status();
}

void Ledger::erase_pending(storage::WriteTxn& txn, const std::string& event_id) const {
  auto held = pending_.get(txn, event_id);
  if (!held) return;
  pending_.erase(txn, event_id);
  pending_by_op_.erase(txn, pair_key(held->op_id, event_id));
}

Status Ledger::prepare(storage::WriteTxn& txn, const protocol::PrepareCharges& request) const {
  for (const auto& charge : request.charges) {
    if (charge.kind != "fee" && charge.kind != "reward")
      return base::invalid_argument("charge " + charge.event_id + ": kind must be fee or reward");
    if (entries_.get(txn, derived_id({charge.event_id, charge.kind}))) continue;  // booked already
    pending_.put(txn, charge.event_id,
                 PendingCharge{.op_id = request.op_id,
                               .kind = charge.kind,
                               .task_id = charge.task_id,
                               .user_id = charge.user_id,
                               .prepared_at = txn.now_us(),
                               .deadline_us = request.deadline_us});
    pending_by_op_.put(txn, pair_key(request.op_id, charge.event_id), "");
  }
  return Status::ok();
}

Status Ledger::decide(storage::WriteTxn& txn, const protocol::ChargeDecision& decision) const {
  if (decision.decision != "commit" && decision.decision != "abort")
    return base::invalid_argument("decision must be commit or abort");
  const std::string prefix = pair_key(decision.op_id, "");
  std::vector<std::string> held;
  pending_by_op_.scan(txn, prefix, [&](std::string_view key, std::string_view) {
    if (!key.starts_with(prefix)) return false;
    held.emplace_back(key.substr(prefix.size()));
    return true;
  });
  for (const auto& event_id : held) {
    auto charge = pending_.get(txn, event_id);
    if (!charge) continue;
    const bool published =
        decision.decision == "commit" &&
        std::find(decision.committed.begin(), decision.committed.end(), event_id) != decision.committed.end();
    if (!published) {
      erase_pending(txn, event_id);  // aborted, or skipped by a shuffle
      continue;
    }
    // Booked now, confirmed when its event comes (or reversed when the
    // tracker's stream shows it never will).
    const std::string entry_id = derived_id({event_id, charge->kind});
    if (!entries_.get(txn, entry_id))
      unconfirmed_->put(
          txn, event_id,
          UnconfirmedCharge{.entry_id = entry_id, .kind = charge->kind, .time_us = decision.time_us});
    if (Status booked =
            book_charge(txn, event_id, charge->kind, charge->task_id, charge->user_id, decision.time_us, {});
        !booked) {
      return booked;
    }
  }
  return Status::ok();
}

std::string_view charge_of(std::string_view kind) {
  if (kind == "fee" || kind == "fee_reversal") return "fee";
  if (kind == "reward" || kind == "reward_reversal") return "reward";
  return {};
}

std::string reversal_id(std::string_view entry_id) { return derived_id({entry_id, "reversal"}); }

std::vector<std::pair<std::string, UnconfirmedCharge>> Ledger::unconfirmed() const {
  storage::ReadTxn txn = env_.read();
  std::vector<std::pair<std::string, UnconfirmedCharge>> out;
  if (!unconfirmed_) return out;
  unconfirmed_->scan(txn, {}, [&](std::string_view id, UnconfirmedCharge charge) {
    out.emplace_back(std::string(id), std::move(charge));
    return true;
  });
  return out;
}

Status Ledger::reverse_unconfirmed(storage::WriteTxn& txn, const std::string& event_id) const {
  const auto charge = unconfirmed_->get(txn, event_id);
  if (!charge) return Status::ok();  // confirmed or reversed meanwhile
  unconfirmed_->erase(txn, event_id);
  const auto original = entries_.get(txn, charge->entry_id);
  if (!original)
    return {base::Code::kInternal, "entry " + charge->entry_id + " of charge " + event_id + " is missing"};
  // Its own day, as the charge: the day cannot have closed normally while
  // the charge waited (the close waits for it); a forced close moves it,
  // as any late entry, to the first open day.
  return add_entry(txn,
                   {.id = reversal_id(original->id),
                    .user_id = original->user_id,
                    .task_id = original->task_id,
                    .kind = original->kind + "_reversal",
                    .amount_cents = -original->amount_cents,
                    .occurred_at = original->occurred_at,
                    .date = {}},
                   {})
      .status();
}

Status Ledger::drop_pending(storage::WriteTxn& txn, const std::string& event_id) const {
  erase_pending(txn, event_id);
  return Status::ok();
}

std::vector<std::pair<std::string, PendingCharge>> Ledger::pending() const {
  storage::ReadTxn txn = env_.read();
  std::vector<std::pair<std::string, PendingCharge>> out;
  pending_.scan(txn, {}, [&](std::string_view id, PendingCharge charge) {
    out.emplace_back(std::string(id), std::move(charge));
    return true;
  });
  return out;
}

base::Result<Entry> Ledger::add_entry(storage::WriteTxn& txn, const NewEntry& fresh,
                                      std::string_view trace_id) const {
  if (auto existing = entries_.get(txn, fresh.id)) return *existing;  // the same cause, seen again
  Entry entry{.id = fresh.id,
              .user_id = fresh.user_id,
              .task_id = fresh.task_id,
              .kind = fresh.kind,
              .amount_cents = fresh.amount_cents,
              .occurred_at = fresh.occurred_at,
              .date = fresh.date,
              .original_date = {},
              .number = 0};
  if (entry.date.empty()) {
    entry.date = zone_->day_of(entry.occurred_at);
    const auto closed = meta(txn, "last_closed");
    if (closed && entry.date <= *closed) {
      // A late entry (its day was force-closed): it counts on the first
      // open day and keeps its own day for the audit.
      entry.original_date = entry.date;
      entry.date = DayZone::next_day(*closed);
    } else if (!closed && entry.date < meta(txn, "first_day").value_or(entry.date)) {
      meta_.put(txn, "first_day", entry.date);  // events older than accounting's first start
    }
  }
  const auto count = meta_.get(txn, "entry_count");
  entry.number = count ? storage::decode_key_u64(*count) + 1 : 1;
  meta_.put(txn, "entry_count", storage::key_u64(entry.number));
  entries_.put(txn, entry.id, entry);
  entries_by_account_.put(txn, pair_key(pair_key(entry.user_id, entry.date), storage::key_u64(entry.number)),
                          entry.id);

  Account account = ensure_account(txn, entry.user_id);
  account.balance_cents += entry.amount_cents;
  accounts_.put(txn, entry.user_id, account);
  const std::string day_key = pair_key(entry.user_id, entry.date);
  account_days_.put(txn, day_key, account_days_.get(txn, day_key).value_or(0) + entry.amount_cents);
  if (const std::string_view charge = charge_of(entry.kind); !charge.empty()) {
    // Fees are negative entries, rewards positive; a reversal has the
    // opposite sign and takes its amount back out of the day's total.
    DayTotals totals = day_totals_.get(txn, entry.date).value_or(DayTotals{});
    if (charge == "fee") totals.fees_cents -= entry.amount_cents;
    if (charge == "reward") totals.rewards_cents += entry.amount_cents;
    day_totals_.put(txn, entry.date, totals);
  }
  auto published = txn.publish(
      protocol::TransactionApplied{
          .entry_id = entry.id,
          .user_id = entry.user_id,
          .task_id = entry.task_id.empty() ? std::nullopt : std::optional<std::string>(entry.task_id),
          .kind = entry.kind,
          .amount_cents = entry.amount_cents,
          .occurred_at = entry.occurred_at,
          .date = entry.date,
          .original_date =
              entry.original_date.empty() ? std::nullopt : std::optional<std::string>(entry.original_date)},
      trace_id);
  if (!published) return published.status();
  return entry;
}

// [SECTION] reads ----------------------------------------------------------------

std::optional<Account> Ledger::account(std::string_view user_id) const {
  storage::ReadTxn txn = env_.read();
  return accounts_.get(txn, user_id);
}

std::vector<std::pair<std::string, Account>> Ledger::accounts(const std::optional<std::string>& after,
                                                              std::size_t limit) const {
  storage::ReadTxn txn = env_.read();
  std::vector<std::pair<std::string, Account>> out;
  accounts_.scan(txn, after.value_or(""), [&](std::string_view id, Account account) {
    if (after && id == *after) return true;
    out.emplace_back(std::string(id), std::move(account));
    return out.size() <= limit;
  });
  return out;
}

std::vector<EntryView> Ledger::entries(std::string_view user_id, const std::optional<std::string>& day,
                                       const std::optional<std::string>& after, std::size_t limit) const {
  storage::ReadTxn txn = env_.read();
  const std::string prefix = day ? pair_key(pair_key(user_id, *day), "") : pair_key(user_id, "");
  std::string from = prefix;
  if (after) {
    auto cursor = entries_.get(txn, *after);
    if (!cursor || cursor->user_id != user_id) return {};
    from = pair_key(pair_key(user_id, cursor->date), storage::key_u64(cursor->number));
  }
  std::vector<EntryView> out;
  entries_by_account_.scan(txn, from, [&](std::string_view key, std::string_view id) {
    if (!key.starts_with(prefix)) return false;
    if (after && id == *after) return true;
    auto entry = entries_.get(txn, id);
    if (!entry) return true;
    EntryView view{*entry, std::nullopt};
    if (!entry->task_id.empty()) view.task = tasks_.get(txn, entry->task_id);
    out.push_back(std::move(view));
    return out.size() <= limit;
  });
  return out;
}

std::vector<DayEarnings> Ledger::earnings(protocol::CalendarDay from, protocol::CalendarDay to) const {
  storage::ReadTxn txn = env_.read();
  std::vector<DayEarnings> out;
  for (std::optional<protocol::CalendarDay> day = from; day && *day <= to; day = day->plus(1)) {
    const std::string date = day->to_string();
    out.push_back({date, day_totals_.get(txn, date).value_or(DayTotals{})});
  }
  return out;
}

std::optional<std::string> Ledger::last_closed() const {
  storage::ReadTxn txn = env_.read();
  return meta(txn, "last_closed");
}

std::string Ledger::first_day() const {
  storage::ReadTxn txn = env_.read();
  return meta(txn, "first_day").value_or("");
}

std::optional<DayRecord> Ledger::day(std::string_view date) const {
  storage::ReadTxn txn = env_.read();
  return days_.get(txn, date);
}

std::optional<TaskRef> Ledger::task(std::string_view task_id) const {
  storage::ReadTxn txn = env_.read();
  return tasks_.get(txn, task_id);
}

// [SECTION] day close --------------------------------------------------------------

base::Result<DayRecord> Ledger::mark_waiting(storage::WriteTxn& txn, const std::string& date) const {
  // A day with a record is waiting since its first attempt, or closed.
  if (auto record = days_.get(txn, date)) return *record;
  const DayRecord record{.status = DayStatus::kWaiting, .waiting_since = txn.now_us()};
  days_.put(txn, date, record);
  return record;
}

base::Result<DayRecord> Ledger::close_day(storage::WriteTxn& txn, const std::string& date,
                                          bool forced) const {
  if (auto record = days_.get(txn, date); record && record->status == DayStatus::kClosed)
    return *record;  // nothing twice
  const auto closed = meta(txn, "last_closed");
  const std::string first_open = closed ? DayZone::next_day(*closed) : meta(txn, "first_day").value_or(date);
  if (date != first_open) {
    return Status(Code::kConflict, "days close in order: " + first_open + " is the first open day");
  }
  DayRecord record = days_.get(txn, date).value_or(DayRecord{});
  record.status = DayStatus::kClosed;
  record.closed_at = txn.now_us();
  record.forced = forced;

  // Each account's closing balance is the sum of its entries dated <= date:
  // its balance minus what later days (already applied) added.
  std::vector<std::pair<std::string, std::int64_t>> payable;
  const std::string later = DayZone::next_day(date);
  accounts_.scan(txn, {}, [&](std::string_view user_id, const Account& account) {
    std::int64_t after_date = 0;
    const std::string prefix = pair_key(user_id, "");
    account_days_.scan(txn, prefix + later, [&](std::string_view key, std::int64_t sum) {
      if (!key.starts_with(prefix)) return false;
      after_date += sum;
      return true;
    });
    const std::int64_t closing = account.balance_cents - after_date;
    if (closing > 0) payable.emplace_back(std::string(user_id), closing);  // a negative one carries over
    return true;
  });
  for (const auto& [user_id, closing] : payable) {
    const std::string payout_id = derived_id({"payout", user_id, date});
    auto entry = add_entry(txn,
                           {.id = payout_id,
                            .user_id = user_id,
                            .task_id = {},
                            .kind = "payout",
                            .amount_cents = -closing,
                            .occurred_at = txn.now_us(),
                            .date = date},
                           {});
    if (!entry) return entry.status();
    auto paid = txn.publish(protocol::PayoutMade{
        .payout_id = payout_id, .user_id = user_id, .date = date, .amount_cents = closing});
    if (!paid) return paid.status();
    const Account account = ensure_account(txn, user_id);
    Receipt receipt{.payout_id = payout_id,
                    .user_id = user_id,
                    .date = date,
                    .amount_cents = closing,
                    .state = account.email.empty() ? ReceiptState::kWaitingEmail : ReceiptState::kQueued,
                    .attempts = 0,
                    .next_attempt_us = 0,
                    .last_error = {},
                    .sent_at_us = 0};
    receipts_.put(txn, payout_id, receipt);
    if (receipt.state == ReceiptState::kQueued) {
      receipt_queue_.put(txn, payout_id, "");
    } else {
      receipts_waiting_.put(txn, pair_key(user_id, payout_id), "");
    }
    ++record.payouts;
    record.paid_cents += closing;
  }
  auto day_closed = txn.publish(
      protocol::DayClosed{.date = date, .payouts = record.payouts, .paid_cents = record.paid_cents});
  if (!day_closed) return day_closed.status();
  days_.put(txn, date, record);
  meta_.put(txn, "last_closed", date);
  return record;
}

// [SECTION] receipts -----------------------------------------------------------------

std::vector<Receipt> Ledger::due_receipts(std::int64_t now_us, std::size_t max) const {
  storage::ReadTxn txn = env_.read();
  std::vector<Receipt> due;
  receipt_queue_.scan(txn, {}, [&](std::string_view payout_id, std::string_view) {
    auto receipt = receipts_.get(txn, payout_id);
    if (receipt && receipt->state == ReceiptState::kQueued && receipt->next_attempt_us <= now_us)
      due.push_back(*receipt);
    return due.size() < max;
  });
  return due;
}

std::optional<std::int64_t> Ledger::next_receipt_due() const {
  storage::ReadTxn txn = env_.read();
  std::optional<std::int64_t> next;
  receipt_queue_.scan(txn, {}, [&](std::string_view payout_id, std::string_view) {
    auto receipt = receipts_.get(txn, payout_id);
    if (receipt && (!next || receipt->next_attempt_us < *next)) next = receipt->next_attempt_us;
    return true;
  });
  return next;
}

std::optional<Receipt> Ledger::receipt(std::string_view payout_id) const {
  storage::ReadTxn txn = env_.read();
  return receipts_.get(txn, payout_id);
}

Status Ledger::receipt_sent(storage::WriteTxn& txn, const std::string& payout_id, std::int64_t now_us) const {
  auto receipt = receipts_.get(txn, payout_id);
  if (!receipt) return Status(Code::kNotFound, "no receipt " + payout_id);
  receipt->state = ReceiptState::kSent;
  receipt->sent_at_us = now_us;
  ++receipt->attempts;
  receipt->last_error.clear();
  receipts_.put(txn, payout_id, *receipt);
  receipt_queue_.erase(txn, payout_id);
  return Status::ok();
}

Status Ledger::receipt_needs_email(storage::WriteTxn& txn, const std::string& payout_id) const {
  auto receipt = receipts_.get(txn, payout_id);
  if (!receipt) return Status(Code::kNotFound, "no receipt " + payout_id);
  if (receipt->state != ReceiptState::kQueued) return Status::ok();
  if (auto account = accounts_.get(txn, receipt->user_id); account && !account->email.empty()) {
    return Status::ok();  // an email came meanwhile: it stays queued
  }
  receipt->state = ReceiptState::kWaitingEmail;
  receipts_.put(txn, payout_id, *receipt);
  receipt_queue_.erase(txn, payout_id);
  receipts_waiting_.put(txn, pair_key(receipt->user_id, payout_id), "");
  return Status::ok();
}

Status Ledger::receipt_failed(storage::WriteTxn& txn, const std::string& payout_id, const std::string& error,
                              std::int64_t next_attempt_us) const {
  auto receipt = receipts_.get(txn, payout_id);
  if (!receipt) return Status(Code::kNotFound, "no receipt " + payout_id);
  ++receipt->attempts;
  receipt->last_error = error;
  receipt->next_attempt_us = next_attempt_us;
  receipts_.put(txn, payout_id, *receipt);
  return Status::ok();
}

}  // namespace ates::accounting
