// The whole `ates serve` process (auth, tracker, accounting, analytics)
// killed six times under a load of concurrent creates, completions and
// shuffles over HTTP, and started again each time. Afterwards nothing
// acknowledged is lost, the tracker's outbox has no gap, every assignment
// has exactly one fee and every completion exactly one reward, every
// balance is the sum of its entries, and `ates audit` passes with no
// consumer lagging.
#include "ates/testing/whole_system.hpp"

namespace ates {
namespace {

using namespace whole_system;

BOOST_AUTO_TEST_SUITE(crash_serve)

BOOST_AUTO_TEST_CASE(six_kills_under_load_lose_nothing_acknowledged_and_charge_everything_once) {
  testing::TempDir dir;
  const std::string data = (dir / "data").string();
  auto env = test_environment();
  env["ATES_TRACKER_SHUFFLE_BATCH"] = "50";  // a kill can fall between a shuffle's batches
  add_users(data, env);
  const std::string plugins = "auth,tracker,accounting,analytics";

  // How each run ends: a SIGKILL from outside, or a failpoint killing the
  // process at a chosen place of the event path (the n-th pass). The counts
  // are seeded, far enough in to be past the start-up (its commits,
  // catch-up batches and publishes) and low enough to be reached in a few
  // seconds even on a loaded machine or under a sanitizer.
  std::mt19937 rng(20261126);
  const std::vector<std::string> ends = {
      "",                                                                  // SIGKILL under load
      "writer.after_commit:" + std::to_string(300 + rng() % 300),          // committed, not yet answered
      "bus.mid_batch_apply:" + std::to_string(100 + rng() % 100),          // half a consumer batch applied
      "bus.before_publish:" + std::to_string(150 + rng() % 150),           // committed, not yet published
      "tracker.shuffle_between_batches:" + std::to_string(2 + rng() % 3),  // a shuffle half done
      "",                                                                  // SIGKILL under load
  };
  // Generous: each end comes within seconds here.
  const auto deadline = std::chrono::seconds(120);

  std::unique_ptr<Serve> serve = std::make_unique<Serve>(data, plugins, env);
  const Logins logins(serve->client());
  const HttpClient first = serve->client();
  require_converged({&first}, logins.as.at("boss"));  // the tracker knows the workers
  Load load(logins, 7);
  load.target(serve->base());
  load.start(4);
  for (std::size_t run = 0; run < ends.size(); ++run) {
    BOOST_TEST_CONTEXT("run " << run << " ending with " << (ends[run].empty() ? "SIGKILL" : ends[run])) {
      if (ends[run].empty()) {
        // Killed once this run has acknowledged a few hundred requests.
        const std::uint64_t before = load.acknowledged();
        const std::uint64_t wanted = 300 + rng() % 300;
        BOOST_TEST_REQUIRE(
            testing::wait_until([&] { return load.acknowledged() >= before + wanted; }, deadline));
        serve->kill();
      } else {
        const auto status = serve->process().wait(deadline);
        BOOST_TEST_REQUIRE(status.has_value(), "the failpoint was not reached");
        BOOST_TEST((WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL));
        BOOST_TEST(serve->process().stderr_text().find("failpoint " + ends[run].substr(0, ends[run].find(':')) +
                                                       " hit") != std::string::npos);
      }
      // The next run: the next failpoint armed, or none.
      auto next_env = env;
      if (run + 1 < ends.size() && !ends[run + 1].empty()) next_env["ATES_FAILPOINT"] = ends[run + 1];
      serve = std::make_unique<Serve>(data, plugins, next_env);
      load.target(serve->base());
      if (ends[run].starts_with("tracker.shuffle")) {
        BOOST_TEST_REQUIRE(testing::wait_until(
            [&] { return serve->process().stderr_text().find("resuming shuffle") != std::string::npos; },
            deadline));
      }
    }
  }
  // The last server runs without a failpoint; a little more load, then quiet.
  const std::uint64_t at_last_start = load.acknowledged();
  BOOST_TEST_REQUIRE(
      testing::wait_until([&] { return load.acknowledged() >= at_last_start + 50; }, deadline));
  load.stop();
  BOOST_TEST(load.unexpected.empty(), load.unexpected.size() << " unexpected answers, the first: "
                                                              << (load.unexpected.empty() ? "" : load.unexpected[0]));
  BOOST_TEST_MESSAGE("acknowledged: " << load.created.size() << " creates, " << load.completed.size()
                                      << " completions, " << load.shuffles << " shuffles; " << load.unanswered
                                      << " requests unanswered (killed or restarting)");
  // At least 650 answers by construction (two SIGKILL runs and the last one).
  BOOST_TEST(load.created.size() >= 400u);
  BOOST_TEST(load.completed.size() >= 100u);
  BOOST_TEST(load.shuffles >= 1u);

  const HttpClient client = serve->client();
  const Headers& boss = logins.as.at("boss");
  require_converged({&client}, boss);
  require_nothing_lost_or_doubled(client, boss, load, dir / "data");
  serve->stop();
  require_clean_audit(data);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
