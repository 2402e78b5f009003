// Crash safety of the whole event path (outbox, bus, checkpoints): a producer process
// and a consumer process talking over ipc sockets are killed, again and
// again, at each failpoint of the path and at seeded random moments, while
// 20 000 events flow. In the end the consumer has applied exactly the
// producer's outbox: every event, once, in order.
#include <signal.h>

#include <map>
#include <random>
#include <set>

#include <boost/test/unit_test.hpp>
#include <sys/wait.h>

#include "ates/bus/bus.hpp"
#include "ates/protocol/events.hpp"
#include "ates/storage/environment.hpp"
#include "ates/storage/failpoint.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

namespace ates {
namespace {

using testing::Process;

constexpr std::uint64_t kEvents = 20'000;
constexpr int kRounds = 28;  // each round kills the producer once and the consumer once

struct Plan {
  std::string failpoint;  // empty: SIGKILL after `lines` progress lines
  int lines = 1;
};

// Waits until the process dies on its own (a failpoint) or has printed
// `lines` progress lines (then kills it). Returns how it ended.
std::string run_until_killed(Process& process, const Plan& plan) {
  int seen = 0;
  for (;;) {
    // A failpoint on a path the process is not taking (nothing left to
    // publish, say) never fires: after a quiet second it is killed like
    // the random rounds.
    const auto line = process.read_line(std::chrono::seconds(1));
    if (!line) break;  // died (stdout closed) or went quiet
    if (*line == "done") continue;
    if (plan.failpoint.empty() && ++seen >= plan.lines) break;
  }
  process.signal(SIGKILL);
  const auto status = process.wait();
  BOOST_TEST_REQUIRE(status.has_value());
  if (WIFEXITED(*status)) return "exit " + std::to_string(WEXITSTATUS(*status));
  if (WTERMSIG(*status) != SIGKILL) return "signal " + std::to_string(WTERMSIG(*status));
  return process.stderr_text().find("failpoint ") != std::string::npos ? "failpoint" : "killed";
}

BOOST_AUTO_TEST_SUITE(bus_crash)

BOOST_AUTO_TEST_CASE(kills_at_every_point_lose_nothing_and_apply_nothing_twice) {
  testing::TempDir dir;
  const std::string node = ATES_BUS_CRASH_NODE;
  const std::string pub = "ipc://" + (dir / "pub").string();
  const std::string replay = "ipc://" + (dir / "replay").string();
  std::mt19937 seeded(20261126);
  const std::vector<std::string> producer_points = {std::string(storage::kFailAfterCommit),
                                                    std::string(bus::kFailBeforePublish),
                                                    std::string(storage::kFailAfterUnit)};
  const std::vector<std::string> consumer_points = {std::string(bus::kFailMidBatchApply),
                                                    std::string(storage::kFailAfterCommit),
                                                    std::string(storage::kFailBeforeCommit)};
  // Rounds alternate: in one the consumer stops at a failpoint (the points
  // in turn, on an early pass) while the producer is killed at a random
  // moment well into its work, so the consumer has batches to apply; in the
  // next the producer stops at a failpoint and the consumer at random.
  std::uniform_int_distribution<int> pass(1, 3);
  auto failpoint_plan = [&](const std::vector<std::string>& points, int round) {
    return Plan{
        points[static_cast<std::size_t>(round / 2) % points.size()] + ":" + std::to_string(pass(seeded)), 0};
  };
  auto random_plan = [&](int min_lines, int max_lines) {
    return Plan{"", std::uniform_int_distribution<int>(min_lines, max_lines)(seeded)};
  };

  int producer_kills = 0, consumer_kills = 0;
  std::map<std::string, int> fired;  // failpoint -> how often it killed
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t until = kEvents * static_cast<std::uint64_t>(round + 1) / (kRounds + 1);
    const bool consumer_turn = round % 2 == 0;
    const Plan consumer_plan = consumer_turn ? failpoint_plan(consumer_points, round) : random_plan(1, 6);
    const Plan producer_plan = consumer_turn ? random_plan(20, 60) : failpoint_plan(producer_points, round);
    BOOST_TEST_CONTEXT("round " << round << ": producer " << producer_plan.failpoint << "/"
                                << producer_plan.lines << ", consumer " << consumer_plan.failpoint << "/"
                                << consumer_plan.lines) {
      Process producer({node, "producer", dir.path().string(), pub, replay, std::to_string(until)},
                       {{"ATES_FAILPOINT", producer_plan.failpoint}});
      Process consumer({node, "consumer", dir.path().string(), pub, replay, std::to_string(kEvents)},
                       {{"ATES_FAILPOINT", consumer_plan.failpoint}});
      const std::string consumer_end = run_until_killed(consumer, consumer_plan);
      const std::string producer_end = run_until_killed(producer, producer_plan);
      if (consumer_end == "failpoint" || consumer_end == "killed") ++consumer_kills;
      if (producer_end == "failpoint" || producer_end == "killed") ++producer_kills;
      if (consumer_end == "failpoint")
        ++fired["consumer " + consumer_plan.failpoint.substr(0, consumer_plan.failpoint.find(':'))];
      if (producer_end == "failpoint")
        ++fired["producer " + producer_plan.failpoint.substr(0, producer_plan.failpoint.find(':'))];
    }
  }
  BOOST_TEST_MESSAGE(producer_kills << " producer kills, " << consumer_kills << " consumer kills");
  for (const auto& [point, count] : fired)
    BOOST_TEST_MESSAGE("  " << point << " fired " << count << " times");
  BOOST_TEST(producer_kills >= 25);
  BOOST_TEST(consumer_kills >= 25);
  // Every failpoint of the path really killed a process at least once.
  for (const auto& point : producer_points) BOOST_TEST(fired["producer " + point] > 0, point);
  for (const auto& point : consumer_points) BOOST_TEST(fired["consumer " + point] > 0, point);

  // The last run: nothing armed, until everything is applied.
  {
    Process producer({node, "producer", dir.path().string(), pub, replay, std::to_string(kEvents)});
    Process consumer({node, "consumer", dir.path().string(), pub, replay, std::to_string(kEvents)});
    const auto status = consumer.wait(testing::scaled(std::chrono::seconds(120)));
    BOOST_TEST_REQUIRE(status.has_value(),
                       "the consumer did not catch up; stderr: " << consumer.stderr_text());
    BOOST_TEST_REQUIRE(WIFEXITED(*status));
    BOOST_TEST_REQUIRE(WEXITSTATUS(*status) == 0);
  }

  // The consumer applied exactly the producer's outbox, once, in order.
  auto producer_env =
      storage::Environment::open({.dir = dir / "tracker", .producer = "tracker", .read_only = true});
  auto consumer_env =
      storage::Environment::open({.dir = dir / "accounting", .producer = "accounting", .read_only = true});
  BOOST_TEST_REQUIRE(producer_env.has_value());
  BOOST_TEST_REQUIRE(consumer_env.has_value());
  // Tables first: a read transaction sees only tables opened before it began.
  storage::RawTable applied = (*consumer_env)->raw_table("applied");
  storage::RawTable duplicates = (*consumer_env)->raw_table("duplicates");
  storage::ReadTxn producer_txn = (*producer_env)->read();
  storage::ReadTxn consumer_txn = (*consumer_env)->read();
  const auto outbox = (*producer_env)->read_outbox(producer_txn, protocol::kTasksStream, 1, SIZE_MAX);
  BOOST_TEST_REQUIRE(outbox.size() == kEvents);
  BOOST_TEST(duplicates.size(consumer_txn) == 0u);
  BOOST_TEST(applied.size(consumer_txn) == kEvents);
  for (std::size_t i = 0; i < outbox.size(); ++i) {
    const auto envelope = protocol::decode_envelope(outbox[i]);
    BOOST_TEST_REQUIRE(envelope.has_value());
    if (envelope->seq != i + 1) BOOST_FAIL("producer outbox gap at " << i + 1);
    const auto at = applied.get(consumer_txn, envelope->event_id);
    if (!at) BOOST_FAIL("event " << envelope->seq << " was never applied");
    if (storage::decode_key_u64(*at) != envelope->seq)
      BOOST_FAIL("event " << envelope->seq << " applied out of place");
  }
  BOOST_TEST((*consumer_env)->checkpoint(consumer_txn, protocol::kTasksStream)->applied_seq == kEvents);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
