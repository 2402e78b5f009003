// `ates audit` with `ates serve` processes: it passes on a clean run
// (through the live server's control socket) and right after a SIGKILL
// under load (the plugins loaded read-only), and names an inconsistency
// planted in accounting's ledger either way. It writes accounting's table
// behind its back, so it lives with accounting.
#include <signal.h>

#include "ates/bus/bus.hpp"
#include "ates/protocol/charge.hpp"
#include "ates/storage/environment.hpp"
#include "ates/testing/serve_site.hpp"

#include "ledger.hpp"

namespace ates {
namespace {

using namespace serve_site;

BOOST_AUTO_TEST_SUITE(audit_serve)

BOOST_AUTO_TEST_CASE(the_audit_passes_clean_and_after_a_kill_and_names_a_planted_mismatch) {
  Site site;
  site.start("auth,tracker,accounting,analytics");
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    return site.client->post("/api/v1/tracker/tasks", R"({"title":"first"})", site.as["boss"]).status == 201;
  }));
  site.work(300, 4);
  BOOST_TEST(site.client->post("/api/v1/tracker/tasks/shuffle", "", site.as["boss"]).status == 200);
  // The next day: close the first, so payouts are reconciled too.
  BOOST_TEST(site.client->post("/api/v1/dev/clock", R"({"advance_seconds":86400})", site.as["boss"]).status ==
             200);
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    return site.client->post("/api/v1/accounting/days/2026-03-03/close", "", site.as["boss"]).status == 200;
  }));
  BOOST_TEST_REQUIRE(site.caught_up("analytics"));
  const auto clean = audit(site.data);
  BOOST_TEST(clean.exit_code == 0, clean.out);
  BOOST_TEST(clean.out.find(" payouts") != std::string::npos, clean.out);
  BOOST_TEST(clean.out.find(" 0 payouts") == std::string::npos, clean.out);
  BOOST_TEST(clean.out.find("the money reconciles (audited: accounting, analytics)") != std::string::npos,
             clean.out);
  BOOST_TEST(clean.out.find("audit of the server running on ") == 0u, clean.out);
  BOOST_TEST(clean.out.find("charges: ") != std::string::npos, clean.out);
  BOOST_TEST(clean.out.find("analytics: earnings of ") != std::string::npos, clean.out);

  // Killed under load: consumers may lag; that is lag, not a mismatch.
  const auto tracker_head = [&] {
    const auto body = site.client->get("/api/v1/events/streams", site.as["boss"]).json();
    if (!body.is_object()) return std::uint64_t{0};
    for (const auto& stream : body["streams"]) {
      if (stream["name"] == "tracker.tasks") return stream["head_seq"].get<std::uint64_t>();
    }
    return std::uint64_t{0};
  };
  const std::uint64_t before_load = tracker_head();
  std::atomic<bool> stop{false};
  std::thread load([&] { site.work(100'000, 4, &stop); });
  BOOST_TEST_REQUIRE(testing::wait_until([&] { return tracker_head() >= before_load + 200; }));
  site.serve->signal(SIGKILL);
  stop = true;
  load.join();
  BOOST_TEST(site.serve->wait().has_value());
  const auto after_kill = audit(site.data);
  BOOST_TEST(after_kill.exit_code == 0, after_kill.out);
  BOOST_TEST(after_kill.out.find("(no server runs: its plugins loaded read-only)") != std::string::npos,
             after_kill.out);
  BOOST_TEST(
      after_kill.out.find("the money reconciles (audited: accounting, analytics)") != std::string::npos,
      after_kill.out);
  BOOST_TEST_MESSAGE("audit after the kill:\n" << after_kill.out);

  // One balance changed behind the ledger's back.
  {
    auto env =
        storage::Environment::open({.dir = site.dir / "data" / "accounting", .producer = "accounting"});
    BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
    auto accounts = (*env)->table<accounting::Account>("accounts");
    BOOST_TEST_REQUIRE((*env)
                           ->run([&](storage::WriteTxn& txn) {
                             std::string user;
                             accounting::Account account;
                             accounts.scan(txn, {}, [&](std::string_view id, accounting::Account a) {
                               user = id;
                               account = a;
                               return false;
                             });
                             account.balance_cents += 100;
                             accounts.put(txn, user, account);
                             return base::Status::ok();
                           })
                           .is_ok());
  }
  const auto planted = audit(site.data);
  BOOST_TEST(planted.exit_code == 1, planted.out);
  BOOST_TEST(planted.out.find("MISMATCH balance of") != std::string::npos, planted.out);
  BOOST_TEST(planted.out.find("audit: 1 mismatches") != std::string::npos, planted.out);

  // The running server finds it too.
  site.start("auth,tracker,accounting,analytics");
  const auto live = audit(site.data);
  BOOST_TEST(live.exit_code == 1, live.out);
  BOOST_TEST(live.out.find("audit of the server running on ") == 0u, live.out);
  BOOST_TEST(live.out.find("MISMATCH balance of") != std::string::npos, live.out);
}

// rpc mode: a charge committed with no tracker.tasks event behind it is
// reversed once the tracker's stream is past its time; the audit passes
// the pair and says so.
BOOST_AUTO_TEST_CASE(the_audit_passes_a_reversed_charge_and_reports_it) {
  Site site;
  const std::string replay = "ipc://" + (site.dir / "replay").string();
  site.start("auth,tracker,accounting,analytics",
             {{"ATES_TRACKER_CHARGE_LINK", "rpc"},
              {"ATES_BUS_PUBLISH", "ipc://" + (site.dir / "pub").string()},
              {"ATES_BUS_REPLAY", replay}});
  testing::HttpResponse created;
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    created = site.client->post("/api/v1/tracker/tasks", R"({"title":"real"})", site.as["boss"]);
    return created.status == 201;
  }));
  const auto task = created.json()["task"];
  auto caller =
      std::move(bus::Bus::start({.publish = "inproc://caller-pub", .replay = "inproc://caller-replay"}))
          .value();
  const std::string event_id = "00000000-0000-4000-8000-00000000c0de";
  const protocol::PrepareCharges prepare{.op_id = "op",
                                         .charges = {{.event_id = event_id,
                                                      .kind = "fee",
                                                      .task_id = task["id"],
                                                      .user_id = task["assignee_id"]}},
                                         .deadline_us = 4'000'000'000'000'000};
  BOOST_TEST_REQUIRE(caller
                         ->call(replay, std::string(protocol::kPrepareService),
                                protocol::pack_message(prepare), std::chrono::seconds(10))
                         .has_value());
  const protocol::ChargeDecision commit{
      .op_id = "op", .decision = "commit", .committed = {event_id}, .time_us = 1'772'528'400'000'000};
  BOOST_TEST_REQUIRE(caller
                         ->call(replay, std::string(protocol::kDecideService), protocol::pack_message(commit),
                                std::chrono::seconds(10))
                         .has_value());
  BOOST_TEST(site.client->post("/api/v1/dev/clock", R"({"advance_seconds":60})", site.as["boss"]).status ==
             200);
  BOOST_TEST(site.client->post("/api/v1/tracker/tasks", R"({"title":"later"})", site.as["boss"]).status ==
             201);
  const Headers& worker = site.as[site.name_of.at(task["assignee_id"])];
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    return site.client->get("/api/v1/accounting/accounts/me/entries", worker).body.find("fee_reversal") !=
           std::string::npos;
  }));
  BOOST_TEST_REQUIRE(site.caught_up("analytics"));
  const auto audited = audit(site.data);
  BOOST_TEST(audited.exit_code == 0, audited.out);
  BOOST_TEST(audited.out.find("1 charges committed over rpc were reversed, their events never came") !=
                 std::string::npos,
             audited.out);
  BOOST_TEST(audited.out.find("the money reconciles (audited: accounting, analytics)") != std::string::npos,
             audited.out);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
