// The ledger on a real LMDB environment, fed envelopes directly: the rules
// of docs/accounting.md without a bus or HTTP in the way (those are in
// tests/integration/accounting_test.cpp).
#include "ledger.hpp"

#include <boost/test/unit_test.hpp>

#include "ates/base/clock.hpp"
#include "ates/protocol/events.hpp"
#include "ates/protocol/uuid.hpp"
#include "ates/testing/stream.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates::accounting {
namespace {

constexpr std::int64_t kHour = std::int64_t{3600} * 1'000'000;
constexpr std::int64_t kMarch3 = std::int64_t{1772496000} * 1'000'000;  // 2026-03-03T00:00Z

struct Books {
  testing::TempDir dir;
  base::ManualClock clock{kMarch3 + 9 * kHour};
  base::SeededRandom random{7};
  std::unique_ptr<storage::Environment> env;
  std::unique_ptr<Ledger> ledger;
  std::uint64_t seq = 0;

  Books() {
    auto opened = storage::Environment::open({.dir = dir / "accounting",
                                              .producer = "accounting",
                                              .map_size = std::size_t{1} << 28,
                                              .clock = &clock,
                                              .random = &random});
    BOOST_TEST_REQUIRE(opened.has_value(), opened.status().to_string());
    env = std::move(opened).value();
    BOOST_TEST_REQUIRE(env->declare_stream(protocol::kTransactionsStream).is_ok());
    ledger = std::make_unique<Ledger>(*env);
    Prices::Key key{};
    key.fill(3);
    auto settings = env->run_for<Ledger::Settings>(
        [&](storage::WriteTxn& txn) { return ledger->initialise(txn, "UTC", key); });
    BOOST_TEST_REQUIRE(settings.has_value(), settings.status().to_string());
    ledger->configure(*DayZone::locate("UTC"), Prices(settings->key));
  }

  // An event as the bus hands it to a handler, stamped `time_us`.
  template <class Event>
  protocol::Envelope envelope(const Event& event, std::int64_t time_us) {
    protocol::Envelope e;
    e.event_id = protocol::make_uuid(random);
    e.name = std::string(Event::kName);
    e.version = Event::kVersion;
    e.stream = std::string(Event::kStream);
    e.seq = ++seq;
    e.time_us = time_us;
    e.payload = protocol::encode_payload(event);
    return e;
  }

  base::Status apply(const protocol::Envelope& e) {
    return env->run([&](storage::WriteTxn& txn) {
      return e.stream == protocol::kUsersStream ? ledger->apply_user_event(txn, e)
                                                : ledger->apply_task_event(txn, e);
    });
  }
  template <class Event>
  void apply(const Event& event, std::int64_t time_us) {
    const auto status = apply(envelope(event, time_us));
    BOOST_TEST_REQUIRE(status.is_ok(), status.to_string());
  }

  void user(const std::string& id, const std::string& name, const std::string& email = {}) {
    apply(protocol::UserCreated{.user_id = id,
                                .username = name,
                                .email = email.empty() ? std::nullopt : std::optional<std::string>(email),
                                .role = "worker",
                                .active = true},
          clock.now_us());
  }
  void assign(const std::string& task, const std::string& user, std::int64_t at) {
    apply(protocol::TaskAssigned{.task_id = task,
                                 .assignee_id = user,
                                 .previous_assignee_id = {},
                                 .reason = "created",
                                 .shuffle_id = {}},
          at);
  }
  void complete(const std::string& task, const std::string& user, std::int64_t at) {
    apply(protocol::TaskCompleted{.task_id = task, .assignee_id = user}, at);
  }

  std::int64_t balance(const std::string& user) const {
    return ledger->account(user).value_or(Account{}).balance_cents;
  }
  Price price(const std::string& task) const {
    const auto ref = ledger->task(task);
    BOOST_TEST_REQUIRE(ref.has_value());
    return {ref->fee_cents, ref->reward_cents};
  }
  base::Result<DayRecord> close(const std::string& day, bool forced = false) {
    return env->run_for<DayRecord>(
        [&](storage::WriteTxn& txn) { return ledger->close_day(txn, day, forced); });
  }
  std::int64_t sum_of_entries(const std::string& user) const {
    std::int64_t sum = 0;
    for (const auto& view : ledger->entries(user, std::nullopt, std::nullopt, 100'000))
      sum += view.entry.amount_cents;
    return sum;
  }
};

const std::string kAnn = "00000000-0000-4000-8000-00000000000a";
const std::string kBob = "00000000-0000-4000-8000-00000000000b";
const std::string kCid = "00000000-0000-4000-8000-00000000000c";
std::string task(int n) {
  return "10000000-0000-4000-8000-" + std::string(12 - std::to_string(n).size(), '0') + std::to_string(n);
}

BOOST_AUTO_TEST_SUITE(ledger)

BOOST_AUTO_TEST_CASE(a_user_first_seen_in_a_task_event_gets_a_placeholder_filled_later) {
  Books b;
  b.assign(task(1), kAnn, kMarch3 + 9 * kHour);  // before her UserCreated
  const auto placeholder = b.ledger->account(kAnn);
  BOOST_TEST_REQUIRE(placeholder.has_value());
  BOOST_TEST(!placeholder->known);
  BOOST_TEST(placeholder->balance_cents == -b.price(task(1)).fee_cents);
  b.user(kAnn, "ann", "ann@example.com");
  const auto filled = b.ledger->account(kAnn);
  BOOST_TEST(filled->known);
  BOOST_TEST(filled->username == "ann");
  BOOST_TEST(filled->balance_cents == placeholder->balance_cents);  // the money stayed
}

BOOST_AUTO_TEST_CASE(token_revocations_and_key_retirements_are_not_the_ledger_s_business) {
  Books b;
  // Applied without error (no dead letter, no stall) and without a trace:
  // no placeholder account for a user only named in a revocation.
  b.apply(protocol::TokensRevoked{.user_id = kAnn, .generation = 1, .reason = "password_changed"},
          b.clock.now_us());
  b.apply(protocol::TokenRevoked{.user_id = kAnn, .jti = "j-1", .expires_at = kMarch3}, b.clock.now_us());
  b.apply(protocol::SigningKeyRetired{.kid = "k1", .not_after = kMarch3}, b.clock.now_us());
  BOOST_TEST(!b.ledger->account(kAnn).has_value());
}

BOOST_AUTO_TEST_CASE(fees_rewards_and_balances_are_sums_of_entries_and_a_cause_counts_once) {
  Books b;
  b.user(kAnn, "ann");
  b.assign(task(1), kAnn, kMarch3 + 9 * kHour);
  b.assign(task(2), kAnn, kMarch3 + 10 * kHour);
  const auto completed =
      b.envelope(protocol::TaskCompleted{.task_id = task(1), .assignee_id = kAnn}, kMarch3 + 11 * kHour);
  BOOST_TEST_REQUIRE(b.apply(completed).is_ok());
  BOOST_TEST_REQUIRE(b.apply(completed).is_ok());  // the same event again (a replay): no second reward
  const std::int64_t expected =
      -b.price(task(1)).fee_cents - b.price(task(2)).fee_cents + b.price(task(1)).reward_cents;
  BOOST_TEST(b.balance(kAnn) == expected);
  BOOST_TEST(b.sum_of_entries(kAnn) == expected);
  BOOST_TEST(b.ledger->entries(kAnn, std::nullopt, std::nullopt, 100).size() == 3u);
  const auto day =
      b.ledger
          ->earnings(*protocol::CalendarDay::parse("2026-03-03"), *protocol::CalendarDay::parse("2026-03-03"))
          .at(0);
  BOOST_TEST(day.totals.fees_cents == b.price(task(1)).fee_cents + b.price(task(2)).fee_cents);
  BOOST_TEST(day.totals.rewards_cents == b.price(task(1)).reward_cents);
  // Each task was priced once, and the entries went out on the stream.
  b.env.reset();
  int priced = 0, applied = 0;
  for (const auto& e :
       testing::read_stream(b.dir / "accounting", "accounting", protocol::kTransactionsStream)) {
    priced += e.name == protocol::TaskPriced::kName;
    applied += e.name == protocol::TransactionApplied::kName;
  }
  BOOST_TEST(priced == 2);
  BOOST_TEST(applied == 3);
}

BOOST_AUTO_TEST_CASE(a_close_pays_positive_closing_balances_once_and_carries_negative_ones) {
  Books b;
  b.user(kAnn, "ann", "ann@example.com");
  b.user(kBob, "bob", "bob@example.com");
  b.user(kCid, "cid");  // no email yet
  b.assign(task(1), kAnn, kMarch3 + 9 * kHour);
  b.complete(task(1), kAnn, kMarch3 + 10 * kHour);  // ann: reward - fee > 0
  b.assign(task(2), kBob, kMarch3 + 9 * kHour);     // bob: - fee
  b.assign(task(3), kCid, kMarch3 + 9 * kHour);
  b.complete(task(3), kCid, kMarch3 + 10 * kHour);
  const std::int64_t ann_on_d = b.balance(kAnn), bob_on_d = b.balance(kBob), cid_on_d = b.balance(kCid);
  BOOST_TEST_REQUIRE(ann_on_d > 0);
  BOOST_TEST_REQUIRE(bob_on_d < 0);
  // The next day's entries are applied before D closes: not paid with D.
  b.clock.set(kMarch3 + 25 * kHour);
  b.assign(task(4), kAnn, kMarch3 + 25 * kHour);
  b.complete(task(4), kAnn, kMarch3 + 26 * kHour);

  auto closed = b.close("2026-03-03");
  BOOST_TEST_REQUIRE(closed.has_value(), closed.status().to_string());
  BOOST_TEST(closed->payouts == 2u);
  BOOST_TEST(closed->paid_cents == ann_on_d + cid_on_d);
  BOOST_TEST(b.balance(kAnn) == b.price(task(4)).reward_cents - b.price(task(4)).fee_cents);  // D+1 stays
  BOOST_TEST(b.balance(kBob) == bob_on_d);                                                    // carried over
  BOOST_TEST(b.balance(kCid) == 0);
  const auto payout = b.ledger->entries(kAnn, std::string("2026-03-03"), std::nullopt, 100).back();
  BOOST_TEST(payout.entry.kind == "payout");
  BOOST_TEST(payout.entry.amount_cents == -ann_on_d);
  BOOST_TEST(payout.entry.date == "2026-03-03");

  // Again: the same record, nothing paid twice.
  auto again = b.close("2026-03-03");
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->payouts == 2u);
  BOOST_TEST(b.balance(kAnn) == b.price(task(4)).reward_cents - b.price(task(4)).fee_cents);
  // Out of order: refused.
  const auto skipped = b.close("2026-03-05");
  BOOST_TEST(!skipped.has_value());
  BOOST_TEST(skipped.status().message().find("2026-03-04 is the first open day") != std::string::npos);

  // Receipts: ann's is queued; cid's waits for an email and is queued when it comes.
  const auto due = b.ledger->due_receipts(INT64_MAX, 10);
  BOOST_TEST_REQUIRE(due.size() == 1u);
  BOOST_TEST(due[0].user_id == kAnn);
  BOOST_TEST(due[0].amount_cents == ann_on_d);
  b.apply(protocol::UserUpdated{.user_id = kCid,
                                .username = "cid",
                                .email = std::string("cid@example.com"),
                                .role = "worker",
                                .active = true},
          b.clock.now_us());
  BOOST_TEST(b.ledger->due_receipts(INT64_MAX, 10).size() == 2u);
  // Ann's email is removed before her receipt leaves: it waits again
  // (rather than staying due, which would spin the mailer).
  b.apply(
      protocol::UserUpdated{
          .user_id = kAnn, .username = "ann", .email = std::nullopt, .role = "worker", .active = true},
      b.clock.now_us());
  BOOST_TEST_REQUIRE(
      b.env->run([&](storage::WriteTxn& txn) { return b.ledger->receipt_needs_email(txn, due[0].payout_id); })
          .is_ok());
  const auto left = b.ledger->due_receipts(INT64_MAX, 10);
  BOOST_TEST_REQUIRE(left.size() == 1u);
  BOOST_TEST(left[0].user_id == kCid);
  BOOST_TEST((b.ledger->receipt(due[0].payout_id)->state == ReceiptState::kWaitingEmail));
}

BOOST_AUTO_TEST_CASE(an_event_of_a_closed_day_becomes_a_late_entry_on_the_first_open_day) {
  Books b;
  b.user(kAnn, "ann");
  b.clock.set(kMarch3 + 25 * kHour);
  BOOST_TEST_REQUIRE(b.close("2026-03-03", true).has_value());  // forced
  b.assign(task(1), kAnn, kMarch3 + 23 * kHour);                // of D, arriving late
  const auto entries = b.ledger->entries(kAnn, std::nullopt, std::nullopt, 10);
  BOOST_TEST_REQUIRE(entries.size() == 1u);
  BOOST_TEST(entries[0].entry.date == "2026-03-04");
  BOOST_TEST(entries[0].entry.original_date == "2026-03-03");
  BOOST_TEST(
      b.ledger
          ->earnings(*protocol::CalendarDay::parse("2026-03-04"), *protocol::CalendarDay::parse("2026-03-04"))
          .at(0)
          .totals.fees_cents == b.price(task(1)).fee_cents);
}

BOOST_AUTO_TEST_CASE(the_zone_and_the_price_key_are_fixed_at_the_first_start) {
  Books b;
  Prices::Key other{};
  other.fill(9);
  auto moved = b.env->run_for<Ledger::Settings>(
      [&](storage::WriteTxn& txn) { return b.ledger->initialise(txn, "Europe/Moscow", std::nullopt); });
  BOOST_TEST(!moved.has_value());
  BOOST_TEST(moved.status().message().find("days cannot move") != std::string::npos);
  auto rekeyed = b.env->run_for<Ledger::Settings>(
      [&](storage::WriteTxn& txn) { return b.ledger->initialise(txn, "UTC", other); });
  BOOST_TEST(!rekeyed.has_value());
  BOOST_TEST(rekeyed.status().message().find("prices cannot change") != std::string::npos);
}

// `ates audit` opens accounting read-only, possibly on data an older
// version wrote, before unconfirmed charges had a table: the ledger opens
// and has none; a writable open creates the table.
BOOST_AUTO_TEST_CASE(a_read_only_ledger_opens_data_written_before_unconfirmed_charges_had_a_table) {
  testing::TempDir dir;
  {
    auto older = storage::Environment::open(
        {.dir = dir / "accounting", .producer = "accounting", .map_size = std::size_t{1} << 26});
    BOOST_TEST_REQUIRE(older.has_value(), older.status().to_string());
    // Every table an older ledger kept, and not the new one.
    for (const char* name :
         {"settings", "accounts", "tasks", "entries", "entries_by_account", "account_days", "day_totals",
          "days", "receipts", "receipt_queue", "receipts_waiting", "pending_charges", "pending_by_op"})
      static_cast<void>((*older)->raw_table(name));
  }
  auto read_only = storage::Environment::open({.dir = dir / "accounting",
                                               .producer = "accounting",
                                               .map_size = std::size_t{1} << 26,
                                               .read_only = true});
  BOOST_TEST_REQUIRE(read_only.has_value(), read_only.status().to_string());
  BOOST_CHECK_THROW(static_cast<void>((*read_only)->table<UnconfirmedCharge>("unconfirmed_charges")),
                    std::runtime_error);  // the table really is missing
  std::unique_ptr<Ledger> ledger;
  BOOST_CHECK_NO_THROW(ledger = std::make_unique<Ledger>(**read_only));
  if (ledger) BOOST_TEST(ledger->unconfirmed().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::accounting
