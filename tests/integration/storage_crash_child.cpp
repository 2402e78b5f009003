// The writing side of the storage crash test: opens the environment in
// argv[1], keeps `in_flight` units in flight (each writes task n and
// publishes its TaskCreated), and writes "n\n" to stdout once unit n is
// acknowledged (committed). It runs until killed (by a failpoint or the
// test) or until it has written `count` units; the test always kills it.
//
// usage: storage_crash_child DIR FIRST_N COUNT IN_FLIGHT
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>

#include "ates/protocol/events.hpp"
#include "ates/storage/environment.hpp"

using namespace ates;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s DIR FIRST_N COUNT IN_FLIGHT\n", argv[0]);
    return 2;
  }
  const std::uint64_t first = std::strtoull(argv[2], nullptr, 10);
  const std::uint64_t count = std::strtoull(argv[3], nullptr, 10);
  const int in_flight = std::atoi(argv[4]);
  auto opened =
      storage::Environment::open({.dir = argv[1], .producer = "tracker", .map_size = std::size_t{1} << 30});
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.status().to_string().c_str());
    return 1;
  }
  auto env = std::move(opened).value();
  if (auto s = env->declare_stream(protocol::kTasksStream); !s) return 1;
  storage::RawTable tasks = env->raw_table("tasks");

  std::atomic<std::uint64_t> next{first};
  std::mutex mutex;
  std::condition_variable all_done;
  int chains = in_flight;
  std::function<void()> submit_next = [&] {
    const std::uint64_t n = next.fetch_add(1);
    if (n >= first + count) {
      std::lock_guard lock(mutex);
      if (--chains == 0) all_done.notify_all();
      return;
    }
    char id[48];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n));
    env->submit(
        [&tasks, id = std::string(id)](storage::WriteTxn& txn) {
          tasks.put(txn, id, "open");
          return txn
              .publish(protocol::TaskCreated{.task_id = id,
                                             .title = "crash",
                                             .jira_id = {},
                                             .description = "",
                                             .created_by = "22222222-2222-4222-8222-222222222222"})
              .status();
        },
        [&, n](base::Status status) {
          if (!status) {
            std::fprintf(stderr, "unit %llu failed: %s\n", static_cast<unsigned long long>(n),
                         status.to_string().c_str());
            std::_Exit(1);
          }
          const std::string line = std::to_string(n) + "\n";
          // write(2): the acknowledgement leaves the process at once.
          if (::write(1, line.data(), line.size()) < 0) std::_Exit(1);
          submit_next();
        });
  };
  for (int i = 0; i < in_flight; ++i) submit_next();
  std::unique_lock lock(mutex);
  all_done.wait(lock, [&] { return chains == 0; });
  return 0;
}
