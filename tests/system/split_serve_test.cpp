// The plugins split over three `ates serve` processes on loopback — auth
// and tracker; accounting; analytics — joined by the bus over tcp with
// CurveZMQ (docs/bus.md, "Endpoints and CurveZMQ"). The same seeded
// workload gives the same balances, entries, earnings and analytics as one
// process running every plugin, even with the accounting process killed
// mid-run twice (SIGKILL, then a failpoint halfway through applying a
// batch) and started again each time; the audit of the three data
// directories together is clean; a log-out at the front reaches the other
// two processes.
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/whole_system.hpp"

namespace ates {
namespace {

using namespace whole_system;

// One workload, the same every time for the same seed: a single client
// creating tasks, completing some (as their assignee, asked of the
// tracker first), and shuffling now and then. Every answer must be a
// success. `at(step)` runs before each step.
struct Workload {
  std::uint64_t creates = 0, completions = 0, shuffles = 0;
};
Workload run_workload(const HttpClient& tracker, const Logins& logins, unsigned seed, int steps,
                      const std::function<void(int)>& at) {
  std::mt19937 rng(seed);
  std::vector<std::string> open;
  const Headers& boss = logins.as.at("boss");
  Workload done;
  for (int step = 0; step < steps; ++step) {
    at(step);
    if (step % 150 == 149) {
      const auto r = tracker.post("/api/v1/tracker/tasks/shuffle", "", boss);
      BOOST_TEST_REQUIRE(r.status == 200, r.body);
      ++done.shuffles;
    } else if (rng() % 2 == 0 && !open.empty()) {
      const std::size_t pick = rng() % open.size();
      const auto task = tracker.get("/api/v1/tracker/tasks/" + open[pick], boss);
      BOOST_TEST_REQUIRE(task.status == 200, task.body);
      const std::string assignee = task.json()["task"]["assignee_id"];
      const auto r = tracker.post("/api/v1/tracker/tasks/" + open[pick] + "/complete", "",
                                  logins.as.at(logins.name_of.at(assignee)));
      BOOST_TEST_REQUIRE(r.status == 200, r.body);
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
      ++done.completions;
    } else {
      const auto r = tracker.post("/api/v1/tracker/tasks",
                                  nlohmann::json{{"title", "task " + std::to_string(step)}}.dump(), boss);
      BOOST_TEST_REQUIRE(r.status == 201, r.body);
      open.push_back(r.json()["task"]["id"]);
      ++done.creates;
    }
  }
  return done;
}

// What both deployments must agree on, read through the API once every
// consumer has reached its head.
struct Outcome {
  std::map<std::string, std::int64_t> balances;
  PerTask fees, rewards, payouts;
  nlohmann::json earnings, summary, days;
};
Outcome outcome(const HttpClient& accounting, const HttpClient& analytics, const Headers& boss) {
  const Books b = books(accounting, boss);
  for (const auto& [user, balance] : b.balances) BOOST_TEST(balance == b.sums.at(user), "account " << user);
  const auto earnings = accounting.get("/api/v1/accounting/earnings?from=2026-03-03", boss);
  BOOST_TEST(earnings.status == 200, earnings.body);
  const auto summary = analytics.get("/api/v1/analytics/summary?date=2026-03-03", boss);
  BOOST_TEST(summary.status == 200, summary.body);
  const auto days = accounting.get("/api/v1/accounting/days", boss);
  BOOST_TEST(days.status == 200, days.body);
  return {b.balances, b.fees, b.rewards, b.payouts, earnings.json(), summary.json(), days.json()};
}

// The close of 2026-03-03 at accounting, which waits for the tracker's
// watermark: tracker.tasks is held back at the tracker (POST
// /api/v1/dev/hold, as if the tracker were cut off) and every process's
// business clock moved to the next day; the close must answer 409, waiting
// for tracker.tasks, whose last watermark is still of 2026-03-03. Released,
// the heartbeats carry a watermark past the day's end, accounting applies
// up to their head, and the close pays the positive balances.
void close_the_day(const std::vector<const HttpClient*>& processes, const HttpClient& tracker,
                   const HttpClient& accounting, const Headers& boss) {
  auto hold = [&](bool held) {
    const auto r = tracker.post("/api/v1/dev/hold",
                                nlohmann::json{{"stream", "tracker.tasks"}, {"held", held}}.dump(), boss);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
  };
  hold(true);
  for (const auto* client : processes) {
    const auto r = client->post("/api/v1/dev/clock", R"({"advance_seconds":86400})", boss);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
  }
  const auto waiting = accounting.post("/api/v1/accounting/days/2026-03-03/close", "", boss);
  BOOST_TEST_REQUIRE(waiting.status == 409, waiting.body);
  const auto waiting_for = waiting.json()["waiting_for"];
  BOOST_TEST_REQUIRE(waiting_for.size() == 1u, waiting.body);
  BOOST_TEST(waiting_for[0]["stream"] == "tracker.tasks", waiting.body);
  const auto& watermark = waiting_for[0]["watermark"];
  BOOST_TEST((watermark.is_null() || watermark.get<std::string>() < "2026-03-04"), waiting.body);
  hold(false);
  BOOST_TEST_REQUIRE(testing::wait_until(
      [&] { return accounting.post("/api/v1/accounting/days/2026-03-03/close", "", boss).status == 200; },
      std::chrono::seconds(30)));
}

constexpr unsigned kSeed = 4242;
constexpr int kSteps = 600;

BOOST_AUTO_TEST_SUITE(split_serve)

BOOST_AUTO_TEST_CASE(three_processes_over_curve_tcp_match_one_process_even_with_accounting_killed) {
  testing::TempDir dir;
  auto env = test_environment();
  env["ATES_TRACKER_RANDOM_SEED"] = "77";  // the same task ids and assignees for the same requests
  const std::vector<std::string> clock = {"--fake-clock", "2026-03-03T09:00:00Z"};
  // The users once, copied to both deployments: the same user ids.
  add_users((dir / "users").string(), env);
  auto copy_users = [&](const std::string& name) {
    // Files and directories (the lock and the control socket are left).
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir / "users")) {
      const auto to = dir / name / std::filesystem::relative(entry.path(), dir / "users");
      if (entry.is_directory()) std::filesystem::create_directories(to);
      if (entry.is_regular_file() && entry.path().filename() != "ates.lock") {
        std::filesystem::create_directories(to.parent_path());
        std::filesystem::copy_file(entry.path(), to);
      }
    }
    return (dir / name).string();
  };

  // One process with every plugin.
  Outcome single;
  Workload single_work;
  {
    const std::string data = copy_users("single");
    Serve serve(data, "auth,tracker,accounting,analytics", env, clock);
    const HttpClient client = serve.client();
    const Logins logins(client);
    require_converged({&client}, logins.as.at("boss"));  // the tracker knows the workers
    single_work = run_workload(client, logins, kSeed, kSteps, [](int) {});
    require_converged({&client}, logins.as.at("boss"));
    close_the_day({&client}, client, client, logins.as.at("boss"));
    require_converged({&client}, logins.as.at("boss"));
    single = outcome(client, client, logins.as.at("boss"));
    serve.stop();
  }
  BOOST_TEST_MESSAGE("workload: " << single_work.creates << " creates, " << single_work.completions
                                  << " completions, " << single_work.shuffles << " shuffles");

  // Three processes. auth + tracker publish on tcp; accounting subscribes
  // to them and publishes on tcp; analytics subscribes to both. Each binds
  // port 0 and the next learns the port from its log; accounting restarts
  // on the ports it had.
  const Keys front = generate_keys(), money = generate_keys(), numbers = generate_keys();
  auto write_config = [&](const std::string& name, const Keys& keys, const std::string& publish,
                          const std::string& replay, const std::vector<std::string>& peers,
                          const std::vector<std::string>& clients) {
    return write_bus_config(dir / (name + ".toml"), keys, publish, replay, peers, clients);
  };
  auto args = [&](const std::string& config) {
    auto a = clock;
    a.insert(a.end(), {"--config", config});
    return a;
  };
  const std::string any_port = "tcp://127.0.0.1:*";

  const std::string front_data = copy_users("front");
  const std::string money_data = (dir / "money").string();
  const std::string numbers_data = (dir / "numbers").string();
  // Each host grants each other key only what it reads; each peer owns its streams.
  const std::string front_streams = "auth.users+tracker.tasks";
  Serve front_serve(front_data, "auth,tracker", env,
                    args(write_config("front", front, any_port, any_port, {},
                                      {"key=" + money.public_key + " reads=" + front_streams,
                                       "key=" + numbers.public_key + " reads=" + front_streams})));
  const auto [front_pub, front_replay] = bus_endpoints(front_serve);
  const std::string front_peer = "publish=" + front_pub + " replay=" + front_replay +
                                 " key=" + front.public_key + " owns=" + front_streams;
  const std::vector<std::string> money_clients = {"key=" + numbers.public_key +
                                                  " reads=accounting.transactions"};
  auto money_serve = std::make_unique<Serve>(
      money_data, "accounting", env,
      args(write_config("money", money, any_port, any_port, {front_peer}, money_clients)));
  const auto [money_pub, money_replay] = bus_endpoints(*money_serve);
  BOOST_TEST_REQUIRE(money_pub.starts_with("tcp://127.0.0.1:"));
  const auto money_config =
      write_config("money", money, money_pub, money_replay, {front_peer}, money_clients);
  const std::string money_peer = "publish=" + money_pub + " replay=" + money_replay +
                                 " key=" + money.public_key + " owns=accounting.transactions";
  Serve numbers_serve(numbers_data, "analytics", env,
                      args(write_config("numbers", numbers, "", "", {front_peer, money_peer}, {})));
  const HttpClient tracker = front_serve.client(), numbers_client = numbers_serve.client();
  HttpClient accounting = money_serve->client();
  const Logins logins(tracker);
  const Headers& boss = logins.as.at("boss");
  // The other hosts know the signing keys once auth.users reached them.
  for (const HttpClient* client : {static_cast<const HttpClient*>(&accounting), &numbers_client}) {
    BOOST_TEST_REQUIRE(
        testing::wait_until([&] { return client->get("/api/v1/events/streams", boss).status == 200; },
                            std::chrono::seconds(30)),
        client->base() << " never accepted the token");
  }
  require_converged({&tracker, &accounting, &numbers_client}, boss);

  // Accounting is killed (SIGKILL) a third of the way in, while it follows
  // the tracker; started again at half way, it crashes at a failpoint with
  // half a batch applied in its transaction; from two thirds on, as soon
  // as it has died there, it starts for good. The tracker goes on alone
  // meanwhile: the workload never stops to wait for the failpoint, so the
  // batches it counts keep coming until it is hit.
  // Nothing crossed over plaintext or with an unknown key: checked on
  // each accounting process before it is replaced, on all at the end.
  auto no_refusal = [](Serve& s) {
    const std::string err = s.process().stderr_text();
    BOOST_TEST(err.find("refused") == std::string::npos, err);
  };
  const std::string failpoint = "bus.mid_batch_apply";
  bool armed = false;  // the process with the failpoint runs, or died and is not replaced yet
  auto replace_once_dead = [&](std::chrono::milliseconds timeout) {
    const auto status = money_serve->process().wait(timeout);
    if (!status) return false;
    BOOST_TEST((WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL));
    BOOST_TEST(money_serve->process().stderr_text().find("failpoint " + failpoint + " hit") !=
               std::string::npos);
    no_refusal(*money_serve);
    money_serve = std::make_unique<Serve>(money_data, "accounting", env, args(money_config));
    accounting = money_serve->client();
    armed = false;
    return true;
  };
  int replaced_at = -1;
  const Workload split_work = run_workload(tracker, logins, kSeed, kSteps, [&](int step) {
    if (step == kSteps / 3) {
      BOOST_TEST_REQUIRE(testing::wait_until(
          [&] {
            const auto view = bus_view(accounting, boss);
            if (!view) return false;
            for (const auto& c : view->consumers)
              if (c.plugin == "accounting" && c.stream == "tracker.tasks") return c.applied > 0;
            return false;
          },
          std::chrono::seconds(30)));
      money_serve->kill();
      no_refusal(*money_serve);
    }
    if (step == kSteps / 2) {
      auto with_failpoint = env;
      with_failpoint["ATES_FAILPOINT"] = failpoint + ":20";
      money_serve = std::make_unique<Serve>(money_data, "accounting", with_failpoint, args(money_config));
      armed = true;
    }
    if (step >= 2 * kSteps / 3 && armed && replace_once_dead(std::chrono::milliseconds(0)))
      replaced_at = step;
  });
  // Not hit in the last third of the workload: then it never will be.
  if (armed) {
    BOOST_TEST_REQUIRE(replace_once_dead(std::chrono::seconds(30)), "the failpoint was not reached");
    replaced_at = kSteps;
  }
  BOOST_TEST_MESSAGE("accounting started for good at step " << replaced_at << " of " << kSteps);
  BOOST_TEST(split_work.creates == single_work.creates);
  require_converged({&tracker, &accounting, &numbers_client}, boss);
  close_the_day({&tracker, &accounting, &numbers_client}, tracker, accounting, boss);
  require_converged({&tracker, &accounting, &numbers_client}, boss);
  const Outcome split = outcome(accounting, numbers_client, boss);

  BOOST_TEST(split.balances.size() == 5u);
  BOOST_TEST(split.balances == single.balances);
  BOOST_TEST(split.fees == single.fees);
  BOOST_TEST(split.rewards == single.rewards);
  BOOST_TEST(split.earnings == single.earnings, split.earnings.dump() << " vs " << single.earnings.dump());
  BOOST_TEST(split.summary == single.summary, split.summary.dump() << " vs " << single.summary.dump());
  BOOST_TEST(split.payouts == single.payouts);
  BOOST_TEST(split.days == single.days, split.days.dump() << " vs " << single.days.dump());
  const auto closed = single.days["days"].back();  // newest first
  BOOST_TEST(closed["date"] == "2026-03-03");
  BOOST_TEST(closed["status"] == "closed", single.days.dump());
  BOOST_TEST(closed["payouts"].get<int>() >= 1, single.days.dump());
  for (Serve* s : {&front_serve, money_serve.get(), &numbers_serve}) no_refusal(*s);

  // A log-out at the front reaches the other processes through auth.users:
  // the token is refused everywhere, the other sessions go on.
  const auto spare = tracker.post("/api/v1/auth/login", R"({"username":"boss","password":"password-boss"})");
  BOOST_TEST_REQUIRE(spare.status == 200, spare.body);
  const Headers spare_as = {{"Authorization", "Bearer " + spare.json()["token"].get<std::string>()}};
  for (const HttpClient* client : {&tracker, static_cast<const HttpClient*>(&accounting), &numbers_client}) {
    BOOST_TEST_REQUIRE(
        testing::wait_until([&] { return client->get("/api/v1/events/streams", spare_as).status == 200; },
                            std::chrono::seconds(30)));
  }
  const auto out = tracker.post("/api/v1/auth/logout", "", spare_as);
  BOOST_TEST_REQUIRE(out.status == 200, out.body);
  for (const HttpClient* client : {&tracker, static_cast<const HttpClient*>(&accounting), &numbers_client}) {
    BOOST_TEST(
        testing::wait_until([&] { return client->get("/api/v1/events/streams", spare_as).status == 401; },
                            std::chrono::seconds(30)),
        client->base() << " still accepts a logged-out token");
    BOOST_TEST(client->get("/api/v1/events/streams", boss).status == 200);
  }

  // The live audit of the accounting process checks its ledger; the
  // charges need tracker.tasks, whose producer runs elsewhere, so it says
  // they were not checked rather than passing them.
  const auto money_audit = testing::run_to_end({kAtes, "audit", "--data", money_data});
  BOOST_TEST(money_audit.exit_code == 0, money_audit.out << money_audit.err);
  BOOST_TEST(money_audit.out.find("note: charges not checked: tracker.tasks is produced by tracker, whose "
                                  "storage is not in this host") != std::string::npos,
             money_audit.out);
  BOOST_TEST(money_audit.out.find("\nledger: ") != std::string::npos, money_audit.out);

  numbers_serve.stop();
  money_serve->stop();
  front_serve.stop();
  // The offline audit reads one data directory: the three plugins' environments
  // side by side.
  const auto together = dir / "together";
  std::filesystem::create_directory(together);
  std::filesystem::create_directory_symlink(std::filesystem::path(front_data) / "tracker",
                                            together / "tracker");
  std::filesystem::create_directory_symlink(std::filesystem::path(money_data) / "accounting",
                                            together / "accounting");
  std::filesystem::create_directory_symlink(std::filesystem::path(numbers_data) / "analytics",
                                            together / "analytics");
  require_clean_audit(together.string());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
