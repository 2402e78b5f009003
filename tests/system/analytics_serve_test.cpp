// analytics with `ates serve` processes: analytics started after 50 000
// events catches up from the producers' logs, and a rebuild killed at its
// failpoint restarts and answers as before. (`ates audit` against a planted
// fault is plugins/accounting/audit_serve_test.cpp.)
#include <sys/wait.h>

#include "ates/testing/serve_site.hpp"

namespace ates {
namespace {

using namespace serve_site;

BOOST_AUTO_TEST_SUITE(analytics_serve)

BOOST_AUTO_TEST_CASE(a_late_analytics_catches_up_and_a_killed_rebuild_restarts_with_the_same_answers) {
  Site site;
  site.start("auth,tracker,accounting");
  BOOST_TEST_REQUIRE(testing::wait_until([&] {
    return site.client->post("/api/v1/tracker/tasks", R"({"title":"first"})", site.as["boss"]).status == 201;
  }));
  site.work(10'000, 8);  // about 50 000 events over the three streams
  BOOST_TEST_REQUIRE(site.caught_up("accounting"));
  site.stop();

  // Analytics starts now and fetches everything from the producers' logs.
  site.start("auth,tracker,accounting,analytics");
  BOOST_TEST_REQUIRE(site.caught_up("analytics"));
  const auto earnings =
      site.client->get("/api/v1/accounting/earnings?from=2026-03-03", site.as["boss"]).json()["days"][0];
  const auto before = site.answers();
  BOOST_TEST(before[0]["management_earnings_cents"] == earnings["earnings_cents"]);
  BOOST_TEST(!before[1]["task"].is_null());
  const auto clean = audit(site.data);  // beside the live host
  BOOST_TEST(clean.exit_code == 0, clean.out << clean.err);
  site.stop();

  // A rebuild killed between two batches starts again at the next start.
  site.start("auth,tracker,accounting,analytics",
             {{"ATES_FAILPOINT", "analytics.rebuild_between_batches:3"}});
  const auto started = site.client->post("/api/v1/analytics/rebuild", "", site.as["boss"]);
  BOOST_TEST_REQUIRE(started.status == 202, started.body);
  BOOST_TEST(started.json()["stored_events"].get<std::uint64_t>() >= 50'000u);
  const auto killed = site.serve->wait();
  BOOST_TEST_REQUIRE(killed.has_value());
  BOOST_TEST((WIFSIGNALED(*killed) && WTERMSIG(*killed) == SIGKILL));
  site.start("auth,tracker,accounting,analytics");
  BOOST_TEST_REQUIRE(testing::wait_until(
      [&] { return site.serve->stderr_text().find("rebuilt the read models") != std::string::npos; },
      std::chrono::seconds(120)));
  BOOST_TEST(site.answers() == before, site.answers().dump() << "\nvs\n" << before.dump());
  site.stop();
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
