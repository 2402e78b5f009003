// A full map is a clear error, never a corrupt environment; writes resume
// once there is room (here: reopened with a larger map).
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

namespace ates::storage {

using base::SystemClock;

namespace {

using base::Code;
using base::SeededRandom;
using testing::TempDir;

BOOST_AUTO_TEST_SUITE(map_full)

BOOST_AUTO_TEST_CASE(gives_a_clear_error_and_writes_resume_with_a_larger_map) {
  TempDir dir;
  SystemClock clock;
  SeededRandom random(21);
  std::uint64_t written = 0;
  {
    auto env = test::open_tracker(dir.path(), &clock, &random,
                                  [](EnvironmentOptions& o) { o.map_size = 1 << 20; });  // 1 MiB
    RawTable blobs = env->raw_table("blobs");
    RawTable tasks = env->raw_table("tasks");
    const std::string blob(16 * 1024, 'x');
    Status status;
    for (std::uint64_t n = 1; n < 1000; ++n) {
      status = env->run([&, n](WriteTxn& txn) -> Status {
        blobs.put(txn, key_u64(n), blob);
        return test::create_task(tasks, n)(txn);
      });
      if (!status) break;
      written = n;
    }
    BOOST_TEST_REQUIRE(status.code() == Code::kStorageFull, status.to_string());
    BOOST_TEST(status.message().find("storage is full") != std::string::npos);
    BOOST_TEST(written > 10u);
    // A small unit may still fit: the environment is usable, not broken.
    const auto events = test::read_all(*env);
    BOOST_TEST(events.size() == written);
  }
  auto env =
      test::open_tracker(dir.path(), &clock, &random, [](EnvironmentOptions& o) { o.map_size = 64 << 20; });
  RawTable tasks = env->raw_table("tasks");
  for (std::uint64_t n = written + 1; n <= written + 100; ++n) {
    BOOST_TEST_REQUIRE(env->run(test::create_task(tasks, n)).is_ok());
  }
  const auto events = test::read_all(*env);
  BOOST_TEST_REQUIRE(events.size() == written + 100);
  for (std::size_t i = 0; i < events.size(); ++i) BOOST_TEST_REQUIRE(events[i].seq == i + 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::storage
