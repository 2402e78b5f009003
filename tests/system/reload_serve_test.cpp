// The tracker plugin reloaded 20 times (`ates plugin reload tracker` over
// the control socket) under a load of concurrent creates, completions and
// shuffles. Nothing is lost or doubled: every acknowledged create exists
// once, the tracker's outbox has no gap, every assignment has one fee and
// every completion one reward, and the audit is clean.
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/whole_system.hpp"

namespace ates {
namespace {

using namespace whole_system;

BOOST_AUTO_TEST_SUITE(reload_serve)

BOOST_AUTO_TEST_CASE(twenty_reloads_of_the_tracker_under_load_lose_and_double_nothing) {
  testing::TempDir dir;
  const std::string data = (dir / "data").string();
  auto env = test_environment();
  env["ATES_TRACKER_SHUFFLE_BATCH"] = "50";  // a reload can fall between a shuffle's batches
  add_users(data, env);
  Serve serve(data, "auth,tracker,accounting,analytics", env);
  const HttpClient client = serve.client();
  const Logins logins(client);
  require_converged({&client}, logins.as.at("boss"));  // the tracker knows the workers
  Load load(logins, 11);
  load.target(serve.base());
  load.start(4);
  for (int reload = 0; reload < 20; ++reload) {
    BOOST_TEST_CONTEXT("reload " << reload) {
      // Each reload under load: the clients got answers since the last one.
      const std::uint64_t before = load.acknowledged();
      BOOST_TEST_REQUIRE(
          testing::wait_until([&] { return load.acknowledged() >= before + 100; }, std::chrono::seconds(60)));
      const auto reloaded = testing::run_to_end({kAtes, "plugin", "reload", "tracker", "--data", data});
      BOOST_TEST_REQUIRE(reloaded.exit_code == 0, reloaded.out << reloaded.err);
    }
  }
  const std::uint64_t after_reloads = load.acknowledged();
  BOOST_TEST_REQUIRE(testing::wait_until([&] { return load.acknowledged() >= after_reloads + 40; },
                                         std::chrono::seconds(60)));
  load.stop();
  BOOST_TEST(load.unexpected.empty(), load.unexpected.size()
                                          << " unexpected answers, the first: "
                                          << (load.unexpected.empty() ? "" : load.unexpected[0]));
  BOOST_TEST_MESSAGE("acknowledged: " << load.created.size() << " creates, " << load.completed.size()
                                      << " completions, " << load.shuffles << " shuffles; " << load.unanswered
                                      << " requests answered 503 while reloading");
  // Requests did meet reloads: each holds the tracker's routes at 503 for
  // tens of milliseconds (its consumers stopped and joined, its library and
  // environment opened again) while four clients send without a pause, so
  // none overlapping any of the 20 would mean the clients never ran.
  BOOST_TEST(load.unanswered > 0u);
  BOOST_TEST(load.completed.size() >= 100u);
  BOOST_TEST(load.shuffles >= 2u);
  BOOST_TEST(serve.process().stderr_text().find("plugin tracker: reloading") != std::string::npos);

  const Headers& boss = logins.as.at("boss");
  require_converged({&client}, boss);
  const auto status = nlohmann::json::parse(testing::run_to_end({kAtes, "status", "--data", data}).out);
  BOOST_TEST(status["status"] == "ready", status.dump());

  const auto status_of = require_nothing_lost_or_doubled(client, boss, load, dir / "data");
  // Each 201 is one task: no create ran twice (no crash cut an answer off).
  BOOST_TEST(status_of.size() == load.created.size());
  serve.stop();
  require_clean_audit(data);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
