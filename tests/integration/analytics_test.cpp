// The analytics plugin in a real host with auth, tracker and accounting on
// the fake clock: the most expensive task over days, weeks, months and
// ranges agrees with accounting's entries, the summary with accounting's
// earnings and balances, a rebuild changes no answer, and every route is
// for admins only.
#include <set>

#include <boost/test/unit_test.hpp>

#include "money_host.hpp"

namespace ates {
namespace {

struct Dashboards : Books {
  explicit Dashboards(std::map<std::string, std::string> environment = {})
      : Books(std::move(environment), Plugins{"auth,tracker,accounting,analytics"}) {}

  void sync_all() {
    for (const std::string stream : {"auth.users", "tracker.tasks", "accounting.transactions"})
      sync(stream, "analytics");
    sync("tracker.tasks", "accounting");
    sync("accounting.transactions", "analytics");
  }

  // Every ledger entry of the workers and the accountant, from accounting.
  std::vector<nlohmann::json> all_entries() const {
    std::vector<nlohmann::json> out;
    for (const std::string who : {"acc", "wk1", "wk2"}) {
      const auto list =
          as("boss", "GET", "/api/v1/accounting/accounts/" + user_ids.at(who) + "/entries?limit=1000")
              .json()["entries"];
      out.insert(out.end(), list.begin(), list.end());
    }
    return out;
  }

  // The expected answer, computed from accounting's entries: the highest
  // reward completed in [from, to], the earliest on a tie.
  std::optional<nlohmann::json> expected_best(const std::string& from, const std::string& to) const {
    std::optional<nlohmann::json> best;
    for (const auto& e : all_entries()) {
      if (e["kind"] != "reward") continue;
      const std::string day = e.value("original_date", e["date"].get<std::string>());
      if (day < from || day > to) continue;
      if (!best || e["amount_cents"] > (*best)["amount_cents"] ||
          (e["amount_cents"] == (*best)["amount_cents"] && e["occurred_at"] < (*best)["occurred_at"])) {
        best = e;
      }
    }
    return best;
  }

  void check_expensive(const std::string& from, const std::string& to) const {
    const auto answer =
        as("boss", "GET",
           "/api/v1/analytics/expensive-task?from_date=" + from + (to == from ? "" : "&end_date=" + to))
            .json();
    BOOST_TEST(answer["from_date"] == from);
    BOOST_TEST(answer["end_date"] == to);
    const auto expected = expected_best(from, to);
    if (!expected) {
      BOOST_TEST(answer["task"].is_null(), from << ".." << to << ": " << answer.dump());
      return;
    }
    BOOST_TEST_REQUIRE(!answer["task"].is_null(), from << ".." << to);
    BOOST_TEST(answer["task"]["reward_cents"] == (*expected)["amount_cents"], from << ".." << to);
    BOOST_TEST(answer["task"]["id"] == (*expected)["task"]["id"], from << ".." << to);
    BOOST_TEST(answer["task"]["title"] == (*expected)["task"]["title"]);
    BOOST_TEST(answer["task"]["completed_at"] == (*expected)["occurred_at"]);
  }
};

BOOST_AUTO_TEST_SUITE(analytics)

BOOST_AUTO_TEST_CASE(dashboards_agree_with_accounting_and_survive_a_rebuild) {
  Dashboards d;
  // Three days of work: 03-03, 03-04 and 03-11.
  const auto work = [&](int created, int completed) {
    std::vector<nlohmann::json> tasks;
    for (int i = 0; i < created; ++i) tasks.push_back(d.create("task " + std::to_string(i)));
    for (int i = 0; i < completed; ++i) d.complete(tasks[i]);
  };
  work(8, 5);
  d.advance(24 * 3600);
  work(5, 3);
  d.advance(7 * 24 * 3600);
  work(2, 1);
  d.sync_all();

  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{{"2026-03-03", "2026-03-03"},  // a day
                                                        {"2026-03-04", "2026-03-04"},
                                                        {"2026-03-02", "2026-03-08"},  // a week
                                                        {"2026-03-01", "2026-03-31"},  // a month
                                                        {"2026-03-04", "2026-03-11"},  // a custom range
                                                        {"2026-03-05", "2026-03-10"},  // nothing completed
                                                        {"2026-04-01", "2026-04-30"}}) {
    d.check_expensive(from, to);
  }

  // The summary matches accounting's earnings and balances.
  const auto summary_of = [&](const std::string& date) {
    return d.as("boss", "GET", "/api/v1/analytics/summary?date=" + date).json();
  };
  for (const std::string date : {"2026-03-03", "2026-03-04", "2026-03-11"}) {
    const auto earnings = d.as("acc", "GET", "/api/v1/accounting/earnings?from=" + date).json()["days"][0];
    BOOST_TEST(summary_of(date)["management_earnings_cents"] == earnings["earnings_cents"], date);
  }
  int negative = 0;
  const auto accounts = d.as("acc", "GET", "/api/v1/accounting/accounts").json();
  for (const auto& account : accounts["accounts"])
    negative += account["balance_cents"].get<std::int64_t>() < 0;
  BOOST_TEST(summary_of("2026-03-11")["negative_balance_users"] == negative);
  BOOST_TEST(summary_of("2026-03-11")["negative_balance_users_at"] == "now");

  // A rebuild from the event store gives the same answers.
  nlohmann::json before = nlohmann::json::array();
  const auto answers = [&] {
    nlohmann::json out = nlohmann::json::array();
    for (const std::string date : {"2026-03-03", "2026-03-04", "2026-03-11"}) out.push_back(summary_of(date));
    out.push_back(
        d.as("boss", "GET", "/api/v1/analytics/expensive-task?from_date=2026-03-01&end_date=2026-03-31")
            .json());
    return out;
  };
  before = answers();
  const auto started = d.as("boss", "POST", "/api/v1/analytics/rebuild");
  BOOST_TEST_REQUIRE(started.status == 202, started.body);
  BOOST_TEST(started.json()["stored_events"].get<int>() > 0);
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    return d.client->get("/metrics").body.find("ates_analytics_rebuilds{plugin=\"analytics\"} 1") !=
           std::string::npos;
  }));
  BOOST_TEST(answers() == before, answers().dump() << "\nvs\n" << before.dump());
}

// Accounting's days in Pacific/Kiritimati (UTC+14): at 12:00 UTC its day
// is already tomorrow's UTC date. Analytics learns the zone from
// accounting's DayZoneSet, so its default "today" is the ledger's day,
// with the day's earnings, not an empty UTC day.
BOOST_AUTO_TEST_CASE(todays_summary_is_the_ledgers_today_in_accountings_zone) {
  Dashboards d(std::map<std::string, std::string>{{"ATES_ACCOUNTING_DAY_ZONE", "Pacific/Kiritimati"}});
  d.advance(3 * 3600);  // 2026-03-03T12:00Z is 2026-03-04T02:00 in Kiritimati
  const auto task = d.create("late in the UTC day");
  d.complete(task);
  d.sync_all();

  const auto today = d.as("acc", "GET", "/api/v1/accounting/earnings?from=" + kNextDay).json()["days"];
  BOOST_TEST_REQUIRE(today.size() == 1u, today.dump());
  BOOST_TEST(today[0]["earnings_cents"] != 0);

  const auto summary = d.as("boss", "GET", "/api/v1/analytics/summary");
  BOOST_TEST_REQUIRE(summary.status == 200, summary.body);
  BOOST_TEST(summary.json()["date"] == kNextDay);
  BOOST_TEST(summary.json()["day_zone"] == "Pacific/Kiritimati");
  BOOST_TEST(summary.json()["management_earnings_cents"] == today[0]["earnings_cents"]);
  // The zone survives a restart (analytics keeps it; it is not configured
  // there). The fake clock starts again at 09:00Z, 23:00 in Kiritimati.
  d.restart();
  d.advance(3 * 3600);
  const auto again = d.as("boss", "GET", "/api/v1/analytics/summary").json();
  BOOST_TEST(again["date"] == kNextDay);
  BOOST_TEST(again["day_zone"] == "Pacific/Kiritimati");
}

// A tracker of the first version publishes TaskCreated v1, with the jira id
// inside the title. The real accounting and analytics plugins take it
// through the bus, upcast it, and price, pay and name the task as if the
// tracker of today had published it. The old tracker is the test plugin
// named "tracker", loaded beside the real plugins.
BOOST_AUTO_TEST_CASE(a_v1_task_created_goes_through_the_real_accounting_and_analytics) {
  testing::TempDir plugins("ates-legacy-plugins");
  for (const std::string name : {"auth", "accounting", "analytics"}) {
    const std::string file = "libates_plugin_" + name + ".so";
    std::filesystem::create_symlink(kPlugins / file, plugins / file);
  }
  std::filesystem::create_symlink(
      std::filesystem::path(ATES_TEST_PLUGINS_DIR) / "variant_a" / "libates_plugin_tracker.so",
      plugins / "libates_plugin_tracker.so");
  auto environment = Books::with_defaults({});
  environment.erase("ATES_TRACKER_RANDOM_SEED");  // the old tracker has no such key
  testing::PluginsHost host(plugins.path(), "auth,tracker,accounting,analytics", environment,
                            {{"fake_clock", kDay + "T09:00:00Z"}});
  host.add("boss", "admin");
  host.add("wk1", "worker");
  const std::string& boss = host.tokens.at("boss");
  wait_applied(host, boss, "auth.users", "accounting");

  const auto published = host.client->post(
      "/api/v1/tracker/legacy-task",
      nlohmann::json{{"title", "[UBERPOP-7] Feed the parrots"}, {"assignee_id", host.user_ids.at("wk1")}}
          .dump());
  BOOST_TEST_REQUIRE(published.status == 201, published.body);
  const std::string task_id = published.json()["task_id"];
  wait_applied(host, boss, "tracker.tasks", "accounting");
  wait_applied(host, boss, "tracker.tasks", "analytics");
  wait_applied(host, boss, "accounting.transactions", "analytics");

  // Accounting: a fee and a reward, under the upcast title and jira id.
  const auto entries =
      host.client->get("/api/v1/accounting/accounts/me/entries?limit=100", bearer(host.tokens.at("wk1")))
          .json()["entries"];
  BOOST_TEST_REQUIRE(entries.size() == 2u, entries.dump());
  std::set<std::string> kinds;
  for (const auto& entry : entries) {
    kinds.insert(entry["kind"].get<std::string>());
    BOOST_TEST(entry["task"]["id"] == task_id);
    BOOST_TEST(entry["task"]["title"] == "Feed the parrots");
    BOOST_TEST(entry["task"]["jira_id"] == "UBERPOP-7");
  }
  BOOST_TEST((kinds == std::set<std::string>{"fee", "reward"}));

  // Analytics: the day's most expensive task is it, named the same way.
  const auto best =
      host.client->get("/api/v1/analytics/expensive-task?from_date=" + kDay, bearer(boss)).json()["task"];
  BOOST_TEST_REQUIRE(best.is_object(), best.dump());
  BOOST_TEST(best["id"] == task_id);
  BOOST_TEST(best["title"] == "Feed the parrots");
  BOOST_TEST(best["jira_id"] == "UBERPOP-7");
}

BOOST_AUTO_TEST_CASE(every_analytics_route_is_for_admins_only) {
  Dashboards d;
  for (const std::string who : {"mgr", "acc", "wk1"}) {
    check_problem(d.as(who, "GET", "/api/v1/analytics/summary"), 403, "may not");
    check_problem(d.as(who, "GET", "/api/v1/analytics/expensive-task?from_date=2026-03-03"), 403, "may not");
    check_problem(d.as(who, "POST", "/api/v1/analytics/rebuild"), 403, "may not");
  }
  const auto today = d.as("boss", "GET", "/api/v1/analytics/summary").json();
  BOOST_TEST(today["date"] == kDay);
  BOOST_TEST(today["management_earnings_cents"] == 0);
  check_problem(d.as("boss", "GET", "/api/v1/analytics/expensive-task"), 400, "from_date: required");
  check_problem(
      d.as("boss", "GET", "/api/v1/analytics/expensive-task?from_date=2026-03-05&end_date=2026-03-01"), 400,
      "end_date: must not be before");
  check_problem(d.as("boss", "GET", "/api/v1/analytics/summary?date=tomorrow"), 400, "date");
  check_problem(d.client->get("/api/v1/analytics/summary"), 401, "bearer token");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
