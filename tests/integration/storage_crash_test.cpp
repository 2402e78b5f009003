// Crash safety of the storage layer (docs/storage.md): a child process
// writing units is killed at each failpoint of the writer and at seeded
// random moments; after each kill the environment opens, every acknowledged
// unit is there, every unit is all-or-nothing (its row and its event), and
// the outbox has no gap. The runs share one data directory, so each also
// tests recovery from the previous crash.
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <random>
#include <set>

#include <boost/test/unit_test.hpp>
#include <sys/wait.h>

#include "ates/protocol/events.hpp"
#include "ates/storage/environment.hpp"
#include "ates/storage/failpoint.hpp"
#include "ates/testing/temp_dir.hpp"

extern char** environ;

namespace ates::storage {
namespace {

struct ChildRun {
  std::set<std::uint64_t> acknowledged;
  int status = 0;
};

// Runs the child; kills it with SIGKILL after `kill_after` acknowledgements
// (0: never). `failpoint` arms ATES_FAILPOINT in the child.
ChildRun run_child(const std::filesystem::path& dir, std::uint64_t first, const std::string& failpoint,
                   std::size_t kill_after) {
  int pipe_fds[2];
  BOOST_TEST_REQUIRE(::pipe(pipe_fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("ATES_FAILPOINT=")) continue;
    env_strings.emplace_back(*e);
  }
  if (!failpoint.empty()) env_strings.push_back("ATES_FAILPOINT=" + failpoint);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string program = ATES_CRASH_CHILD, dir_arg = dir.string(), first_arg = std::to_string(first),
              count_arg = "1000000", in_flight_arg = "16";
  char* argv[] = {program.data(),   dir_arg.data(),       first_arg.data(),
                  count_arg.data(), in_flight_arg.data(), nullptr};
  pid_t pid = 0;
  BOOST_TEST_REQUIRE(posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, envp.data()) == 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);

  ChildRun run;
  std::string pending;
  char buffer[4096];
  bool killed = false;
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      run.acknowledged.insert(std::stoull(pending.substr(0, newline)));
      pending.erase(0, newline + 1);
    }
    if (kill_after > 0 && !killed && run.acknowledged.size() >= kill_after) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ::close(pipe_fds[0]);
  ::waitpid(pid, &run.status, 0);
  return run;
}

std::uint64_t task_number(const std::string& id) { return std::stoull(id.substr(24), nullptr, 16); }

// Opens the environment as the next start would and checks it; returns the
// number of units it holds.
std::size_t check_environment(const std::filesystem::path& dir, const std::set<std::uint64_t>& acknowledged) {
  auto opened = Environment::open({.dir = dir, .producer = "tracker", .map_size = std::size_t{1} << 30});
  BOOST_TEST_REQUIRE(opened.has_value(), opened.status().to_string());
  auto env = std::move(opened).value();
  BOOST_TEST_REQUIRE(env->declare_stream(protocol::kTasksStream).is_ok());
  RawTable tasks = env->raw_table("tasks");
  ReadTxn txn = env->read();

  std::set<std::uint64_t> in_outbox;
  std::uint64_t expected_seq = 1;
  for (const std::string& bytes : env->read_outbox(txn, protocol::kTasksStream, 1, SIZE_MAX)) {
    auto envelope = protocol::decode_event(bytes);
    BOOST_TEST_REQUIRE(envelope.has_value(), envelope.status().to_string());
    if (envelope->seq != expected_seq)
      BOOST_FAIL("outbox gap: expected " << expected_seq << ", got " << envelope->seq);
    ++expected_seq;
    auto created = protocol::decode_payload<protocol::TaskCreated>(*envelope);
    BOOST_TEST_REQUIRE(created.has_value());
    if (!in_outbox.insert(task_number(created->task_id)).second) BOOST_FAIL("a unit was published twice");
  }
  std::set<std::uint64_t> in_table;
  tasks.scan(txn, {}, [&](std::string_view key, std::string_view) {
    in_table.insert(task_number(std::string(key)));
    return true;
  });
  BOOST_TEST_REQUIRE(in_table.size() == in_outbox.size());
  BOOST_TEST_REQUIRE((in_table == in_outbox), "a unit's row and its event were not committed together");
  for (std::uint64_t n : acknowledged) {
    if (!in_table.contains(n)) BOOST_FAIL("acknowledged unit " << n << " was lost");
  }
  return in_table.size();
}

BOOST_AUTO_TEST_SUITE(storage_crash)

BOOST_AUTO_TEST_CASE(nothing_acknowledged_is_lost_and_nothing_is_half_written) {
  testing::TempDir dir;
  const auto data = dir / "tracker";
  std::set<std::uint64_t> acknowledged;
  std::uint64_t first = 1;
  int runs = 0;
  std::size_t committed = 0;

  auto one_run = [&](const std::string& failpoint, std::size_t kill_after) {
    BOOST_TEST_CONTEXT("run " << runs << " failpoint '" << failpoint << "' kill after " << kill_after) {
      const ChildRun run = run_child(data, first, failpoint, kill_after);
      BOOST_TEST_REQUIRE(WIFSIGNALED(run.status));
      BOOST_TEST_REQUIRE(WTERMSIG(run.status) == SIGKILL);
      acknowledged.insert(run.acknowledged.begin(), run.acknowledged.end());
      committed = check_environment(data, acknowledged);
      first += 10'000;
      ++runs;
    }
  };

  for (std::string_view point : {kFailBeforeCommit, kFailAfterCommit, kFailAfterUnit}) {
    for (int pass : {1, 2, 5, 17, 60}) one_run(std::string(point) + ":" + std::to_string(pass), 0);
  }
  std::mt19937 seeded(20261126);
  std::uniform_int_distribution<std::size_t> moment(1, 2500);
  for (int i = 0; i < 20; ++i) one_run("", moment(seeded));

  // The crashes fell where they matter: some between a commit and its
  // acknowledgement (units durable that no client heard of), and some
  // with units acknowledged.
  BOOST_TEST(committed > acknowledged.size());
  BOOST_TEST(!acknowledged.empty());
  BOOST_TEST_MESSAGE(runs << " crashes, " << acknowledged.size() << " acknowledged units, all present, "
                          << committed - acknowledged.size() << " more committed unacknowledged");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::storage
