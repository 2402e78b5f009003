// One side of the bus crash test, as a process of its own.
//
//   bus_crash_node producer DIR PUB REPLAY UNTIL
//     produces TaskCreated events on tracker.tasks until the outbox head is
//     UNTIL, printing "head N" as it goes and "done" at UNTIL, then keeps
//     serving the bus until killed.
//   bus_crash_node consumer DIR PEER_PUB PEER_REPLAY UNTIL
//     consumes tracker.tasks into its own environment, printing "applied N"
//     whenever its checkpoint moves, and exits 0 once it reaches UNTIL.
// Both are killed by the test, with ATES_FAILPOINT or SIGKILL.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "ates/bus/bus.hpp"
#include "ates/protocol/events.hpp"
#include "ates/testing/commit_signal.hpp"

using namespace ates;

namespace {

void say(const std::string& line) {
  const std::string text = line + "\n";
  if (::write(1, text.data(), text.size()) < 0) std::_Exit(1);
}

std::unique_ptr<storage::Environment> open(const std::string& dir, const std::string& producer) {
  auto env = storage::Environment::open({.dir = dir,
                                         .producer = producer,
                                         .map_size = std::size_t{1} << 30,
                                         .tick = std::chrono::milliseconds(20)});
  if (!env) {
    std::fprintf(stderr, "%s\n", env.status().to_string().c_str());
    std::_Exit(2);
  }
  return std::move(env).value();
}

int producer(const std::string& dir, const std::string& pub, const std::string& replay, std::uint64_t until) {
  auto env = open(dir + "/tracker", "tracker");
  if (!env->declare_stream(protocol::kTasksStream)) return 2;
  auto bus = bus::Bus::start({.publish = pub, .replay = replay, .heartbeat = std::chrono::milliseconds(30)});
  if (!bus) return 2;
  (*bus)->add_producer(*env);
  std::uint64_t head = env->head(protocol::kTasksStream)->head_seq;
  while (head < until) {
    // Eight units in flight, so they group-commit as a plugin's would.
    std::vector<std::future<base::Status>> inflight;
    const std::uint64_t count = std::min<std::uint64_t>(8, until - head);
    for (std::uint64_t i = 0; i < count; ++i) {
      inflight.push_back(env->submit([](storage::WriteTxn& txn) {
        return txn
            .publish(protocol::TaskCreated{.task_id = protocol::make_uuid(txn.random()),
                                           .title = "crash",
                                           .jira_id = {},
                                           .description = "",
                                           .created_by = "22222222-2222-4222-8222-222222222222"})
            .status();
      }));
    }
    for (auto& f : inflight) {
      if (!f.get()) return 3;
    }
    head = env->head(protocol::kTasksStream)->head_seq;
    say("head " + std::to_string(head));
  }
  say("done");
  for (;;) ::pause();  // serve FETCH and heartbeats until killed
}

int consumer(const std::string& dir, const std::string& peer_pub, const std::string& peer_replay,
             std::uint64_t until) {
  auto env = open(dir + "/accounting", "accounting");
  auto bus = bus::Bus::start({.publish = "inproc://c-pub",
                              .replay = "inproc://c-replay",
                              .peers = {{.publish = peer_pub,
                                         .replay = peer_replay,
                                         .streams = {std::string(protocol::kTasksStream)}}},
                              .heartbeat = std::chrono::milliseconds(30)});
  if (!bus) return 2;
  storage::RawTable applied = env->raw_table("applied");
  storage::RawTable duplicates = env->raw_table("duplicates");
  const base::Status consuming = (*bus)->add_consumer(
      {"accounting", std::string(protocol::kTasksStream), env.get(),
       [applied, duplicates](storage::WriteTxn& txn, const protocol::Envelope& e) {
         // Keeps the sequence each event was applied at; a second
         // application would be recorded, not hidden.
         if (!applied.put(txn, e.event_id, storage::key_u64(e.seq), storage::Put::kIfAbsent)) {
           duplicates.put(txn, e.event_id, storage::key_u64(e.seq));
         }
         return base::Status::ok();
       }});
  if (!consuming) return 2;
  // Woken by each commit of its environment, it reads its checkpoint again
  // and reports a change.
  testing::CommitSignal committed;
  env->add_observer(&committed);
  std::uint64_t last = 0;
  std::uint64_t commits = 0;
  for (;;) {
    std::uint64_t now = 0;
    {
      storage::ReadTxn txn = env->read();
      if (auto checkpoint = env->checkpoint(txn, protocol::kTasksStream)) now = checkpoint->applied_seq;
    }
    if (now != last) {
      last = now;
      say("applied " + std::to_string(now));
    }
    if (now >= until) {
      env->remove_observer(&committed);
      return 0;
    }
    commits = committed.wait_after(commits);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "producer" && argc == 6) return producer(argv[2], argv[3], argv[4], std::stoull(argv[5]));
  if (mode == "consumer" && argc == 6) return consumer(argv[2], argv[3], argv[4], std::stoull(argv[5]));
  std::fprintf(
      stderr,
      "usage: bus_crash_node producer DIR PUB REPLAY UNTIL | consumer DIR PEER_PUB PEER_REPLAY UNTIL\n");
  return 2;
}
