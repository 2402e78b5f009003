#include "hash_pool.hpp"

#include <unistd.h>

#include <atomic>
#include <future>

#include <boost/test/unit_test.hpp>
#include <sys/resource.h>
#include <sys/syscall.h>

namespace ates::auth {
namespace {

int my_nice() { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid))); }

BOOST_AUTO_TEST_SUITE(hash_pool)

BOOST_AUTO_TEST_CASE(jobs_run_on_lower_priority_threads) {
  HashPool pool({.threads = 2, .queue_capacity = 4, .nice = 7});
  const int caller = my_nice();
  std::promise<std::pair<std::thread::id, int>> seen;
  BOOST_TEST_REQUIRE(pool.try_submit([&](bool run) {
    BOOST_TEST(run);
    seen.set_value({std::this_thread::get_id(), my_nice()});
  }));
  const auto [thread, nice] = seen.get_future().get();
  BOOST_TEST((thread != std::this_thread::get_id()));
  BOOST_TEST(nice == std::min(caller + 7, 19));
  BOOST_TEST(my_nice() == caller);  // only the pool's threads are lowered
}

BOOST_AUTO_TEST_CASE(a_full_queue_refuses_at_once_and_stop_cancels_what_waits) {
  HashPool pool({.threads = 1, .queue_capacity = 2, .nice = 0});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> ran{0}, cancelled{0};
  BOOST_TEST_REQUIRE(pool.try_submit([&](bool run) {
    started.set_value();
    released.wait();  // holds the only thread
    if (run) ++ran;
  }));
  started.get_future().wait();
  auto count = [&](bool run) { ++(run ? ran : cancelled); };
  BOOST_TEST(pool.try_submit(count));
  BOOST_TEST(pool.try_submit(count));
  BOOST_TEST(!pool.try_submit(count));  // two wait already: refused, never called
  BOOST_TEST(pool.queued() == 2u);
  std::thread stopper([&] { pool.stop(); });
  // stop() cancels the two waiting jobs before it waits for the running one.
  while (cancelled.load() < 2) std::this_thread::yield();
  release.set_value();
  stopper.join();
  BOOST_TEST(ran.load() == 1);
  BOOST_TEST(cancelled.load() == 2);
  BOOST_TEST(!pool.try_submit(count));  // stopped
  BOOST_TEST(cancelled.load() == 2);
}

BOOST_AUTO_TEST_CASE(every_job_is_called_exactly_once_under_contention) {
  std::atomic<int> calls{0}, accepted{0};
  {
    HashPool pool({.threads = 3, .queue_capacity = 16, .nice = 0});
    std::vector<std::thread> submitters;
    for (int t = 0; t < 4; ++t) {
      submitters.emplace_back([&] {
        for (int i = 0; i < 500; ++i) {
          if (pool.try_submit([&](bool) { ++calls; })) ++accepted;
        }
      });
    }
    for (auto& s : submitters) s.join();
  }  // the destructor stops: waiting jobs are called with run = false
  BOOST_TEST(accepted.load() > 0);
  BOOST_TEST(calls.load() == accepted.load());
}

BOOST_AUTO_TEST_CASE(this_machine_keeps_a_core_for_http) {
  const auto options = HashPool::for_this_machine();
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  BOOST_TEST(options.threads == std::max<std::size_t>(1, cores - 1));
  BOOST_TEST(options.queue_capacity >= options.threads);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::auth
