// accounting's storage: accounts, task prices, the ledger of entries (the
// audit log), per-day totals, closed days and the receipts' outbox. Every
// entry is published on accounting.transactions in the unit that writes it,
// so the stream and the ledger never disagree.
//
// Ids are derived, not drawn: an entry's id is a keyed hash of the event
// that caused it (and a payout's of its user and day), so a replay, a
// rebuild, or a charge reaching accounting twice by two routes (rpc mode)
// lands on the same id.
//
// Thread-safety: units run on the environment's writer thread; reads open
// their own read transaction and may run on any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ates/days/day_zone.hpp"
#include "ates/protocol/calendar_day.hpp"
#include "ates/protocol/charge.hpp"
#include "ates/protocol/envelope.hpp"
#include "ates/storage/environment.hpp"
#include "ates/storage/named_enum.hpp"

#include "entry_id.hpp"
#include "prices.hpp"

namespace ates::accounting {

using DayZone = days::DayZone;

struct Account {
  std::string username;  // empty until auth.users tells (a placeholder)
  std::string email;     // empty: unknown, so receipts wait
  std::string role;
  bool active = true;
  bool known = false;  // false: first seen in a task event, before its UserCreated
  std::int64_t balance_cents = 0;
  MSGPACK_DEFINE(username, email, role, active, known, balance_cents)
};

struct TaskRef {
  std::string title;    // empty until TaskCreated arrives
  std::string jira_id;  // empty: none
  std::int64_t fee_cents = 0;
  std::int64_t reward_cents = 0;
  MSGPACK_DEFINE(title, jira_id, fee_cents, reward_cents)
};

struct Entry {
  std::string id;
  std::string user_id;
  std::string task_id;  // empty for a payout
  std::string kind;     // "fee" | "reward" | "payout" | "fee_reversal" | "reward_reversal"
  std::int64_t amount_cents = 0;
  std::int64_t occurred_at = 0;  // µs: the time of the event that caused it
  std::string date;              // the day it counts in
  std::string original_date;     // a late entry's own day; empty otherwise
  std::uint64_t number = 0;      // order of writing, for the per-account index
  MSGPACK_DEFINE(id, user_id, task_id, kind, amount_cents, occurred_at, date, original_date, number)
};

// A day with a record is waiting (a close had to wait for a stream) or
// closed; a day without one is open.
enum class DayStatus { kWaiting, kClosed };
// A receipt waits for its user's email address, is queued for the mailer,
// or was sent.
enum class ReceiptState { kWaitingEmail, kQueued, kSent };

}  // namespace ates::accounting

// Stored and shown as "waiting", "closed"; "waiting_email", "queued", "sent".
template <>
struct ates::storage::EnumNames<ates::accounting::DayStatus> {
  static constexpr std::array<std::pair<ates::accounting::DayStatus, std::string_view>, 2> kNames{
      {{ates::accounting::DayStatus::kWaiting, "waiting"}, {ates::accounting::DayStatus::kClosed, "closed"}}};
};
template <>
struct ates::storage::EnumNames<ates::accounting::ReceiptState> {
  static constexpr std::array<std::pair<ates::accounting::ReceiptState, std::string_view>, 3> kNames{
      {{ates::accounting::ReceiptState::kWaitingEmail, "waiting_email"},
       {ates::accounting::ReceiptState::kQueued, "queued"},
       {ates::accounting::ReceiptState::kSent, "sent"}}};
};

namespace ates::accounting {

struct DayTotals {
  std::int64_t fees_cents = 0;     // fees charged (a positive sum)
  std::int64_t rewards_cents = 0;  // rewards paid out to workers (a positive sum)
  MSGPACK_DEFINE(fees_cents, rewards_cents)
};

struct DayRecord {
  DayStatus status = DayStatus::kWaiting;
  std::int64_t waiting_since = 0;  // business µs of the first close attempt that had to wait
  std::int64_t closed_at = 0;
  bool forced = false;
  std::uint64_t payouts = 0;
  std::int64_t paid_cents = 0;
  MSGPACK_DEFINE(status, waiting_since, closed_at, forced, payouts, paid_cents)
};

// One receipt per payout, queued in the payout's unit.
struct Receipt {
  std::string payout_id;
  std::string user_id;
  std::string date;
  std::int64_t amount_cents = 0;
  ReceiptState state = ReceiptState::kQueued;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt_us = 0;  // real clock: retries are not business time
  std::string last_error;
  std::int64_t sent_at_us = 0;
  MSGPACK_DEFINE(payout_id, user_id, date, amount_cents, state, attempts, next_attempt_us, last_error,
                 sent_at_us)
};

// rpc mode: a charge the tracker asked us to hold (step 2 of the two-phase
// charge in docs/tracker.md). Not in balances, entries or earnings until
// COMMIT or its event arrives.
struct PendingCharge {
  std::string op_id;
  std::string kind;  // "fee" | "reward"
  std::string task_id;
  std::string user_id;
  std::int64_t prepared_at = 0;  // business µs
  std::int64_t deadline_us = 0;  // no event of the op is stamped at or after it
  MSGPACK_DEFINE(op_id, kind, task_id, user_id, prepared_at, deadline_us)
};

// rpc mode: a charge COMMIT booked before its tracker.tasks event came.
// Kept until the event confirms it, or until tracker.tasks is complete
// past its time without that event: then it is reversed.
struct UnconfirmedCharge {
  std::string entry_id;
  std::string kind;          // "fee" | "reward"
  std::int64_t time_us = 0;  // the COMMIT's time, which its event carries
  MSGPACK_DEFINE(entry_id, kind, time_us)
};

// The charge a kind of entry belongs to: "fee" for fees and their
// reversals, "reward" likewise, empty for a payout.
std::string_view charge_of(std::string_view kind);
// The id of the entry that reverses `entry_id`.
std::string reversal_id(std::string_view entry_id);

struct EntryView {
  Entry entry;
  std::optional<TaskRef> task;  // for fee and reward
};

struct DayEarnings {
  std::string date;
  DayTotals totals;
};

class Ledger {
 public:
  explicit Ledger(storage::Environment& env);

  // The first start fixes the day zone and the price key; later starts must
  // name the same zone (days cannot move) and, when given, the same key.
  // Returns the zone and key in force.
  struct Settings {
    std::string zone;
    Prices::Key key{};
  };
  base::Result<Settings> initialise(storage::WriteTxn& txn, const std::string& zone,
                                    const std::optional<Prices::Key>& configured_key) const;
  // After initialise: the zone and prices every unit uses.
  void configure(DayZone zone, Prices prices);
  const DayZone& zone() const { return *zone_; }

  // Event handlers (units run by the bus, in stream order).
  base::Status apply_user_event(storage::WriteTxn& txn, const protocol::Envelope& event) const;
  base::Status apply_task_event(storage::WriteTxn& txn, const protocol::Envelope& event) const;

  // Reads.
  std::optional<Account> account(std::string_view user_id) const;
  std::vector<std::pair<std::string, Account>> accounts(const std::optional<std::string>& after,
                                                        std::size_t limit) const;
  // An account's entries (of one day, or all), in the order written, after
  // the entry `after`; at most limit + 1.
  std::vector<EntryView> entries(std::string_view user_id, const std::optional<std::string>& day,
                                 const std::optional<std::string>& after, std::size_t limit) const;
  // One total per day from `from` to `to`, both counted; the caller bounds
  // the range (a request's is at most 366 days).
  std::vector<DayEarnings> earnings(protocol::CalendarDay from, protocol::CalendarDay to) const;
  std::optional<std::string> last_closed() const;
  std::string first_day() const;
  std::optional<DayRecord> day(std::string_view date) const;
  std::optional<TaskRef> task(std::string_view task_id) const;

  // Day close (units). close_day closes `date`, which must be the first
  // open day: pays every account whose closing balance (entries dated <=
  // date) is positive, queues the receipts, publishes PayoutMade for each and
  // DayClosed.
  base::Result<DayRecord> close_day(storage::WriteTxn& txn, const std::string& date, bool forced) const;
  // Notes that closing `date` had to wait (kept from the first attempt).
  base::Result<DayRecord> mark_waiting(storage::WriteTxn& txn, const std::string& date) const;

  // rpc mode's charges (docs/accounting.md): PREPARE holds them, COMMIT turns
  // the published ones into entries (the rest are dropped), ABORT drops them.
  // The matching tracker.tasks event also turns one into its entry, and a
  // charge still held once tracker.tasks is complete past its deadline is
  // dropped (drop_pending).
  base::Status prepare(storage::WriteTxn& txn, const protocol::PrepareCharges& request) const;
  base::Status decide(storage::WriteTxn& txn, const protocol::ChargeDecision& decision) const;
  base::Status drop_pending(storage::WriteTxn& txn, const std::string& event_id) const;
  std::vector<std::pair<std::string, PendingCharge>> pending() const;  // by event id
  // Charges COMMIT booked whose event has not come yet, by event id.
  std::vector<std::pair<std::string, UnconfirmedCharge>> unconfirmed() const;
  // Reverses a committed charge whose event never came: an entry of the
  // opposite amount, kind "<kind>_reversal", on the charge's day (or, when
  // that day was force-closed, the first open one). Once only.
  base::Status reverse_unconfirmed(storage::WriteTxn& txn, const std::string& event_id) const;

  // Receipts: what is due at `now_us` (real clock); then the outcome.
  std::vector<Receipt> due_receipts(std::int64_t now_us, std::size_t max) const;
  std::optional<Receipt> receipt(std::string_view payout_id) const;
  base::Status receipt_sent(storage::WriteTxn& txn, const std::string& payout_id, std::int64_t now_us) const;
  base::Status receipt_failed(storage::WriteTxn& txn, const std::string& payout_id, const std::string& error,
                              std::int64_t next_attempt_us) const;
  // Back to waiting for an email (the account's email was removed after
  // the receipt was queued).
  base::Status receipt_needs_email(storage::WriteTxn& txn, const std::string& payout_id) const;
  // The earliest next attempt of a queued receipt (real µs), if any.
  std::optional<std::int64_t> next_receipt_due() const;

 private:
  struct NewEntry {
    std::string id;
    std::string user_id;
    std::string task_id;
    std::string kind;
    std::int64_t amount_cents = 0;
    std::int64_t occurred_at = 0;
    std::string date;  // empty: the day of occurred_at, or the first open day when that is closed
  };
  base::Result<Entry> add_entry(storage::WriteTxn& txn, const NewEntry& entry,
                                std::string_view trace_id) const;
  Account ensure_account(storage::WriteTxn& txn, const std::string& user_id) const;
  base::Result<TaskRef> ensure_task(storage::WriteTxn& txn, const std::string& task_id) const;
  void queue_receipts_of(storage::WriteTxn& txn, const std::string& user_id) const;
  base::Status book_charge(storage::WriteTxn& txn, const std::string& event_id, const std::string& kind,
                           const std::string& task_id, const std::string& user_id, std::int64_t occurred_at,
                           std::string_view trace_id) const;
  void erase_pending(storage::WriteTxn& txn, const std::string& event_id) const;
  std::optional<std::string> meta(const storage::Txn& txn, std::string_view key) const;

  storage::Environment& env_;
  std::optional<DayZone> zone_;
  std::optional<Prices> prices_;
  storage::RawTable meta_;  // day_zone, day_zone_published, price_key, first_day, last_closed, entry_count
  storage::Table<Account> accounts_;           // user id -> account
  storage::Table<TaskRef> tasks_;              // task id -> title and price
  storage::Table<Entry> entries_;              // entry id -> entry
  storage::RawTable entries_by_account_;       // user \0 date \0 number -> entry id
  storage::Table<std::int64_t> account_days_;  // user \0 date -> sum of that day's entries
  storage::Table<DayTotals> day_totals_;       // date -> fees and rewards
  storage::Table<DayRecord> days_;             // date -> waiting or closed
  storage::Table<Receipt> receipts_;           // payout id -> receipt
  storage::RawTable receipt_queue_;            // payout id of each queued receipt
  storage::RawTable receipts_waiting_;         // user \0 payout id of receipts waiting for an email
  storage::Table<PendingCharge> pending_;      // event id -> a held charge (rpc mode)
  storage::RawTable pending_by_op_;            // op id \0 event id
  // event id -> a committed charge awaiting its event. Newer than the other
  // tables: a read-only open (ates audit) of data an older version wrote
  // has none, and nothing to read from it.
  std::optional<storage::Table<UnconfirmedCharge>> unconfirmed_;
};

}  // namespace ates::accounting
