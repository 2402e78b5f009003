// The whole `ates serve` process (auth, tracker, accounting, analytics)
// killed six times under a load of concurrent creates, completions and
// shuffles over HTTP, and started again each time. Afterwards nothing
// acknowledged is lost, the tracker's outbox has no gap, every assignment
// has exactly one fee and every completion exactly one reward, every
// balance is the sum of its entries, and `ates audit` passes with no
// consumer lagging.
#include <algorithm>
#include <cstdint>

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

  std::string resumed_shuffle;  // the id of the shuffle cut off between its batches
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
        BOOST_TEST(serve->process().stderr_text().find("failpoint " +
                                                       ends[run].substr(0, ends[run].find(':')) + " hit") !=
                   std::string::npos);
      }
      // The next run: the next failpoint armed, or none.
      auto next_env = env;
      if (run + 1 < ends.size() && !ends[run + 1].empty()) next_env["ATES_FAILPOINT"] = ends[run + 1];
      serve = std::make_unique<Serve>(data, plugins, next_env);
      load.target(serve->base());
      if (ends[run].starts_with("tracker.shuffle")) {
        const std::string resuming = "resuming shuffle ";
        std::string err;
        BOOST_TEST_REQUIRE(testing::wait_until(
            [&] { return (err = serve->process().stderr_text()).find(resuming) != std::string::npos; },
            deadline));
        const auto at = err.find(resuming) + resuming.size();
        resumed_shuffle = err.substr(at, err.find(' ', at) - at);
      }
    }
  }
  // The last server runs without a failpoint; a little more load, then quiet.
  const std::uint64_t at_last_start = load.acknowledged();
  BOOST_TEST_REQUIRE(
      testing::wait_until([&] { return load.acknowledged() >= at_last_start + 50; }, deadline));
  load.stop();
  BOOST_TEST(load.unexpected.empty(), load.unexpected.size()
                                          << " unexpected answers, the first: "
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

  // The shuffle cut off between its batches finished once resumed: it
  // reassigned every task open from before its first reassignment to
  // after its last exactly once, and no task twice.
  std::map<std::string, std::uint64_t> created_at, completed_at;
  PerTask by_shuffle;
  std::uint64_t first_seq = UINT64_MAX, last_seq = 0;
  for (const auto& e : testing::read_stream(dir / "data" / "tracker", "tracker", "tracker.tasks")) {
    if (e.name == protocol::TaskCreated::kName)
      created_at[protocol::decode_payload<protocol::TaskCreated>(e)->task_id] = e.seq;
    if (e.name == protocol::TaskCompleted::kName)
      completed_at[protocol::decode_payload<protocol::TaskCompleted>(e)->task_id] = e.seq;
    if (e.name == protocol::TaskAssigned::kName) {
      const auto assigned = protocol::decode_payload<protocol::TaskAssigned>(e);
      if (assigned->shuffle_id != resumed_shuffle) continue;
      by_shuffle[assigned->task_id]++;
      first_seq = std::min(first_seq, e.seq);
      last_seq = std::max(last_seq, e.seq);
    }
  }
  BOOST_TEST_REQUIRE(!by_shuffle.empty(), "shuffle " << resumed_shuffle << " reassigned nothing");
  int open_throughout = 0;
  for (const auto& [id, created] : created_at) {
    const int times = by_shuffle.contains(id) ? by_shuffle.at(id) : 0;
    BOOST_TEST(times <= 1, "task " << id << " reassigned " << times << " times by one shuffle");
    if (created < first_seq && (!completed_at.contains(id) || completed_at.at(id) > last_seq)) {
      ++open_throughout;
      BOOST_TEST(times == 1,
                 "task " << id << " open throughout shuffle " << resumed_shuffle << " was not reassigned");
    }
  }
  BOOST_TEST_MESSAGE("shuffle " << resumed_shuffle << " resumed and reassigned " << by_shuffle.size()
                                << " tasks, " << open_throughout << " of them open throughout");
  serve->stop();
  require_clean_audit(data);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
