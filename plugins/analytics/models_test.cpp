// analytics' models on a real LMDB environment, fed envelopes directly.
#include "models.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "ates/protocol/events.hpp"
#include "ates/protocol/uuid.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates::analytics {
namespace {

constexpr std::int64_t kHour = std::int64_t{3600} * 1'000'000;
constexpr std::int64_t kMarch3 = std::int64_t{1772496000} * 1'000'000;  // 2026-03-03T00:00Z

struct Store {
  testing::TempDir dir;
  base::SeededRandom random{5};
  std::unique_ptr<storage::Environment> env;
  std::unique_ptr<Analytics> analytics;
  std::uint64_t seq = 0;

  Store() {
    auto opened = storage::Environment::open({.dir = dir / "analytics",
                                              .producer = "analytics",
                                              .map_size = std::size_t{1} << 28,
                                              .random = &random});
    BOOST_TEST_REQUIRE(opened.has_value());
    env = std::move(opened).value();
    analytics = std::make_unique<Analytics>(*env);
  }

  template <class Event>
  void receive(const Event& event, std::int64_t time_us = kMarch3) {
    const auto status = try_receive(event, time_us);
    BOOST_TEST_REQUIRE(status.is_ok(), status.to_string());
  }

  template <class Event>
  base::Status try_receive(const Event& event, std::int64_t time_us = kMarch3) {
    protocol::Envelope e;
    e.event_id = protocol::make_uuid(random);
    e.name = std::string(Event::kName);
    e.version = Event::kVersion;
    e.stream = std::string(Event::kStream);
    e.producer = e.stream.substr(0, e.stream.find('.'));  // tracker.tasks -> tracker
    e.stream_epoch = "00000000-0000-4000-8000-0000000000e1";
    e.seq = ++seq;
    e.time_us = time_us;
    e.payload = protocol::encode_payload(event);
    return env->run([&](storage::WriteTxn& txn) { return analytics->receive(txn, e); });
  }

  void entry(const std::string& user, const std::string& kind, std::int64_t amount, const std::string& date,
             std::int64_t at, const std::string& task = {}, const std::string& original_date = {}) {
    receive(protocol::TransactionApplied{
        .entry_id = protocol::make_uuid(random),
        .user_id = user,
        .task_id = task.empty() ? std::nullopt : std::optional<std::string>(task),
        .kind = kind,
        .amount_cents = amount,
        .occurred_at = at,
        .date = date,
        .original_date = original_date.empty() ? std::nullopt : std::optional<std::string>(original_date)});
  }

  void rebuild() {
    BOOST_TEST_REQUIRE(
        env->run([&](storage::WriteTxn& txn) { return analytics->start_rebuild(txn); }).is_ok());
    for (int steps = 0;; ++steps) {
      BOOST_TEST_REQUIRE(steps < 1000);
      auto done = env->run_for<bool>([&](storage::WriteTxn& txn) { return analytics->rebuild_step(txn, 3); });
      BOOST_TEST_REQUIRE(done.has_value(), done.status().to_string());
      if (*done) break;
    }
  }
};

const std::string kAnn = "00000000-0000-4000-8000-00000000000a";
const std::string kBob = "00000000-0000-4000-8000-00000000000b";
std::string task(int n) { return "10000000-0000-4000-8000-00000000000" + std::to_string(n); }

BOOST_AUTO_TEST_SUITE(models)

BOOST_AUTO_TEST_CASE(the_most_expensive_task_by_day_with_ties_to_the_earliest) {
  Store s;
  s.receive(protocol::TaskCreated{.task_id = task(1),
                                  .title = "Feed",
                                  .jira_id = std::string("UBERPOP-1"),
                                  .description = "",
                                  .created_by = kAnn});
  s.entry(kAnn, "reward", 3000, "2026-03-03", kMarch3 + 10 * kHour, task(1));
  s.entry(kBob, "reward", 3500, "2026-03-03", kMarch3 + 12 * kHour, task(2));
  s.entry(kAnn, "reward", 3500, "2026-03-03", kMarch3 + 11 * kHour, task(3));  // the same reward, earlier
  s.entry(kAnn, "reward", 4000, "2026-03-05", kMarch3 + 49 * kHour, task(4));
  // A late entry counts for the day it was completed, not the day it was booked.
  s.entry(kBob, "reward", 3900, "2026-03-06", kMarch3 + 23 * kHour, task(5), "2026-03-03");
  s.entry(kAnn, "fee", -1500, "2026-03-03", kMarch3 + 9 * kHour, task(1));  // fees are not rewards

  auto day = s.analytics->expensive("2026-03-03", "2026-03-03");
  BOOST_TEST_REQUIRE(day.has_value());
  BOOST_TEST(day->best.task_id == task(5));
  auto range = s.analytics->expensive("2026-03-01", "2026-03-31");
  BOOST_TEST(range->best.task_id == task(4));
  BOOST_TEST(!s.analytics->expensive("2026-03-04", "2026-03-04").has_value());  // no completion that day
  BOOST_TEST(!s.analytics->expensive("2026-04-01", "2026-04-30").has_value());
  // Ties: 3500 twice on one day; the earlier completion wins.
  Store t;
  t.entry(kBob, "reward", 3500, "2026-03-03", kMarch3 + 12 * kHour, task(2));
  t.entry(kAnn, "reward", 3500, "2026-03-03", kMarch3 + 11 * kHour, task(3));
  t.entry(kAnn, "reward", 3500, "2026-03-03", kMarch3 + 11 * kHour, task(1));  // same time: smaller id
  BOOST_TEST(t.analytics->expensive("2026-03-03", "2026-03-03")->best.task_id == task(1));
  // Titles come from tracker.tasks; a task not seen there has none yet.
  BOOST_TEST(s.analytics->expensive("2026-03-03", "2026-03-03")->title.has_value() == false);
  s.entry(kAnn, "reward", 4000, "2026-03-07", kMarch3 + 97 * kHour, task(1));
  const auto titled = s.analytics->expensive("2026-03-07", "2026-03-07");
  BOOST_TEST_REQUIRE(titled->title.has_value());
  BOOST_TEST(titled->title->title == "Feed");
  BOOST_TEST(titled->title->jira_id == "UBERPOP-1");
}

BOOST_AUTO_TEST_CASE(earnings_and_negative_balances_now_and_at_a_close) {
  Store s;
  s.entry(kAnn, "fee", -1500, "2026-03-03", kMarch3 + 9 * kHour, task(1));
  s.entry(kBob, "fee", -1200, "2026-03-03", kMarch3 + 9 * kHour, task(2));
  s.entry(kAnn, "reward", 3000, "2026-03-03", kMarch3 + 10 * kHour, task(1));
  auto summary = s.analytics->summary("2026-03-03");
  BOOST_TEST(summary.management_earnings_cents == 1500 + 1200 - 3000);
  BOOST_TEST(summary.negative_balance_users == 1u);  // bob
  BOOST_TEST(!summary.at_close);
  // The close pays ann; bob stays below zero; then bob earns.
  s.entry(kAnn, "payout", -1500, "2026-03-03", kMarch3 + 25 * kHour);
  s.receive(protocol::DayClosed{.date = "2026-03-03", .payouts = 1, .paid_cents = 1500},
            kMarch3 + 25 * kHour);
  s.entry(kBob, "reward", 3000, "2026-03-04", kMarch3 + 26 * kHour, task(2));
  summary = s.analytics->summary("2026-03-03");
  BOOST_TEST(summary.at_close);
  BOOST_TEST(summary.negative_balance_users == 1u);
  BOOST_TEST(summary.management_earnings_cents == -300);  // payouts are not earnings
  BOOST_TEST(s.analytics->summary("2026-03-04").negative_balance_users == 0u);
}

BOOST_AUTO_TEST_CASE(a_rebuild_from_the_event_store_gives_the_same_answers) {
  Store s;
  for (int i = 0; i < 20; ++i) {
    s.entry(i % 2 ? kAnn : kBob, i % 3 ? "fee" : "reward", i % 3 ? -1000 - 100 * i : 2000 + 100 * i,
            "2026-03-0" + std::to_string(3 + i % 4), kMarch3 + i * kHour, task(i % 10));
  }
  s.receive(protocol::DayClosed{.date = "2026-03-03", .payouts = 0, .paid_cents = 0});
  const auto answers = [&] {
    nlohmann::json out = nlohmann::json::array();
    for (const std::string day : {"2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"}) {
      const auto sum = s.analytics->summary(day);
      const auto best = s.analytics->expensive(day, day);
      out.push_back({sum.management_earnings_cents, sum.negative_balance_users, sum.at_close,
                     best ? best->best.task_id : "", best ? best->best.reward_cents : 0});
    }
    return out;
  };
  const auto before = answers();
  const std::string live = s.analytics->live();
  s.rebuild();
  BOOST_TEST(s.analytics->live() != live);  // the other set, swapped in
  BOOST_TEST(answers() == before, answers().dump() << " vs " << before.dump());
  // Restarted half-way (as after a crash): still the same.
  BOOST_TEST_REQUIRE(
      s.env->run([&](storage::WriteTxn& txn) { return s.analytics->start_rebuild(txn); }).is_ok());
  BOOST_TEST(s.env->run_for<bool>([&](storage::WriteTxn& txn) { return s.analytics->rebuild_step(txn, 3); })
                 .has_value());
  BOOST_TEST(s.analytics->rebuilding());
  BOOST_TEST(answers() == before);  // the live set is untouched meanwhile
  s.rebuild();
  BOOST_TEST(answers() == before);
  BOOST_TEST(s.analytics->stored_events() == 21u);
}

// Accounting's zone says which day is today; a zone that is no zone (a
// broken or hostile producer) is refused, so the consumer dead-letters it,
// and the one known before stays.
BOOST_AUTO_TEST_CASE(the_day_zone_comes_from_accounting_and_a_bad_one_is_refused) {
  Store s;
  BOOST_TEST(!s.analytics->day_zone().has_value());
  s.receive(protocol::DayZoneSet{.zone = "Pacific/Kiritimati"});
  BOOST_TEST(s.analytics->day_zone().value_or("") == "Pacific/Kiritimati");
  BOOST_TEST(s.analytics->stored_events() == 1u);

  for (const std::string bad : {"Mars/Olympus_Mons", "../../etc/passwd", "UTC\n"}) {
    const auto refused = s.try_receive(protocol::DayZoneSet{.zone = bad});
    BOOST_TEST((refused.code() == base::Code::kInvalidArgument), refused.to_string());
  }
  BOOST_TEST(s.analytics->day_zone().value_or("") == "Pacific/Kiritimati");
  BOOST_TEST(s.analytics->stored_events() == 1u);  // nothing of the refused events was kept
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::analytics
