// [SECTION] helpers: ids, environments, waiting for a checkpoint
// [SECTION] the month: its tasks, their entries, the true answers
// [SECTION] scenario 1: TransactionApplied ingested/s through the bus
// [SECTION] scenario 2: the most expensive task over a month
// [SECTION] the report
#include "ates/bench/analytics_bench.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <iomanip>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include <sys/resource.h>

#include "ates/bus/bus.hpp"
#include "ates/protocol/events.hpp"
#include "ates/testing/bytes_written.hpp"
#include "ates/testing/commit_signal.hpp"
#include "ates/testing/submit_window.hpp"
#include "ates/testing/temp_dir.hpp"

#include "models.hpp"

namespace ates::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;
using analytics::Analytics;
using base::Status;

constexpr std::int64_t kMinute = std::int64_t{60} * 1'000'000;
constexpr std::int64_t kDay = 1440 * kMinute;
constexpr std::int64_t kMarch1 = std::int64_t{1772323200} * 1'000'000;  // 2026-03-01T00:00Z
constexpr int kDays = 31;                                               // in March
constexpr std::uint64_t kUsers = 10'000;
constexpr std::uint64_t kLateEvery = 40;        // one reward in 40 is booked the next day
constexpr int kInFlight = 64;                   // the producer's units in flight, as in `ates bench bus`
constexpr std::uint64_t kTasksPerUnit = 2'000;  // scenario 2's fill: 6 000 events per unit
constexpr std::size_t kFillUnitsInFlight = 4;
constexpr int kCalls = 2'000;  // per kind of range
const std::string kEpoch = "00000000-0000-4000-8000-0000000000e1";

// [SECTION] helpers ------------------------------------------------------------------

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

void require(const Status& status, const std::string& what) {
  if (!status) throw std::runtime_error(what + ": " + status.to_string());
}

// A UUID-shaped id, numbered: family 1 users, 2 tasks, 3 ledger entries,
// 4 tracker events.
std::string numbered_id(int family, std::uint64_t n) {
  char text[64];  // 36 while n < 10^12
  std::snprintf(text, sizeof text, "%08d-0000-4000-8000-%012llu", family, static_cast<unsigned long long>(n));
  return text;
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::unique_ptr<storage::Environment> open_env(const std::filesystem::path& dir,
                                               const std::string& producer) {
  auto env = storage::Environment::open({.dir = dir, .producer = producer});
  if (!env) throw std::runtime_error(dir.string() + ": " + env.status().to_string());
  return std::move(env).value();
}

using testing::bytes_written;
using testing::CommitSignal;

// [SECTION] the month ------------------------------------------------------------------

// 0 .. 30: 2026-03-01 .. 2026-03-31; 31: 2026-04-01 (a late entry of the 31st).
std::string day_name(int index) {
  char text[32];
  if (index < kDays) {
    std::snprintf(text, sizeof text, "2026-03-%02d", index + 1);
  } else {
    std::snprintf(text, sizeof text, "2026-04-%02d", index - kDays + 1);
  }
  return text;
}
int day_index(std::int64_t time_us) { return static_cast<int>((time_us - kMarch1) / kDay); }

// Completed task n of the month, all of it derived from n.
struct MonthTask {
  std::string id;
  std::string user;
  std::int64_t fee_cents = 0;  // negative, as the ledger books it
  std::int64_t reward_cents = 0;
  std::int64_t assigned_at = 0;
  std::int64_t completed_at = 0;
  bool late = false;  // the reward is booked on the day after completed_at's
};

MonthTask month_task(std::uint64_t n) {
  MonthTask t;
  // Ids in no particular order against n or time: n -> n * A + B mod 10^12
  // is one to one (A is prime to 10^12).
  t.id = numbered_id(2, (n * 2'654'435'761ULL + 12'345) % 1'000'000'000'000ULL);
  t.user = numbered_id(1, mix(4 * n) % kUsers);
  t.fee_cents = -(1000 + 100 * static_cast<std::int64_t>(mix(4 * n + 1) % 11));
  t.reward_cents = 2000 + 100 * static_cast<std::int64_t>(mix(4 * n + 2) % 21);
  const std::uint64_t h = mix(4 * n + 3);
  // On a ten-minute grid: equal rewards often complete at the same time, so
  // the answers exercise both tie rules.
  t.completed_at = kMarch1 + static_cast<std::int64_t>(h % (std::uint64_t{kDays} * 144)) * 10 * kMinute;
  t.assigned_at =
      std::max(kMarch1, t.completed_at - static_cast<std::int64_t>((h >> 32) % 600 + 1) * kMinute);
  t.late = (h >> 48) % kLateEvery == 0;
  return t;
}

// Event i of accounting.transactions (from 0): task i / 2's fee (even i),
// then its reward (odd i).
protocol::TransactionApplied month_entry(std::uint64_t i) {
  const MonthTask t = month_task(i / 2);
  if (i % 2 == 0) {
    return {.entry_id = numbered_id(3, i),
            .user_id = t.user,
            .task_id = t.id,
            .kind = "fee",
            .amount_cents = t.fee_cents,
            .occurred_at = t.assigned_at,
            .date = day_name(day_index(t.assigned_at)),
            .original_date = {}};
  }
  const int day = day_index(t.completed_at);
  return {.entry_id = numbered_id(3, i),
          .user_id = t.user,
          .task_id = t.id,
          .kind = "reward",
          .amount_cents = t.reward_cents,
          .occurred_at = t.completed_at,
          .date = day_name(t.late ? day + 1 : day),
          .original_date = t.late ? std::optional(day_name(day)) : std::nullopt};
}

protocol::TaskCreated month_task_created(std::uint64_t n, const MonthTask& t) {
  return {.task_id = t.id,
          .title = "task " + std::to_string(n),
          .jira_id = "UBERPOP-" + std::to_string(n),
          .description = "",
          .created_by = t.user};
}

// The answers, from the tasks alone: what the models must say once the
// entries of tasks [0, tasks) are in.
struct Truth {
  std::array<std::optional<analytics::BestTask>, kDays> best;  // by the day completed
  std::map<std::string, analytics::DayStats> days;             // by the day booked
  std::vector<std::int64_t> balances = std::vector<std::int64_t>(kUsers);
  std::uint64_t tasks = 0;
  // Days whose best task shares its reward with a later completion only
  // (decided by the time), or also its completion time (by the task id).
  int decided_by_time = 0;
  int decided_by_id = 0;

  // The rule docs/analytics.md states: the highest reward, then the
  // earliest completion, then the smaller task id.
  static bool better(const analytics::BestTask& a, const analytics::BestTask& b) {
    if (a.reward_cents != b.reward_cents) return a.reward_cents > b.reward_cents;
    if (a.completed_at != b.completed_at) return a.completed_at < b.completed_at;
    return a.task_id < b.task_id;
  }

  static Truth of(std::uint64_t tasks) {
    Truth truth;
    truth.tasks = tasks;
    for (std::uint64_t i = 0; i < 2 * tasks; ++i) {
      const protocol::TransactionApplied e = month_entry(i);
      analytics::DayStats& day = truth.days[e.date];
      (e.kind == "fee" ? day.fees_cents : day.rewards_cents) += std::abs(e.amount_cents);
      truth.balances[std::stoull(e.user_id.substr(24))] += e.amount_cents;
      if (e.kind != "reward") continue;
      const analytics::BestTask candidate{*e.task_id, e.amount_cents, e.occurred_at};
      auto& best = truth.best[day_index(e.occurred_at)];
      if (!best || better(candidate, *best)) best = candidate;
    }
    std::array<int, kDays> same_reward{}, same_time{};
    for (std::uint64_t n = 0; n < tasks; ++n) {
      const MonthTask t = month_task(n);
      const auto& best = truth.best[day_index(t.completed_at)];
      if (t.reward_cents != best->reward_cents) continue;
      ++same_reward[day_index(t.completed_at)];
      same_time[day_index(t.completed_at)] += t.completed_at == best->completed_at;
    }
    for (int d = 0; d < kDays; ++d) {
      truth.decided_by_id += same_time[d] > 1;
      truth.decided_by_time += same_reward[d] > 1 && same_time[d] == 1;
    }
    return truth;
  }

  std::optional<analytics::BestTask> over(int first, int last) const {
    std::optional<analytics::BestTask> out;
    for (int d = first; d <= last; ++d) {
      if (best[d] && (!out || better(*best[d], *out))) out = best[d];
    }
    return out;
  }

  std::uint64_t negative_users() const {
    return static_cast<std::uint64_t>(
        std::count_if(balances.begin(), balances.end(), [](auto b) { return b < 0; }));
  }
};

// Throws unless `got` is the task `want` names (and, with titles, carries
// that task's title).
void check_answer(const std::optional<analytics::ExpensiveTask>& got,
                  const std::optional<analytics::BestTask>& want, const std::string& range, bool titled) {
  if (!want) {
    if (got) throw std::runtime_error("expensive " + range + ": " + got->best.task_id + ", expected none");
    return;
  }
  if (!got) throw std::runtime_error("expensive " + range + ": none, expected " + want->task_id);
  if (got->best.task_id != want->task_id || got->best.reward_cents != want->reward_cents ||
      got->best.completed_at != want->completed_at) {
    throw std::runtime_error(
        "expensive " + range + ": " + got->best.task_id + " (" + std::to_string(got->best.reward_cents) +
        " cents at " + std::to_string(got->best.completed_at) + "), expected " + want->task_id + " (" +
        std::to_string(want->reward_cents) + " cents at " + std::to_string(want->completed_at) + ")");
  }
  // The title names n ("task n"), whose id must be the one found.
  if (titled && (!got->title || got->title->title.rfind("task ", 0) != 0 ||
                 month_task(std::stoull(got->title->title.substr(5))).id != want->task_id)) {
    throw std::runtime_error("expensive " + range + ": " + want->task_id + " without its title");
  }
}
void check_answer(const std::optional<analytics::ExpensiveTask>& got, const Truth& truth, int first, int last,
                  bool titled) {
  check_answer(got, truth.over(first, last), day_name(first) + ".." + day_name(last), titled);
}

// Throws unless the store holds `stored` events and every model agrees
// with `truth`.
void check_store(const Analytics& analytics, const Truth& truth, std::uint64_t stored, bool titled) {
  if (analytics.stored_events() != stored) {
    throw std::runtime_error("analytics stored " + std::to_string(analytics.stored_events()) +
                             " events, expected " + std::to_string(stored));
  }
  check_answer(analytics.expensive(day_name(0), day_name(kDays - 1)), truth, 0, kDays - 1, titled);
  const std::uint64_t negative = truth.negative_users();
  for (const auto& [date, want] : truth.days) {
    const analytics::Summary got = analytics.summary(date);
    if (got.fees_cents != want.fees_cents || got.rewards_cents != want.rewards_cents ||
        got.negative_balance_users != negative) {
      throw std::runtime_error("summary " + date + ": fees " + std::to_string(got.fees_cents) + ", rewards " +
                               std::to_string(got.rewards_cents) + ", " +
                               std::to_string(got.negative_balance_users) + " below zero; expected " +
                               std::to_string(want.fees_cents) + ", " + std::to_string(want.rewards_cents) +
                               ", " + std::to_string(negative));
    }
  }
}

// [SECTION] scenario 1 -----------------------------------------------------------------

// accounting: its environment declaring accounting.transactions and its
// bus, bound to ipc endpoints in the data directory, as another host's
// would be.
struct Producer {
  std::filesystem::path dir;
  std::unique_ptr<storage::Environment> env;
  std::unique_ptr<bus::Bus> bus;  // declared last: stops before the environment closes

  explicit Producer(const std::filesystem::path& root)
      : dir(root), env(open_env(root / "accounting", "accounting")) {
    require(env->declare_stream(protocol::kTransactionsStream), "declaring accounting.transactions");
    // A short heartbeat: a new consumer learns where to fetch from the
    // stream's next heartbeat, and the drain figures include that wait.
    auto started = bus::Bus::start({.publish = "ipc://" + (root / "pub").string(),
                                    .replay = "ipc://" + (root / "replay").string(),
                                    .heartbeat = std::chrono::milliseconds(20)});
    require(started.status(), "starting the producer's bus");
    bus = std::move(started).value();
    bus->add_producer(*env);
  }

  // The consumer's peer: this bus, owner of accounting.transactions.
  bus::Peer peer() const {
    return {.publish = "ipc://" + (dir / "pub").string(),
            .replay = "ipc://" + (dir / "replay").string(),
            .streams = {std::string(protocol::kTransactionsStream)}};
  }

  // February's close: gives the consumer a stream to follow before anything
  // is timed, and touches no model of March.
  void publish_warm_up() {
    require(env->run([](storage::WriteTxn& txn) {
      return txn.publish(protocol::DayClosed{.date = "2026-02-28", .payouts = 0, .paid_cents = 0}).status();
    }),
            "publishing the warm-up event");
  }

  // Events [first, first + count) of the month, one per unit, with
  // kInFlight units in flight so the writer commits them in groups.
  // Returns when all have committed.
  void publish(std::uint64_t first, std::uint64_t count) {
    require(testing::submit_window(*env, first, count, kInFlight,
                                   [](std::uint64_t i) {
                                     return [entry = month_entry(i)](storage::WriteTxn& txn) {
                                       return txn.publish(entry).status();
                                     };
                                   }),
            "publishing accounting.transactions");
  }
};

// analytics' side: its environment and its own bus, subscribed to the
// producer's bus; Analytics::receive as the handler, or a handler that does
// nothing but let the bus move the checkpoint (the ceiling).
class Consumer {
 public:
  Consumer(const std::filesystem::path& dir, const Producer& producer, bool with_analytics)
      : env_(open_env(dir / "analytics", "analytics")) {
    if (with_analytics) analytics_ = std::make_unique<Analytics>(*env_);
    env_->add_observer(&signal_);
    auto started = bus::Bus::start({.publish = "ipc://" + (dir / "pub").string(),
                                    .replay = "ipc://" + (dir / "replay").string(),
                                    .peers = {producer.peer()}});
    require(started.status(), "starting the consumer's bus");
    bus_ = std::move(started).value();
  }
  ~Consumer() {
    bus_.reset();  // stops the consumer before its environment closes
    env_->remove_observer(&signal_);
  }
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  const Analytics& analytics() const { return *analytics_; }

  void follow() {
    bus::EventHandler handler = [](storage::WriteTxn&, const protocol::Envelope&) { return Status::ok(); };
    if (analytics_) {
      handler = [&analytics = *analytics_](storage::WriteTxn& txn, const protocol::Envelope& e) {
        return analytics.receive(txn, e);
      };
    }
    require(bus_->add_consumer(
                {"analytics", std::string(protocol::kTransactionsStream), env_.get(), std::move(handler)}),
            "following accounting.transactions");
  }

  // Waits until the durable checkpoint reaches `seq`; throws with the
  // consumer's state after `timeout`.
  void wait_for(std::uint64_t seq, std::chrono::seconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    std::uint64_t commits = 0;
    for (;;) {
      {
        const storage::ReadTxn txn = env_->read();
        const auto checkpoint = env_->checkpoint(txn, protocol::kTransactionsStream);
        if (checkpoint && checkpoint->applied_seq >= seq) return;
      }
      if (SteadyClock::now() > deadline) {
        std::string state;
        for (const auto& c : bus_->consumers()) {
          state = std::string(bus::to_string(c.state)) + " at " + std::to_string(c.applied_seq) +
                  (c.error.empty() ? "" : ": " + c.error);
        }
        throw std::runtime_error("analytics never applied accounting.transactions up to " +
                                 std::to_string(seq) + " (" + state + ")");
      }
      commits = signal_.wait_after(commits);
    }
  }

 private:
  CommitSignal signal_;  // outlives the environment it observes
  std::unique_ptr<storage::Environment> env_;
  std::unique_ptr<Analytics> analytics_;  // none: the no-op handler
  std::unique_ptr<bus::Bus> bus_;
};

struct IngestFigures {
  std::uint64_t events = 0;
  double producer_per_s = 0;        // accounting's commits alone, while analytics followed
  double live_analytics_per_s = 0;  // first submit -> analytics' checkpoint at the head
  double live_noop_per_s = 0;
  double drain_analytics_per_s = 0;  // the whole log as a backlog, from the consumer's start
  double drain_noop_per_s = 0;
  // Written per event while draining (only the consumer writes to disk then).
  double drain_analytics_bytes = 0;
  double drain_noop_bytes = 0;
};

IngestFigures measure_ingest(const std::filesystem::path& root, std::uint64_t events) {
  constexpr std::chrono::seconds kTimeout(600);
  IngestFigures figures{.events = events};
  Producer producer(root / "producer");
  producer.publish_warm_up();  // seq 1; the month's events are 2 .. events + 1
  const std::uint64_t head = events + 1;
  const Truth truth = Truth::of(events / 2);

  {  // analytics, live
    Consumer consumer(root / "live", producer, true);
    consumer.follow();
    consumer.wait_for(1, kTimeout);
    const auto start = SteadyClock::now();
    producer.publish(0, events);
    figures.producer_per_s = static_cast<double>(events) / seconds_since(start);
    consumer.wait_for(head, kTimeout);
    figures.live_analytics_per_s = static_cast<double>(events) / seconds_since(start);
    check_store(consumer.analytics(), truth, head, false);
  }
  {  // analytics, draining the same log from the start
    Consumer consumer(root / "drain", producer, true);
    const std::uint64_t written = bytes_written();
    const auto start = SteadyClock::now();
    consumer.follow();
    consumer.wait_for(head, kTimeout);
    figures.drain_analytics_per_s = static_cast<double>(head) / seconds_since(start);
    figures.drain_analytics_bytes =
        static_cast<double>(bytes_written() - written) / static_cast<double>(head);
    check_store(consumer.analytics(), truth, head, false);
  }
  {  // the no-op consumer: the same drain, then as many events live
    Consumer consumer(root / "noop", producer, false);
    const std::uint64_t written = bytes_written();
    auto start = SteadyClock::now();
    consumer.follow();
    consumer.wait_for(head, kTimeout);
    figures.drain_noop_per_s = static_cast<double>(head) / seconds_since(start);
    figures.drain_noop_bytes = static_cast<double>(bytes_written() - written) / static_cast<double>(head);
    start = SteadyClock::now();
    producer.publish(events, events);
    consumer.wait_for(head + events, kTimeout);
    figures.live_noop_per_s = static_cast<double>(events) / seconds_since(start);
  }
  return figures;
}

// [SECTION] scenario 2 -----------------------------------------------------------------

struct Latencies {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::size_t count = 0;
};

Latencies summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) {
    return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1))];
  };
  return {.p50_ms = at(0.50), .p99_ms = at(0.99), .max_ms = ms.back(), .count = ms.size()};
}

struct QueryFigures {
  std::uint64_t tasks = 0;
  std::uint64_t events = 0;
  double fill_seconds = 0;
  double store_mib = 0;
  double first_ms = 0;  // the first call after the fill
  Latencies month;
  Latencies week;
  Latencies day;
  analytics::BestTask month_best;
  int decided_by_time = 0;  // of March's 31 days' answers
  int decided_by_id = 0;
};

template <class Event>
protocol::Envelope envelope_of(const Event& event, std::string event_id, std::uint64_t seq,
                               std::int64_t time_us) {
  protocol::Envelope e;
  e.event_id = std::move(event_id);
  e.name = std::string(Event::kName);
  e.version = Event::kVersion;
  e.stream = std::string(Event::kStream);
  e.producer = e.stream.substr(0, e.stream.find('.'));  // tracker.tasks -> tracker
  e.stream_epoch = kEpoch;
  e.seq = seq;
  e.time_us = time_us;
  e.payload = protocol::encode_payload(event);
  return e;
}

// Task n's TaskCreated, fee and reward, received as the bus would hand
// them over, in one unit with its neighbours.
Status receive_task(storage::WriteTxn& txn, const Analytics& analytics, std::uint64_t n) {
  const MonthTask t = month_task(n);
  Status s = analytics.receive(
      txn, envelope_of(month_task_created(n, t), numbered_id(4, n), n + 1, t.assigned_at - kMinute));
  for (std::uint64_t i = 2 * n; s && i < 2 * n + 2; ++i) {
    const protocol::TransactionApplied entry = month_entry(i);
    s = analytics.receive(txn, envelope_of(entry, entry.entry_id, i + 1, entry.occurred_at));
  }
  return s;
}

QueryFigures measure_expensive(const std::filesystem::path& root, std::uint64_t tasks) {
  QueryFigures figures{.tasks = tasks, .events = 3 * tasks};
  const auto env = open_env(root / "analytics", "analytics");
  const Analytics analytics(*env);

  // The fill: units of kTasksPerUnit tasks, a few in flight so the writer
  // commits them in groups without one huge transaction.
  std::deque<std::future<Status>> units;
  const auto fill_start = SteadyClock::now();
  for (std::uint64_t first = 0; first < tasks; first += kTasksPerUnit) {
    if (units.size() == kFillUnitsInFlight) {
      require(units.front().get(), "filling analytics");
      units.pop_front();
    }
    const std::uint64_t end = std::min(tasks, first + kTasksPerUnit);
    units.push_back(env->submit([&analytics, first, end](storage::WriteTxn& txn) {
      for (std::uint64_t n = first; n < end; ++n) {
        if (Status s = receive_task(txn, analytics, n); !s) return s;
      }
      return Status::ok();
    }));
  }
  for (auto& unit : units) require(unit.get(), "filling analytics");
  figures.fill_seconds = seconds_since(fill_start);
  std::error_code error;
  figures.store_mib =
      static_cast<double>(std::filesystem::file_size(root / "analytics" / "data.mdb", error)) / (1 << 20);

  const Truth truth = Truth::of(tasks);
  const auto timed = [&](int first, int last) {
    const auto start = SteadyClock::now();
    const auto got = analytics.expensive(day_name(first), day_name(last));
    const double ms = 1e3 * seconds_since(start);
    check_answer(got, truth, first, last, true);
    return ms;
  };
  figures.first_ms = timed(0, kDays - 1);
  check_store(analytics, truth, figures.events, true);
  // Ranges with no completion: before the month, and April (which holds
  // late entries booked on the 1st, counted on March 31).
  check_answer(analytics.expensive("2026-02-01", "2026-02-28"), std::nullopt, "February", true);
  check_answer(analytics.expensive("2026-04-01", "2026-04-30"), std::nullopt, "April", true);

  std::mt19937_64 random(7);
  std::vector<double> month, week, day;
  for (int call = 0; call < kCalls; ++call) {
    month.push_back(timed(0, kDays - 1));
    const int monday = static_cast<int>(random() % (kDays - 6));
    week.push_back(timed(monday, monday + 6));
    const int one = static_cast<int>(random() % kDays);
    day.push_back(timed(one, one));
  }
  figures.month = summarise(std::move(month));
  figures.week = summarise(std::move(week));
  figures.day = summarise(std::move(day));
  figures.month_best = *truth.over(0, kDays - 1);
  figures.decided_by_time = truth.decided_by_time;
  figures.decided_by_id = truth.decided_by_id;
  return figures;
}

}  // namespace

// [SECTION] the report -------------------------------------------------------------------

void run_analytics_bench(const AnalyticsBenchOptions& options, std::ostream& out) {
  testing::TempDir temp("ates-bench-analytics");
  const std::filesystem::path root = options.dir.empty() ? temp.path() : std::filesystem::path(options.dir);
  const std::uint64_t events = options.full ? 1'000'000 : 200'000;
  const std::uint64_t tasks = options.full ? 1'000'000 : 100'000;

  out << std::fixed << std::setprecision(0);
  out << "ates bench analytics: the models of plugins/analytics on LMDB with full fsync\n\n";

  const IngestFigures ingest = measure_ingest(root / "ingest", events);
  out << "events ingested/s: " << ingest.events << " TransactionApplied events (fees and rewards of "
      << ingest.events / 2 << " tasks over March, " << kUsers << " users), " << kInFlight
      << " units in flight in accounting, to analytics over ipc (its own bus)\n"
      << "  live, first submit -> checkpoint at the head:\n"
      << "    Analytics::receive:      " << std::setw(10) << ingest.live_analytics_per_s << " events/s   "
      << 100 * ingest.live_analytics_per_s / ingest.live_noop_per_s << "% of the no-op consumer\n"
      << "    no-op handler (ceiling): " << std::setw(10) << ingest.live_noop_per_s << " events/s\n"
      << "    accounting's commits:    " << std::setw(10) << ingest.producer_per_s
      << " events/s (while analytics followed)\n"
      << "  a backlog of the whole log, drained from the consumer's start:\n"
      << "    Analytics::receive:      " << std::setw(10) << ingest.drain_analytics_per_s << " events/s   "
      << 100 * ingest.drain_analytics_per_s / ingest.drain_noop_per_s << "% of the no-op consumer, "
      << std::setprecision(2) << ingest.drain_analytics_bytes / 1024 << " KiB written per event\n"
      << std::setprecision(0) << "    no-op handler (ceiling): " << std::setw(10) << ingest.drain_noop_per_s
      << " events/s         " << std::setprecision(2) << ingest.drain_noop_bytes / 1024
      << " KiB written per event\n\n";

  const QueryFigures query = measure_expensive(root / "month", tasks);
  const auto row = [&](const std::string& what, const Latencies& l) {
    out << "  " << std::left << std::setw(28) << what << std::right << std::setprecision(3) << std::setw(9)
        << l.p50_ms << std::setw(9) << l.p99_ms << std::setw(9) << l.max_ms << std::setw(8) << l.count
        << "\n";
  };
  out << std::setprecision(0) << "the most expensive task: " << query.tasks << " completed tasks over March ("
      << query.events << " events: TaskCreated, fee, reward; Analytics::receive called directly in units of "
      << 3 * kTasksPerUnit << " events, " << std::setprecision(1) << query.fill_seconds
      << " s = " << std::setprecision(0) << static_cast<double>(query.events) / query.fill_seconds
      << " events/s; store " << query.store_mib << " MiB)\n"
      << "  March's answer: " << query.month_best.task_id << ", " << query.month_best.reward_cents
      << " cents; of the 31 days' answers, " << query.decided_by_time
      << " were decided by the completion time and " << query.decided_by_id
      << " by the task id; every answer below checked against the tasks\n"
      << "  Analytics::expensive, one thread, back to back; ms (target <= 5 ms over a month of 1 000 000):\n"
      << "  " << std::left << std::setw(28) << "" << std::right << std::setw(9) << "p50" << std::setw(9)
      << "p99" << std::setw(9) << "max" << std::setw(8) << "calls"
      << "\n";
  row("a month (2026-03-01..31)", query.month);
  row("a random week", query.week);
  row("a random day", query.day);
  out << std::setprecision(3) << "  the first call after the fill: " << query.first_ms << " ms\n\n";

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  out << "peak RSS: " << usage.ru_maxrss / 1024
      << " MiB (the whole process; LMDB's maps count as they are read)\n";
}

}  // namespace ates::bench
