// The accounting plugin in a real host with auth and tracker, on the fake
// business clock: the ledger follows the tracker through the bus, every
// route checks its role, days close only when the tracker's events of the
// day are in (the tracker held back like a partition), forced closes and
// late entries, receipts through a real SMTP server, and a replayed stream
// that leaves the ledger as it was.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include <boost/test/unit_test.hpp>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ates/bus/bus.hpp"
#include "ates/protocol/charge.hpp"
#include "ates/protocol/events.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/stream.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/test_host.hpp"
#include "ates/testing/wait.hpp"

#include "money_host.hpp"

namespace ates {
namespace {

BOOST_AUTO_TEST_SUITE(accounting)

BOOST_AUTO_TEST_CASE(the_ledger_follows_the_tracker_and_balances_are_sums_of_entries) {
  Books b;
  std::vector<nlohmann::json> tasks;
  for (int i = 0; i < 12; ++i) tasks.push_back(b.create("task " + std::to_string(i)));
  for (int i = 0; i < 5; ++i) b.complete(tasks[i]);
  const int reassigned = b.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle").json()["reassigned"];
  BOOST_TEST(reassigned == 7);
  b.sync("tracker.tasks", "accounting");

  std::int64_t fees = 0, rewards = 0;
  std::size_t fee_entries = 0, reward_entries = 0;
  std::map<std::string, std::set<std::int64_t>> fee_of_task;
  for (const std::string who : {"acc", "wk1", "wk2", "mgr", "boss"}) {
    const auto list = b.entries(who);
    BOOST_TEST(b.balance(who) == sum(list), who);
    for (const auto& e : list) {
      const std::int64_t amount = e["amount_cents"];
      BOOST_TEST(amount % 100 == 0);
      if (e["kind"] == "fee") {
        ++fee_entries;
        fees -= amount;
        BOOST_TEST((amount <= -1000 && amount >= -2000));
        fee_of_task[e["task"]["id"]].insert(amount);
        BOOST_TEST(e["task"]["title"].get<std::string>().starts_with("task "));
      } else {
        ++reward_entries;
        rewards += amount;
        BOOST_TEST((amount >= 2000 && amount <= 4000));
      }
    }
    if (who == "mgr" || who == "boss") BOOST_TEST(list.empty(), "managers and admins get no tasks");
  }
  BOOST_TEST(fee_entries == 12u + reassigned);  // one per assignment
  BOOST_TEST(reward_entries == 5u);             // one per completion
  for (const auto& [task, amounts] : fee_of_task) BOOST_TEST(amounts.size() == 1u, "one price per task");
  const auto today = b.as("acc", "GET", "/api/v1/accounting/earnings").json()["days"];
  BOOST_TEST_REQUIRE(today.size() == 1u);
  BOOST_TEST(today[0]["date"] == kDay);
  BOOST_TEST(today[0]["fees_cents"] == fees);
  BOOST_TEST(today[0]["rewards_cents"] == rewards);
  BOOST_TEST(today[0]["earnings_cents"] == fees - rewards);

  // A replay of the whole tracker stream changes nothing: the same causes
  // land on the same entries.
  const std::int64_t wk1 = b.balance("wk1"), acc = b.balance("acc");
  b.restart([&] {
    auto env = storage::Environment::open({.dir = b.dir / "data" / "accounting", .producer = "accounting"});
    BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
    BOOST_TEST_REQUIRE(bus::reset_consumer(**env, "tracker.tasks", 0).is_ok());
  });
  b.sync("tracker.tasks", "accounting");
  BOOST_TEST(b.balance("wk1") == wk1);
  BOOST_TEST(b.balance("acc") == acc);
  b.host->shutdown();
  int priced = 0, applied = 0;
  for (const auto& e :
       testing::read_stream(b.dir / "data" / "accounting", "accounting", "accounting.transactions")) {
    priced += e.name == "TaskPriced";
    applied += e.name == "TransactionApplied";
  }
  BOOST_TEST(priced == 12);
  BOOST_TEST(applied == 12 + reassigned + 5);
}

BOOST_AUTO_TEST_CASE(every_accounting_route_for_every_role) {
  Books b;
  b.create("something to pay for");
  b.sync("tracker.tasks", "accounting");
  const std::string wk1 = b.user_ids["wk1"];
  // One account: its owner, accountants, admins.
  BOOST_TEST(b.as("wk1", "GET", "/api/v1/accounting/accounts/" + wk1).status == 200);
  BOOST_TEST(b.as("acc", "GET", "/api/v1/accounting/accounts/" + wk1).status == 200);
  BOOST_TEST(b.as("boss", "GET", "/api/v1/accounting/accounts/" + wk1 + "/entries").status == 200);
  for (const std::string who : {"wk2", "mgr"}) {
    check_problem(b.as(who, "GET", "/api/v1/accounting/accounts/" + wk1), 403, "only its owner");
    check_problem(b.as(who, "GET", "/api/v1/accounting/accounts/" + wk1 + "/entries"), 403, "only its owner");
  }
  BOOST_TEST(b.as("mgr", "GET", "/api/v1/accounting/accounts/me").json()["account"]["balance_cents"] == 0);
  BOOST_TEST(b.as("wk1", "GET", "/api/v1/accounting/accounts/me").json()["account"]["username"] == "wk1");
  check_problem(b.as("acc", "GET", "/api/v1/accounting/accounts/00000000-0000-4000-8000-000000000000"), 404,
                "no account");
  check_problem(b.as("wk1", "GET", "/api/v1/accounting/accounts/me/entries?date=03-03-2026"), 400, "date");
  // Lists, earnings and days: accountants and admins.
  for (const std::string path :
       {"/api/v1/accounting/accounts", "/api/v1/accounting/earnings", "/api/v1/accounting/days"}) {
    for (const std::string who : {"wk1", "mgr"}) check_problem(b.as(who, "GET", path), 403, "may not");
    for (const std::string who : {"acc", "boss"}) BOOST_TEST(b.as(who, "GET", path).status == 200, path);
  }
  const auto accounts = b.as("acc", "GET", "/api/v1/accounting/accounts?limit=2").json();
  BOOST_TEST(accounts["accounts"].size() == 2u);
  BOOST_TEST(!accounts["next"].is_null());
  check_problem(b.as("acc", "GET", "/api/v1/accounting/earnings?from=2026-03-05&to=2026-03-01"), 400, "to:");
  check_problem(b.as("acc", "GET", "/api/v1/accounting/earnings?from=2026-01-01&to=2027-06-01"), 400, "366");
  const auto days = b.as("acc", "GET", "/api/v1/accounting/days").json()["days"];
  BOOST_TEST_REQUIRE(days.size() == 1u);
  BOOST_TEST(days[0]["date"] == kDay);
  BOOST_TEST(days[0]["status"] == "open");
  // Closing: accountants and admins; forcing: admins; a day not over: 409.
  for (const std::string who : {"wk1", "mgr"}) {
    check_problem(b.as(who, "POST", "/api/v1/accounting/days/" + kDay + "/close"), 403, "may not");
  }
  check_problem(b.as("acc", "POST", "/api/v1/accounting/days/" + kDay + "/close"), 409, "not over yet");
  check_problem(b.as("acc", "POST", "/api/v1/accounting/days/" + kDay + "/close?force=true"), 403,
                "only admins");
  check_problem(b.as("boss", "POST", "/api/v1/accounting/days/yesterday/close"), 400, "date");
  check_problem(b.as("boss", "POST", "/api/v1/accounting/days/" + kDay + "/close?force=maybe"), 400, "force");
}

BOOST_AUTO_TEST_CASE(a_day_closes_only_when_the_trackers_events_of_that_day_are_in) {
  Books b;
  const auto early = b.create("early");
  b.complete(early);
  // 23:59: the tracker is cut off; what it does now stays with it.
  b.advance(14 * 3600 + 59 * 60);
  b.hold_tracker(true);
  std::vector<nlohmann::json> late;
  for (int i = 0; i < 4; ++i) late.push_back(b.create("just before midnight " + std::to_string(i)));
  b.complete(late[0]);
  b.advance(15 * 60);  // 00:14 of the next day

  // Closing D waits: accounting cannot know D's events are all in. The
  // watermark it names is the last one it heard (null until a heartbeat
  // or a fetch reply has carried one): asked again until it has one.
  HttpResponse waiting;
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    waiting = b.as("acc", "POST", "/api/v1/accounting/days/" + kDay + "/close");
    return waiting.status != 409 || !waiting.json()["waiting_for"][0]["watermark"].is_null();
  }));
  BOOST_TEST_REQUIRE(waiting.status == 409, waiting.body);
  const auto body = waiting.json();
  BOOST_TEST(body["day"]["status"] == "waiting");
  BOOST_TEST_REQUIRE(body["waiting_for"].size() == 1u);
  BOOST_TEST(body["waiting_for"][0]["stream"] == "tracker.tasks");
  BOOST_TEST(body["waiting_for"][0]["waiting_since"] == kNextDay + "T00:14:00Z");
  const std::string watermark = body["waiting_for"][0]["watermark"];
  BOOST_TEST((watermark < kNextDay), watermark);
  const auto days = b.as("acc", "GET", "/api/v1/accounting/days").json()["days"];
  BOOST_TEST(days[0]["date"] == kNextDay);
  BOOST_TEST(days[1]["status"] == "waiting");
  BOOST_TEST(b.client->get("/metrics")
                 .body.find("ates_accounting_day_close_waiting_seconds{plugin=\"accounting\"}") !=
             std::string::npos);

  // The next day's work is applied before D closes, and is not paid with D.
  b.hold_tracker(false);
  const auto next_day = b.create("the next day");
  b.complete(next_day);
  const auto closed = b.close(kDay);
  BOOST_TEST(closed["status"] == "closed");
  BOOST_TEST(closed["forced"] == false);

  // The held events count in D, not in D+1.
  std::set<std::string> held_ids;
  for (const auto& t : late) held_ids.insert(t["id"]);
  std::int64_t paid = 0;
  for (const std::string who : {"acc", "wk1", "wk2"}) {
    for (const auto& e : b.entries(who, "&date=" + kDay)) {
      if (e["kind"] == "payout") paid -= e["amount_cents"].get<std::int64_t>();
      if (!e["task"].is_null()) held_ids.erase(e["task"]["id"]);
    }
    for (const auto& e : b.entries(who, "&date=" + kNextDay)) {
      BOOST_TEST(e["task"]["title"] == "the next day");
      BOOST_TEST(!e.contains("original_date"));
    }
  }
  BOOST_TEST(held_ids.empty(), "a held event of D was not dated D");
  BOOST_TEST(closed["paid_cents"] == paid);
  BOOST_TEST(closed["payouts"].get<int>() >= 1);
  // Closing again answers the same and pays nothing twice.
  const auto again = b.as("acc", "POST", "/api/v1/accounting/days/" + kDay + "/close");
  BOOST_TEST(again.status == 200);
  BOOST_TEST(again.json()["day"] == closed);
  // With an Idempotency-Key, a retry is the first answer replayed; the key
  // with another request is refused.
  auto keyed = testing::bearer(b.tokens.at("acc"));
  keyed["Idempotency-Key"] = "close-" + kDay;
  const std::string close_path = "/api/v1/accounting/days/" + kDay + "/close";
  const auto first = b.client->request("POST", close_path, "", keyed);
  BOOST_TEST(first.status == 200, first.body);
  const auto replay = b.client->request("POST", close_path, "", keyed);
  BOOST_TEST(replay.status == 200);
  BOOST_TEST(replay.body == first.body);
  BOOST_TEST(replay.header("idempotent-replayed") == "true");
  check_problem(b.client->request("POST", close_path + "?force=false", "", keyed), 409, "another request");
  check_problem(b.client->request("POST", "/api/v1/accounting/days/" + kNextDay + "/close", "", keyed), 409,
                "another request");
}

BOOST_AUTO_TEST_CASE(a_forced_close_makes_later_events_of_the_day_late_entries) {
  Books b;
  b.advance(14 * 3600);  // 23:00
  b.hold_tracker(true);
  const auto task = b.create("lost in the partition");
  const std::string who = b.name_of(task["assignee_id"]);
  b.advance(3600 + 60);  // 00:01
  check_problem(b.as("acc", "POST", "/api/v1/accounting/days/" + kDay + "/close"), 409, "waits for events");
  const auto forced = b.as("boss", "POST", "/api/v1/accounting/days/" + kDay + "/close?force=true");
  BOOST_TEST_REQUIRE(forced.status == 200, forced.body);
  BOOST_TEST(forced.json()["day"]["forced"] == true);
  b.hold_tracker(false);
  b.sync("tracker.tasks", "accounting");
  const auto list = b.entries(who);
  BOOST_TEST_REQUIRE(list.size() == 1u);
  BOOST_TEST(list[0]["kind"] == "fee");
  BOOST_TEST(list[0]["date"] == kNextDay);
  BOOST_TEST(list[0]["original_date"] == kDay);
}

BOOST_AUTO_TEST_CASE(a_day_closes_by_itself_after_midnight) {
  Books b({{"ATES_ACCOUNTING_AUTO_CLOSE", "true"}, {"ATES_ACCOUNTING_CLOSE_DELAY_S", "60"}});
  b.complete(b.create("paid tonight"));
  b.advance(15 * 3600);  // 00:00 exactly: not yet (the delay)
  b.advance(61);
  BOOST_TEST(testing::wait_until(
      [&] { return b.as("acc", "GET", "/api/v1/accounting/days").json()["days"][1]["status"] == "closed"; }));
}

// A free loopback port for the SMTP server.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::vector<std::string> maildir_messages(const std::filesystem::path& maildir) {
  std::vector<std::string> out;
  std::error_code ignored;
  for (const auto& file : std::filesystem::directory_iterator(maildir / "new", ignored)) {
    std::ifstream in(file.path());
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

BOOST_AUTO_TEST_CASE(a_receipt_reaches_a_real_smtp_server_once_even_after_it_was_down) {
  const int port = free_port();
  Books b({{"ATES_ACCOUNTING_SMTP_URL", "smtp://127.0.0.1:" + std::to_string(port)}});
  for (const std::string who : {"acc", "wk1", "wk2"}) {
    const auto r = b.as(who, "PATCH", "/api/v1/auth/users/me",
                        {{"email", who + "@example.com"}, {"current_password", "password-" + who}});
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
  }
  for (int i = 0; i < 6; ++i) b.complete(b.create("paid " + std::to_string(i)));
  b.sync("auth.users", "accounting");
  b.advance(15 * 3600 + 60);
  const auto closed = b.close(kDay);  // the SMTP server is not up yet
  const int payouts = closed["payouts"];
  BOOST_TEST_REQUIRE(payouts >= 1);
  BOOST_TEST(testing::wait_until([&] {
    return b.client->get("/metrics").body.find("ates_accounting_receipt_failures{plugin=\"accounting\"}") !=
           std::string::npos;
  }));

  testing::TempDir maildir;
  testing::Process smtp({"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l",
                         "127.0.0.1:" + std::to_string(port), "-c", "aiosmtpd.handlers.Mailbox",
                         (maildir / "box").string()});
  const auto sent_metric = "ates_accounting_receipts_sent{plugin=\"accounting\"} " + std::to_string(payouts);
  BOOST_TEST_REQUIRE(testing::wait_until(
      [&] { return b.client->get("/metrics").body.find(sent_metric) != std::string::npos; },
      std::chrono::seconds(30)));
  const auto messages = maildir_messages(maildir / "box");
  BOOST_TEST_REQUIRE(messages.size() == static_cast<std::size_t>(payouts));
  std::set<std::string> message_ids;
  std::int64_t mailed = 0;
  for (const auto& text : messages) {
    const auto id_at = text.find("Message-ID: <");
    BOOST_TEST_REQUIRE(id_at != std::string::npos);
    message_ids.insert(text.substr(id_at, text.find('>', id_at) - id_at));
    const auto paid_at = text.find("paid you $");
    BOOST_TEST_REQUIRE(paid_at != std::string::npos, text);
    const std::string amount = text.substr(paid_at + 10, text.find(' ', paid_at + 10) - paid_at - 10);
    mailed += std::llround(std::stod(amount) * 100);
    BOOST_TEST(text.find("reward for the completed task paid ") != std::string::npos);
  }
  BOOST_TEST(message_ids.size() == messages.size());
  BOOST_TEST(mailed == closed["paid_cents"].get<std::int64_t>());
}

BOOST_AUTO_TEST_CASE(without_smtp_receipts_are_eml_files_and_wait_for_an_email) {
  Books b;
  for (int i = 0; i < 6; ++i) b.complete(b.create("paid " + std::to_string(i)));
  b.advance(15 * 3600 + 60);
  const auto closed = b.close(kDay);
  const int payouts = closed["payouts"];
  BOOST_TEST_REQUIRE(payouts >= 1);
  const auto mail = b.dir / "data" / "mail";
  const auto count = [&] {
    std::size_t n = 0;
    std::error_code ignored;
    for (const auto& file : std::filesystem::directory_iterator(mail, ignored))
      n += file.path().extension() == ".eml";
    return n;
  };
  BOOST_TEST(count() == 0u);  // nobody has an email yet
  for (const std::string who : {"acc", "wk1", "wk2"}) {
    b.as(who, "PATCH", "/api/v1/auth/users/me",
         {{"email", who + "@example.com"}, {"current_password", "password-" + who}});
  }
  BOOST_TEST(testing::wait_until([&] { return count() == static_cast<std::size_t>(payouts); }));
}

// The same scripted history in a given mode; the sorted balances of the
// workers and the accountant, and the day's earnings.
std::pair<std::vector<std::int64_t>, nlohmann::json> run_script(const std::string& mode) {
  Books b({{"ATES_TRACKER_CHARGE_LINK", mode}, {"ATES_TRACKER_SHUFFLE_BATCH", "3"}});
  std::vector<nlohmann::json> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(b.create("scripted " + std::to_string(i)));
  for (int i = 0; i < 4; ++i) b.complete(tasks[i]);
  BOOST_TEST_REQUIRE(b.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle").status == 200);
  tasks.push_back(b.create("after the shuffle"));
  // Complete the rest by whoever holds them now.
  for (std::size_t i = 4; i < 7; ++i) {
    b.complete(
        b.as("mgr", "GET", "/api/v1/tracker/tasks/" + tasks[i]["id"].get<std::string>()).json()["task"]);
  }
  b.sync("tracker.tasks", "accounting");
  std::vector<std::int64_t> balances;
  for (const std::string who : {"acc", "wk1", "wk2"}) balances.push_back(b.balance(who));
  std::sort(balances.begin(), balances.end());
  // Nothing is left held: every charge became its entry.
  BOOST_TEST(testing::wait_until([&] {
    return b.client->get("/metrics").body.find("ates_accounting_pending_charges{plugin=\"accounting\"} 0") !=
           std::string::npos;
  }));
  return {balances, b.as("acc", "GET", "/api/v1/accounting/earnings").json()};
}

BOOST_AUTO_TEST_CASE(the_same_history_gives_the_same_money_in_events_and_rpc_modes) {
  const auto [event_balances, event_earnings] = run_script("events");
  const auto [rpc_balances, rpc_earnings] = run_script("rpc");
  BOOST_TEST(event_balances == rpc_balances,
             "events " << nlohmann::json(event_balances) << " rpc " << nlohmann::json(rpc_balances));
  BOOST_TEST(event_earnings == rpc_earnings, event_earnings.dump() << " vs " << rpc_earnings.dump());
  BOOST_TEST(event_earnings["days"][0]["fees_cents"].get<std::int64_t>() > 0);
}

BOOST_AUTO_TEST_CASE(in_rpc_mode_accounting_down_means_503_and_nothing_changes) {
  Books b({{"ATES_TRACKER_CHARGE_LINK", "rpc"}, {"ATES_TRACKER_RPC_TIMEOUT_MS", "300"}});
  const auto task = b.create("charged through rpc");
  b.sync("tracker.tasks", "accounting");
  const std::string who = b.name_of(task["assignee_id"]);
  const auto fee = b.entries(who);
  BOOST_TEST_REQUIRE(fee.size() == 1u);
  BOOST_TEST(fee[0]["kind"] == "fee");
  const std::int64_t balance = b.balance(who);

  // Accounting is not there: every change that moves money is refused whole.
  b.set_plugins("auth,tracker");
  b.restart();
  const auto head = [&] {
    const auto streams = b.as("boss", "GET", "/api/v1/events/streams").json();
    for (const auto& s : streams["streams"]) {
      if (s["name"] == "tracker.tasks") return s["head_seq"].get<std::uint64_t>();
    }
    return std::uint64_t{0};
  };
  const std::uint64_t before = head();
  const auto path = "/api/v1/tracker/tasks/" + task["id"].get<std::string>();
  check_problem(b.as("mgr", "POST", "/api/v1/tracker/tasks", {{"title", "no money, no task"}}), 503,
                "accounting did not take the charge");
  check_problem(b.as(who, "POST", path + "/complete"), 503, "accounting did not take the charge");
  check_problem(b.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle"), 503,
                "accounting did not take the charge");
  BOOST_TEST(head() == before);
  const auto all = b.as("boss", "GET", "/api/v1/tracker/tasks").json()["tasks"];
  BOOST_TEST_REQUIRE(all.size() == 1u);
  BOOST_TEST(all[0]["status"] == "open");
  BOOST_TEST(all[0]["assignee_id"] == task["assignee_id"]);

  // Back: the same money, nothing held, and changes work again.
  b.set_plugins("auth,tracker,accounting");
  b.restart();
  b.sync("tracker.tasks", "accounting");
  BOOST_TEST(b.balance(who) == balance);
  BOOST_TEST(b.entries(who).size() == 1u);
  // Completed with an Idempotency-Key, then retried: the first answer again,
  // not "done already", and one reward.
  auto headers = bearer(b.tokens.at(who));
  headers["Idempotency-Key"] = "complete-once";
  const auto first = b.client->request("POST", path + "/complete", "", headers);
  BOOST_TEST_REQUIRE(first.status == 200, first.body);
  const auto retry = b.client->request("POST", path + "/complete", "", headers);
  BOOST_TEST(retry.status == 200, retry.body);
  BOOST_TEST(retry.body == first.body);
  BOOST_TEST(retry.header("idempotent-replayed") == "true");
  b.sync("tracker.tasks", "accounting");
  BOOST_TEST(b.entries(who).size() == 2u, b.entries(who).dump());
}

// A charge COMMITted over rpc whose tracker.tasks event never comes (a
// tracker restored from an older copy, or a host allowed to call
// accounting.decide committing what the tracker never did) is reversed
// once tracker.tasks is complete past its time, before its day closes; the
// balances, the day's earnings and analytics' come back to what the
// tracker's events alone say.
BOOST_AUTO_TEST_CASE(a_committed_charge_whose_event_never_comes_is_reversed_before_its_day_closes) {
  testing::TempDir bus_dir;
  const std::string replay = "ipc://" + (bus_dir / "replay").string();
  Books b({{"ATES_TRACKER_CHARGE_LINK", "rpc"},
           {"ATES_BUS_PUBLISH", "ipc://" + (bus_dir / "pub").string()},
           {"ATES_BUS_REPLAY", replay}},
          {"auth,tracker,accounting,analytics"});
  const auto task = b.create("the only real work");
  b.sync("tracker.tasks", "accounting");
  const std::string who = b.name_of(task["assignee_id"]);
  const std::int64_t balance = b.balance(who);
  const auto earnings_before = b.as("acc", "GET", "/api/v1/accounting/earnings?from=" + kDay).json();

  // A second fee on the same task, prepared and committed by a caller on
  // this machine, with no TaskAssigned behind it.
  auto caller =
      std::move(bus::Bus::start({.publish = "inproc://caller-pub", .replay = "inproc://caller-replay"}))
          .value();
  const std::string event_id = "00000000-0000-4000-8000-00000000c0de";
  const protocol::PrepareCharges prepare{.op_id = "no-such-op",
                                         .charges = {{.event_id = event_id,
                                                      .kind = "fee",
                                                      .task_id = task["id"],
                                                      .user_id = task["assignee_id"]}},
                                         .deadline_us = 4'000'000'000'000'000};
  BOOST_TEST_REQUIRE(caller
                         ->call(replay, std::string(protocol::kPrepareService),
                                protocol::pack_message(prepare), std::chrono::seconds(10))
                         .has_value());
  const std::int64_t now = 1'772'528'400'000'000;  // 09:00 of kDay: the fake clock has not moved
  const protocol::ChargeDecision commit{
      .op_id = "no-such-op", .decision = "commit", .committed = {event_id}, .time_us = now};
  BOOST_TEST_REQUIRE(caller
                         ->call(replay, std::string(protocol::kDecideService), protocol::pack_message(commit),
                                std::chrono::seconds(10))
                         .has_value());
  // Booked at once, as COMMIT does, and the day cannot close on it yet.
  BOOST_TEST_REQUIRE(b.entries(who).size() == 2u, b.entries(who).dump());
  BOOST_TEST(b.balance(who) < balance);

  // tracker.tasks goes past the COMMIT's time without its event: reversed.
  b.advance(60);
  b.create("later work");
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    for (const auto& e : b.entries(who))
      if (e["kind"] == "fee_reversal") return true;
    return false;
  }));
  b.sync("tracker.tasks", "accounting");
  b.sync("accounting.transactions", "analytics");
  std::int64_t fee = 0, reversal = 0;
  for (const auto& e : b.entries(who)) {
    if (e["kind"] == "fee" && e["task"]["id"] == task["id"]) fee += e["amount_cents"].get<std::int64_t>();
    if (e["kind"] == "fee_reversal") {
      reversal += e["amount_cents"].get<std::int64_t>();
      BOOST_TEST(e["date"] == kDay);
      BOOST_TEST(e["description"].get<std::string>().find("reversed") != std::string::npos, e.dump());
    }
  }
  BOOST_TEST(reversal == -fee / 2);  // one of the two fees of the task
  // The books say what the tracker's events say: the first task's fee, and
  // the later task's.
  std::int64_t later_fee = 0;
  for (const auto& e : b.entries(who))
    if (e["kind"] == "fee" && e["task"]["title"] == "later work")
      later_fee += e["amount_cents"].get<std::int64_t>();
  BOOST_TEST(b.balance(who) == balance + later_fee);
  const auto earnings = b.as("acc", "GET", "/api/v1/accounting/earnings?from=" + kDay).json();
  BOOST_TEST_REQUIRE(earnings["days"].size() >= 1u, earnings.dump());
  BOOST_TEST(earnings["days"][0]["fees_cents"].get<std::int64_t>() ==
                 earnings_before["days"][0]["fees_cents"].get<std::int64_t>() - later_fee,
             earnings.dump() << " vs " << earnings_before.dump());
  // Analytics counts the reversal too: its day's fees are accounting's.
  BOOST_TEST(testing::wait_until([&] {
    const auto summary = b.as("boss", "GET", "/api/v1/analytics/summary?date=" + kDay).json();
    return summary["fees_cents"] == earnings["days"][0]["fees_cents"] &&
           summary["rewards_cents"] == earnings["days"][0]["rewards_cents"];
  }));
  // Once only, and the day closes.
  b.advance(24 * 3600);
  const auto closed = b.close(kDay);
  BOOST_TEST(closed["status"] == "closed");
  std::size_t reversals = 0;
  for (const auto& e : b.entries(who)) reversals += e["kind"] == "fee_reversal";
  BOOST_TEST(reversals == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
