// [SECTION] helpers: ids, environments, the Ledger set up as the plugin does
// [SECTION] scenario 1: tracker events applied/s through the bus
// [SECTION] scenario 2: a day close of many accounts
// [SECTION] the report
#include "ates/bench/accounting_bench.hpp"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iomanip>
#include <mutex>
#include <optional>
#include <vector>

#include "ates/base/clock.hpp"
#include "ates/bus/bus.hpp"
#include "ates/protocol/events.hpp"
#include "ates/testing/bytes_written.hpp"
#include "ates/testing/commit_signal.hpp"
#include "ates/testing/submit_window.hpp"
#include "ates/testing/temp_dir.hpp"

#include "ledger.hpp"

namespace ates::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;
using accounting::Ledger;
using base::Status;

constexpr std::int64_t kMinute = std::int64_t{60} * 1'000'000;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDayStart = std::int64_t{1772496000} * 1'000'000;  // 2026-03-03T00:00Z
const std::string kDay = "2026-03-03";
constexpr int kInFlight = 64;                  // the tracker's units in flight, as in `ates bench bus`
constexpr std::uint64_t kUsers = 1000;         // scenario 1's assignees (as many as `bench lifecycle --full`)
constexpr std::size_t kAccountsPerUnit = 500;  // scenario 2's fill

// [SECTION] helpers ------------------------------------------------------------------

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

void require(const Status& status, const std::string& what) {
  if (!status) throw std::runtime_error(what + ": " + status.to_string());
}

// A UUID-shaped id, numbered: family 1 users, 2 tasks, 3 events.
std::string numbered_id(int family, std::uint64_t n) {
  char text[64];  // 36 while n < 10^12
  std::snprintf(text, sizeof text, "%08d-0000-4000-8000-%012llu", family, static_cast<unsigned long long>(n));
  return text;
}
std::string user_id(std::uint64_t n) { return numbered_id(1, n); }
std::string task_id(std::uint64_t n) { return numbered_id(2, n); }

// Fixed, so the bench can price tasks itself and check the Ledger's sums.
accounting::Prices::Key price_key() {
  accounting::Prices::Key key{};
  key.fill(3);
  return key;
}

std::unique_ptr<storage::Environment> open_env(const std::filesystem::path& dir, const std::string& producer,
                                               base::Clock* clock = nullptr) {
  auto env = storage::Environment::open({.dir = dir, .producer = producer, .clock = clock});
  if (!env) throw std::runtime_error(dir.string() + ": " + env.status().to_string());
  return std::move(env).value();
}

// accounting's environment and Ledger, set up as the plugin's constructor
// does: accounting.transactions declared, zone UTC, the price key fixed.
struct Books {
  std::unique_ptr<storage::Environment> env;
  std::unique_ptr<Ledger> ledger;

  Books(const std::filesystem::path& dir, base::Clock* clock) : env(open_env(dir, "accounting", clock)) {
    require(env->declare_stream(protocol::kTransactionsStream), "declaring accounting.transactions");
    ledger = std::make_unique<Ledger>(*env);
    auto settings = env->run_for<Ledger::Settings>(
        [&](storage::WriteTxn& txn) { return ledger->initialise(txn, "UTC", price_key()); });
    require(settings.status(), "initialising the ledger");
    ledger->configure(*accounting::DayZone::locate(settings->zone), accounting::Prices(settings->key));
  }
};

using testing::bytes_written;
using testing::CommitSignal;

// [SECTION] scenario 1 -----------------------------------------------------------------

// Event i of tracker.tasks (from 0): task i / 2 is assigned (even i), then
// completed (odd i), by user (i / 2) mod kUsers.
Status publish_task_event(storage::WriteTxn& txn, std::uint64_t i) {
  const std::string task = task_id(i / 2);
  const std::string assignee = user_id((i / 2) % kUsers);
  if (i % 2 == 0) {
    return txn
        .publish(protocol::TaskAssigned{.task_id = task,
                                        .assignee_id = assignee,
                                        .previous_assignee_id = {},
                                        .reason = "created",
                                        .shuffle_id = {}})
        .status();
  }
  return txn.publish(protocol::TaskCompleted{.task_id = task, .assignee_id = assignee}).status();
}

// What the balances of all accounts add up to once events [0, count) are
// applied, from the prices alone.
std::int64_t expected_total(std::uint64_t count) {
  const accounting::Prices prices(price_key());
  std::int64_t total = 0;
  for (std::uint64_t task = 0; 2 * task < count; ++task) {
    const accounting::Price price = prices.of(task_id(task));
    total += -price.fee_cents + (2 * task + 1 < count ? price.reward_cents : 0);
  }
  return total;
}

// auth and the tracker: their environments on one bus, bound to ipc
// endpoints in the data directory, as another host's would be.
struct Producers {
  std::filesystem::path dir;
  std::unique_ptr<storage::Environment> auth;
  std::unique_ptr<storage::Environment> tracker;
  std::unique_ptr<bus::Bus> bus;  // declared last: stops before the environments close

  explicit Producers(const std::filesystem::path& root)
      : dir(root), auth(open_env(root / "auth", "auth")), tracker(open_env(root / "tracker", "tracker")) {
    require(auth->declare_stream(protocol::kUsersStream), "declaring auth.users");
    require(tracker->declare_stream(protocol::kTasksStream), "declaring tracker.tasks");
    // A short heartbeat: a new consumer learns where to fetch from the
    // stream's next heartbeat, and the drain figures include that wait.
    auto started = bus::Bus::start({.publish = "ipc://" + (root / "pub").string(),
                                    .replay = "ipc://" + (root / "replay").string(),
                                    .heartbeat = std::chrono::milliseconds(20)});
    require(started.status(), "starting the producers' bus");
    bus = std::move(started).value();
    bus->add_producer(*auth);
    bus->add_producer(*tracker);
  }

  // The consumer's peer: this bus, owner of both streams.
  bus::Peer peer() const {
    return {.publish = "ipc://" + (dir / "pub").string(),
            .replay = "ipc://" + (dir / "replay").string(),
            .streams = {std::string(protocol::kUsersStream), std::string(protocol::kTasksStream)}};
  }

  // Every assignee's UserCreated, with an email, in one unit.
  void publish_users() {
    require(auth->run([](storage::WriteTxn& txn) {
      for (std::uint64_t u = 0; u < kUsers; ++u) {
        auto published =
            txn.publish(protocol::UserCreated{.user_id = user_id(u),
                                              .username = "user" + std::to_string(u),
                                              .email = "user" + std::to_string(u) + "@example.com",
                                              .role = "worker",
                                              .active = true});
        if (!published) return published.status();
      }
      return Status::ok();
    }),
            "publishing the users");
  }

  // A TaskCreated of its own task: gives the consumer a stream to follow
  // before anything is timed, and moves no money.
  void publish_warm_up() {
    require(tracker->run([](storage::WriteTxn& txn) {
      return txn
          .publish(protocol::TaskCreated{.task_id = task_id(999'999'999'999),
                                         .title = "warm-up",
                                         .jira_id = {},
                                         .description = "",
                                         .created_by = user_id(0)})
          .status();
    }),
            "publishing the warm-up event");
  }

  // Events [first, first + count) of tracker.tasks, one per unit, with
  // kInFlight units in flight so the writer commits them in groups.
  // Returns when all have committed.
  void publish_tasks(std::uint64_t first, std::uint64_t count) {
    require(testing::submit_window(*tracker, first, count, kInFlight,
                                   [](std::uint64_t i) {
                                     return
                                         [i](storage::WriteTxn& txn) { return publish_task_event(txn, i); };
                                   }),
            "publishing tracker.tasks");
  }
};

// accounting's side of scenario 1: its environment and its own bus,
// subscribed to the producers' bus; the Ledger's handlers, or handlers that
// do nothing but let the bus move the checkpoint (the ceiling).
class Consumer {
 public:
  Consumer(const std::filesystem::path& dir, const Producers& producers, bool with_ledger) {
    if (with_ledger) {
      books_ = std::make_unique<Books>(dir / "accounting", nullptr);
      env_ = books_->env.get();
    } else {
      bare_ = open_env(dir / "accounting", "accounting");
      env_ = bare_.get();
    }
    env_->add_observer(&signal_);
    auto started = bus::Bus::start({.publish = "ipc://" + (dir / "pub").string(),
                                    .replay = "ipc://" + (dir / "replay").string(),
                                    .peers = {producers.peer()}});
    require(started.status(), "starting the consumer's bus");
    bus_ = std::move(started).value();
    follow(protocol::kUsersStream);
  }
  ~Consumer() {
    bus_.reset();  // stops the consumers before their environment closes
    env_->remove_observer(&signal_);
  }
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  void follow(std::string_view stream) {
    bus::EventHandler handler = [](storage::WriteTxn&, const protocol::Envelope&) { return Status::ok(); };
    if (books_) {
      Ledger& ledger = *books_->ledger;
      handler = stream == protocol::kUsersStream
                    ? bus::EventHandler([&ledger](storage::WriteTxn& txn, const protocol::Envelope& e) {
                        return ledger.apply_user_event(txn, e);
                      })
                    : bus::EventHandler([&ledger](storage::WriteTxn& txn, const protocol::Envelope& e) {
                        return ledger.apply_task_event(txn, e);
                      });
    }
    require(bus_->add_consumer({"accounting", std::string(stream), env_, std::move(handler)}),
            "following " + std::string(stream));
  }

  // Waits until the durable checkpoint of `stream` reaches `seq`; throws
  // with the consumer's state after `timeout`.
  void wait_for(std::string_view stream, std::uint64_t seq, std::chrono::seconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    std::uint64_t commits = 0;
    for (;;) {
      {
        const storage::ReadTxn txn = env_->read();
        const auto checkpoint = env_->checkpoint(txn, stream);
        if (checkpoint && checkpoint->applied_seq >= seq) return;
      }
      if (SteadyClock::now() > deadline) {
        std::string state;
        for (const auto& c : bus_->consumers()) {
          if (c.stream == stream) {
            state = std::string(bus::to_string(c.state)) + " at " + std::to_string(c.applied_seq) +
                    (c.error.empty() ? "" : ": " + c.error);
          }
        }
        throw std::runtime_error("accounting never applied " + std::string(stream) + " up to " +
                                 std::to_string(seq) + " (" + state + ")");
      }
      commits = signal_.wait_after(commits);
    }
  }

  // Throws unless the books are what the prices say: one known account per
  // user, balances adding up to the events' fees and rewards, no dead letter.
  void check_books(std::uint64_t events) const {
    if (!books_) return;
    const auto dead = bus::dead_letters(*env_, "accounting");
    if (!dead.empty()) throw std::runtime_error("a dead letter: " + dead.front().reason);
    constexpr std::size_t kPage = 1000;
    std::optional<std::string> after;
    std::uint64_t accounts = 0;
    std::int64_t total = 0;
    for (;;) {
      const auto page = books_->ledger->accounts(after, kPage);
      for (std::size_t i = 0; i < std::min(page.size(), kPage); ++i) {
        if (!page[i].second.known) throw std::runtime_error("a placeholder account for " + page[i].first);
        ++accounts;
        total += page[i].second.balance_cents;
      }
      if (page.size() <= kPage) break;
      after = page[kPage - 1].first;
    }
    const std::int64_t expected = expected_total(events);
    if (accounts != kUsers || total != expected) {
      throw std::runtime_error(std::to_string(accounts) + " accounts holding " + std::to_string(total) +
                               " cents; expected " + std::to_string(kUsers) + " holding " +
                               std::to_string(expected));
    }
  }

 private:
  CommitSignal signal_;                         // outlives the environment it observes
  std::unique_ptr<Books> books_;                // with the Ledger
  std::unique_ptr<storage::Environment> bare_;  // without
  storage::Environment* env_ = nullptr;
  std::unique_ptr<bus::Bus> bus_;
};

struct ApplyFigures {
  std::uint64_t events = 0;
  double producer_per_s = 0;     // the tracker's commits alone, while the Ledger followed
  double live_ledger_per_s = 0;  // first submit -> accounting's checkpoint at the head
  double live_noop_per_s = 0;
  double drain_ledger_per_s = 0;  // the whole log as a backlog, from the consumer's start
  double drain_noop_per_s = 0;
  // Written per event while draining (only the consumer writes to disk then).
  double drain_ledger_bytes = 0;
  double drain_noop_bytes = 0;
};

ApplyFigures measure_apply(const std::filesystem::path& root, std::uint64_t events) {
  constexpr std::chrono::seconds kTimeout(300);
  ApplyFigures figures{.events = events};
  Producers producers(root / "producers");
  producers.publish_users();
  producers.publish_warm_up();  // tracker.tasks seq 1; the timed events are 2 .. events + 1
  const std::uint64_t head = events + 1;

  {  // the Ledger, live
    Consumer consumer(root / "ledger-live", producers, true);
    consumer.wait_for(protocol::kUsersStream, kUsers, kTimeout);
    consumer.follow(protocol::kTasksStream);
    consumer.wait_for(protocol::kTasksStream, 1, kTimeout);
    const auto start = SteadyClock::now();
    producers.publish_tasks(0, events);
    figures.producer_per_s = static_cast<double>(events) / seconds_since(start);
    consumer.wait_for(protocol::kTasksStream, head, kTimeout);
    figures.live_ledger_per_s = static_cast<double>(events) / seconds_since(start);
    consumer.check_books(events);
  }
  {  // the Ledger, draining the same log from the start
    Consumer consumer(root / "ledger-drain", producers, true);
    consumer.wait_for(protocol::kUsersStream, kUsers, kTimeout);
    const std::uint64_t written = bytes_written();
    const auto start = SteadyClock::now();
    consumer.follow(protocol::kTasksStream);
    consumer.wait_for(protocol::kTasksStream, head, kTimeout);
    figures.drain_ledger_per_s = static_cast<double>(head) / seconds_since(start);
    figures.drain_ledger_bytes = static_cast<double>(bytes_written() - written) / static_cast<double>(head);
    consumer.check_books(events);
  }
  {  // the no-op consumer: the same drain, then as many events live
    Consumer consumer(root / "noop", producers, false);
    consumer.wait_for(protocol::kUsersStream, kUsers, kTimeout);
    const std::uint64_t written = bytes_written();
    auto start = SteadyClock::now();
    consumer.follow(protocol::kTasksStream);
    consumer.wait_for(protocol::kTasksStream, head, kTimeout);
    figures.drain_noop_per_s = static_cast<double>(head) / seconds_since(start);
    figures.drain_noop_bytes = static_cast<double>(bytes_written() - written) / static_cast<double>(head);
    start = SteadyClock::now();
    producers.publish_tasks(events, events);
    consumer.wait_for(protocol::kTasksStream, head + events, kTimeout);
    figures.live_noop_per_s = static_cast<double>(events) / seconds_since(start);
  }
  return figures;
}

// [SECTION] scenario 2 -----------------------------------------------------------------

struct CloseFigures {
  std::uint64_t accounts = 0;
  std::uint64_t events = 0;
  double fill_seconds = 0;
  double close_seconds = 0;
  double close_unit_seconds = 0;  // of which in Ledger::close_day, before the commit
  double again_seconds = 0;
  std::uint64_t close_bytes = 0;  // written by the close's unit and commit
  accounting::DayRecord record;
  std::uint64_t queued = 0;   // receipts queued for sending
  std::uint64_t waiting = 0;  // receipts waiting for an email
};

// Account a of the close: UserCreated (an email unless a % 4 == 3); task a
// assigned on D; completed on D unless a % 3 == 0 (so its closing balance
// is reward - fee >= 0, or -fee < 0); every fifth account also assigned and
// completed task accounts + a on D + 1, applied before the close and not paid
// with D.
class CloseFill {
 public:
  explicit CloseFill(std::uint64_t accounts) : accounts_(accounts) {}

  // Applies account a's events in `txn`, counting them in `events`.
  Status apply_account(storage::WriteTxn& txn, const Ledger& ledger, std::uint64_t a, std::uint64_t& events) {
    const std::string user = user_id(a);
    const auto apply = [&](const auto& event, std::int64_t time_us) {
      const std::uint64_t number = next_event_++;
      protocol::Envelope e;
      e.event_id = numbered_id(3, number);
      e.name = std::string(std::decay_t<decltype(event)>::kName);
      e.version = std::decay_t<decltype(event)>::kVersion;
      e.stream = std::string(std::decay_t<decltype(event)>::kStream);
      e.seq = number;
      e.time_us = time_us;
      e.payload = protocol::encode_payload(event);
      ++events;
      return e.stream == protocol::kUsersStream ? ledger.apply_user_event(txn, e)
                                                : ledger.apply_task_event(txn, e);
    };
    const std::string name = "user" + std::to_string(a);
    Status s =
        apply(protocol::UserCreated{.user_id = user,
                                    .username = name,
                                    .email = a % 4 == 3 ? std::nullopt : std::optional(name + "@example.com"),
                                    .role = "worker",
                                    .active = true},
              kDayStart + 9 * kHour);
    if (!s) return s;
    s = apply(assigned(task_id(a), user), kDayStart + 9 * kHour + static_cast<std::int64_t>(a));
    if (!s) return s;
    if (a % 3 != 0) {
      s = apply(protocol::TaskCompleted{.task_id = task_id(a), .assignee_id = user}, kDayStart + 17 * kHour);
      if (!s) return s;
    }
    if (a % 5 == 0) {
      const std::string later = task_id(accounts_ + a);
      s = apply(assigned(later, user), kDayStart + 26 * kHour);
      if (!s) return s;
      s = apply(protocol::TaskCompleted{.task_id = later, .assignee_id = user}, kDayStart + 27 * kHour);
      if (!s) return s;
    }
    return Status::ok();
  }

  // From the prices alone: what closing D must pay, and every account's
  // balance after it (a negative closing balance carries over; D + 1 stays).
  struct Expected {
    std::uint64_t payouts = 0;
    std::int64_t paid_cents = 0;
    std::uint64_t queued = 0;
    std::vector<std::int64_t> balances;
  };
  Expected expected() const {
    const accounting::Prices prices(price_key());
    Expected out;
    for (std::uint64_t a = 0; a < accounts_; ++a) {
      const accounting::Price price = prices.of(task_id(a));
      const std::int64_t closing = -price.fee_cents + (a % 3 != 0 ? price.reward_cents : 0);
      std::int64_t balance = std::min<std::int64_t>(closing, 0);
      if (a % 5 == 0) {
        const accounting::Price later = prices.of(task_id(accounts_ + a));
        balance += later.reward_cents - later.fee_cents;
      }
      out.balances.push_back(balance);
      if (closing <= 0) continue;
      ++out.payouts;
      out.paid_cents += closing;
      out.queued += a % 4 != 3;
    }
    return out;
  }

 private:
  static protocol::TaskAssigned assigned(const std::string& task, const std::string& user) {
    return {.task_id = task,
            .assignee_id = user,
            .previous_assignee_id = {},
            .reason = "created",
            .shuffle_id = {}};
  }

  std::uint64_t accounts_;
  std::uint64_t next_event_ = 1;  // only units touch it, on the environment's writer thread
};

CloseFigures measure_close(const std::filesystem::path& root, std::uint64_t accounts) {
  CloseFigures figures{.accounts = accounts};
  base::ManualClock clock(kDayStart + 9 * kHour);  // accounting's first start is on D
  Books books(root / "close", &clock);
  CloseFill fill(accounts);
  const Ledger& ledger = *books.ledger;

  // The fill: units of kAccountsPerUnit accounts, all submitted at once so
  // the writer commits them in groups.
  std::atomic<std::uint64_t> events{0};
  std::vector<std::future<Status>> units;
  const auto fill_start = SteadyClock::now();
  for (std::uint64_t first = 0; first < accounts; first += kAccountsPerUnit) {
    const std::uint64_t end = std::min<std::uint64_t>(accounts, first + kAccountsPerUnit);
    units.push_back(books.env->submit([&, first, end](storage::WriteTxn& txn) {
      std::uint64_t applied = 0;
      for (std::uint64_t a = first; a < end; ++a) {
        if (Status s = fill.apply_account(txn, ledger, a, applied); !s) return s;
      }
      events.fetch_add(applied);
      return Status::ok();
    }));
  }
  for (auto& unit : units) require(unit.get(), "filling the ledger");
  figures.fill_seconds = seconds_since(fill_start);
  figures.events = events.load();

  // Past the end of D; the close is the only unit in its batch.
  clock.set(kDayStart + 24 * kHour + 5 * kMinute);
  double in_unit = 0;  // the unit alone; the rest of the close is its commit
  const auto close = [&] {
    return books.env->run_for<accounting::DayRecord>([&](storage::WriteTxn& txn) {
      const auto start = SteadyClock::now();
      auto record = ledger.close_day(txn, kDay, false);
      in_unit = seconds_since(start);
      return record;
    });
  };
  const std::uint64_t written = bytes_written();
  auto start = SteadyClock::now();
  auto closed = close();
  figures.close_seconds = seconds_since(start);
  figures.close_unit_seconds = in_unit;
  figures.close_bytes = bytes_written() - written;
  require(closed.status(), "closing " + kDay);
  figures.record = *closed;
  start = SteadyClock::now();
  auto again = close();
  figures.again_seconds = seconds_since(start);
  require(again.status(), "closing " + kDay + " again");

  const CloseFill::Expected expected = fill.expected();
  if (closed->payouts != expected.payouts || closed->paid_cents != expected.paid_cents) {
    throw std::runtime_error("the close paid " + std::to_string(closed->payouts) + " payouts, " +
                             std::to_string(closed->paid_cents) + " cents; the prices say " +
                             std::to_string(expected.payouts) + ", " + std::to_string(expected.paid_cents));
  }
  if (again->payouts != closed->payouts || again->paid_cents != closed->paid_cents) {
    throw std::runtime_error("closing again changed the day's record");
  }
  for (std::uint64_t a = 0; a < accounts; ++a) {
    const std::int64_t balance = ledger.account(user_id(a)).value_or(accounting::Account{}).balance_cents;
    if (balance != expected.balances[a]) {
      throw std::runtime_error("account " + std::to_string(a) + " holds " + std::to_string(balance) +
                               " cents after the close; expected " + std::to_string(expected.balances[a]));
    }
  }
  figures.queued = ledger.due_receipts(INT64_MAX, accounts + 1).size();
  figures.waiting = closed->payouts - figures.queued;
  if (figures.queued != expected.queued) {
    throw std::runtime_error(std::to_string(figures.queued) + " receipts queued; expected " +
                             std::to_string(expected.queued));
  }
  return figures;
}

}  // namespace

// [SECTION] the report -------------------------------------------------------------------

void run_accounting_bench(const AccountingBenchOptions& options, std::ostream& out) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  testing::TempDir temp("ates-bench-accounting");
  const std::filesystem::path root = options.dir.empty() ? temp.path() : std::filesystem::path(options.dir);
  const std::uint64_t events = options.full ? 500'000 : 100'000;
  const std::uint64_t accounts = options.full ? 100'000 : 20'000;

  out << std::fixed << std::setprecision(0);
  out << "ates bench accounting: the Ledger of plugins/accounting on LMDB with full fsync\n\n";

  const ApplyFigures apply = measure_apply(root / "apply", events);
  out << "tracker events applied/s: " << apply.events << " TaskAssigned/TaskCompleted events, " << kInFlight
      << " units in flight in the tracker, to accounting over ipc (its own bus); " << kUsers
      << " assignees' UserCreated applied first (no placeholders)\n"
      << "  live, first submit -> checkpoint at the head:\n"
      << "    Ledger:                  " << std::setw(10) << apply.live_ledger_per_s << " events/s   "
      << std::setprecision(0) << 100 * apply.live_ledger_per_s / apply.live_noop_per_s
      << "% of the no-op consumer\n"
      << "    no-op handler (ceiling): " << std::setw(10) << apply.live_noop_per_s << " events/s\n"
      << "    the tracker's commits:   " << std::setw(10) << apply.producer_per_s
      << " events/s (while the Ledger followed)\n"
      << "  a backlog of the whole log, drained from the consumer's start:\n"
      << "    Ledger:                  " << std::setw(10) << apply.drain_ledger_per_s << " events/s   "
      << 100 * apply.drain_ledger_per_s / apply.drain_noop_per_s << "% of the no-op consumer, "
      << std::setprecision(2) << apply.drain_ledger_bytes / 1024 << " KiB written per event\n"
      << std::setprecision(0) << "    no-op handler (ceiling): " << std::setw(10) << apply.drain_noop_per_s
      << " events/s         " << std::setprecision(2) << apply.drain_noop_bytes / 1024
      << " KiB written per event\n\n";

  const CloseFigures close = measure_close(root / "close", accounts);
  const double target = 2.0 * static_cast<double>(close.accounts) / 100'000;
  out << "day close of " << close.accounts << " accounts (" << close.events << " events applied on " << kDay
      << " and the day after, in " << std::setprecision(1) << close.fill_seconds << " s):\n"
      << std::setprecision(3) << "  close_day in one unit:   " << std::setw(8) << close.close_seconds
      << " s (target <= 2 s for 100 000 accounts";
  if (close.accounts != 100'000) out << ", " << target << " s pro rata";
  out << "), " << std::setprecision(1) << 1e6 * close.close_seconds / static_cast<double>(close.accounts)
      << " us per account\n"
      << std::setprecision(3) << "    of which the unit:     " << std::setw(8) << close.close_unit_seconds
      << " s, and its commit " << close.close_seconds - close.close_unit_seconds << " s ("
      << std::setprecision(1) << static_cast<double>(close.close_bytes) / (1 << 20) << " MiB written)\n"
      << "  payouts:                 " << std::setw(8) << close.record.payouts << " paying "
      << std::setprecision(2) << static_cast<double>(close.record.paid_cents) / 100 << " dollars\n"
      << "  receipts:                " << std::setw(8) << close.queued << " queued (not sent), "
      << close.waiting << " waiting for an email\n"
      << std::setprecision(3) << "  closing it again:        " << std::setw(8) << close.again_seconds
      << " s (nothing paid twice)\n";
}

}  // namespace ates::bench
