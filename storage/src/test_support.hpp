// Helpers shared by the storage unit tests: an environment producing
// tracker.tasks on a temp dir, and a unit that writes one task and its event.
#pragma once

#include <boost/test/unit_test.hpp>

#include "ates/protocol/events.hpp"
#include "ates/storage/environment.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates::storage::test {

inline constexpr std::string_view kStream = protocol::kTasksStream;
inline const std::string kUser = "22222222-2222-4222-8222-222222222222";

inline std::unique_ptr<Environment> open_tracker(const std::filesystem::path& dir, base::Clock* clock,
                                                 base::RandomSource* random,
                                                 void (*tweak)(EnvironmentOptions&) = nullptr) {
  EnvironmentOptions options{.dir = dir,
                             .producer = "tracker",
                             .map_size = std::size_t{1} << 30,
                             .tick = std::chrono::milliseconds(20),
                             .clock = clock,
                             .random = random};
  if (tweak != nullptr) tweak(options);
  auto env = Environment::open(options);
  BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
  BOOST_TEST_REQUIRE(env.value()->declare_stream(kStream).is_ok());
  return std::move(env).value();
}

// A task id made from a number, so tests can tell units apart.
inline std::string task_id(std::uint64_t n) {
  char text[37];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n));
  return text;
}

// Writes task n into `tasks` and publishes its TaskCreated: the state change
// and its event in one unit.
inline Environment::Unit create_task(RawTable tasks, std::uint64_t n) {
  return [tasks, n](WriteTxn& txn) -> Status {
    const std::string id = task_id(n);
    tasks.put(txn, id, "open");
    auto published = txn.publish(protocol::TaskCreated{.task_id = id,
                                                       .title = "task " + std::to_string(n),
                                                       .jira_id = {},
                                                       .description = "",
                                                       .created_by = kUser});
    return published.status();
  };
}

inline std::vector<protocol::Envelope> read_all(Environment& env) {
  ReadTxn txn = env.read();
  std::vector<protocol::Envelope> out;
  for (const std::string& bytes : env.read_outbox(txn, kStream, 1, SIZE_MAX)) {
    auto envelope = protocol::decode_event(bytes);
    BOOST_TEST_REQUIRE(envelope.has_value(), envelope.status().to_string());
    out.push_back(std::move(envelope).value());
  }
  return out;
}

}  // namespace ates::storage::test
