// The watermark invariant (docs/storage.md): after each commit the pair
// (head_seq, watermark) holds that every event with time < watermark has
// seq <= head_seq, whatever the clock does.
#include <atomic>
#include <mutex>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "ates/testing/wait.hpp"

#include "test_support.hpp"

namespace ates::storage {

using base::ManualClock;

namespace {

using base::SeededRandom;
using testing::TempDir;

struct Pairs final : CommitObserver {
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, std::int64_t>> pairs;  // (head_seq, watermark)
  void on_commit(const CommitInfo& info) override {
    std::lock_guard lock(mutex);
    pairs.emplace_back(info.heads.at(0).head_seq, info.watermark);
  }
};

void check_invariant(const std::vector<protocol::Envelope>& events,
                     const std::vector<std::pair<std::uint64_t, std::int64_t>>& pairs) {
  for (const auto& [head, watermark] : pairs) {
    for (const auto& event : events) {
      if (event.time_us < watermark && event.seq > head) {
        BOOST_FAIL("event " << event.seq << " at " << event.time_us << " is after the pair (" << head << ", "
                            << watermark << ")");
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE(watermark)

BOOST_AUTO_TEST_CASE(holds_under_concurrent_submitters_and_a_jumping_clock) {
  TempDir dir;
  ManualClock clock(1'000'000'000);
  SeededRandom random(11);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  RawTable tasks = env->raw_table("tasks");
  Pairs pairs;
  env->add_observer(&pairs);

  std::atomic<bool> running{true};
  // The clock moves forwards and, now and then, backwards.
  std::thread ticker([&] {
    std::uint64_t step = 0;
    while (running.load()) {
      clock.advance(++step % 50 == 0 ? -20'000 : 137);
      std::this_thread::yield();
    }
  });
  std::atomic<int> failures{0};  // Boost.Test assertions are not thread-safe
  std::vector<std::thread> writers;
  for (int t = 0; t < 6; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (!env->run(test::create_task(tasks, static_cast<std::uint64_t>(t) * 1000 + i + 1))) ++failures;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  running = false;
  ticker.join();
  env->remove_observer(&pairs);
  BOOST_TEST_REQUIRE(failures.load() == 0);

  const auto events = test::read_all(*env);
  BOOST_TEST_REQUIRE(events.size() == 1200u);
  BOOST_TEST_REQUIRE(pairs.pairs.size() > 1u);
  check_invariant(events, pairs.pairs);
  // Watermarks never go back, even when the clock does.
  for (std::size_t i = 1; i < pairs.pairs.size(); ++i) {
    BOOST_TEST_REQUIRE(pairs.pairs[i].second >= pairs.pairs[i - 1].second);
  }
}

BOOST_AUTO_TEST_CASE(clock_stepping_back_never_stamps_below_floor_even_after_reopen) {
  TempDir dir;
  ManualClock clock(5'000'000);
  SeededRandom random(12);
  std::int64_t watermark = 0;
  {
    auto env = test::open_tracker(dir.path(), &clock, &random);
    BOOST_TEST_REQUIRE(env->run(test::create_task(env->raw_table("tasks"), 1)).is_ok());
    watermark = env->head(test::kStream)->watermark;
    BOOST_TEST(watermark == 5'000'000);
    clock.set(1'000'000);  // an hour's NTP correction, say
    BOOST_TEST_REQUIRE(env->run(test::create_task(env->raw_table("tasks"), 2)).is_ok());
    BOOST_TEST(test::read_all(*env).back().time_us >= watermark);
    BOOST_TEST(env->head(test::kStream)->watermark >= watermark);
  }
  // The floor is durable: a restart with the clock still behind keeps it.
  auto env = test::open_tracker(dir.path(), &clock, &random);
  BOOST_TEST(env->head(test::kStream)->watermark >= watermark);
  BOOST_TEST_REQUIRE(env->run(test::create_task(env->raw_table("tasks"), 3)).is_ok());
  const auto events = test::read_all(*env);
  BOOST_TEST(events.back().time_us >= watermark);
  check_invariant(events, {{1, watermark}});
}

BOOST_AUTO_TEST_CASE(an_idle_stream_still_moves_its_watermark) {
  TempDir dir;
  ManualClock clock(1'000'000);
  SeededRandom random(13);
  auto env = test::open_tracker(dir.path(), &clock, &random);  // tick: 20 ms
  BOOST_TEST_REQUIRE(env->run(test::create_task(env->raw_table("tasks"), 1)).is_ok());
  clock.set(9'000'000);
  // No writes: the writer's tick commits an empty batch with the new time.
  BOOST_TEST(testing::wait_until([&] { return env->head(test::kStream)->watermark >= 9'000'000; }));
  BOOST_TEST(env->head(test::kStream)->head_seq == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::storage
