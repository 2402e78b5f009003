// The bus with real ZeroMQ sockets and real LMDB: exactly once whatever the
// delivery does, lost tails, garbage, stalls, epochs, CurveZMQ. Longer than
// the 500 lines a file here should have: its cases share one rig of
// producer, consumer and sockets, and read as one account of the bus's
// promises; split by promise when it grows further.
#include "ates/bus/bus.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <boost/test/unit_test.hpp>
#include <zmq_addon.hpp>

#include "ates/protocol/events.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

namespace ates::bus {
namespace {

using base::Code;
using storage::Environment;
using storage::RawTable;
using testing::TempDir;
using testing::wait_until;

const std::string kUser = "22222222-2222-4222-8222-222222222222";

std::string task_id(std::uint64_t n) {
  char text[48];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n));
  return text;
}

std::unique_ptr<Environment> open_env(const std::filesystem::path& dir, const std::string& producer,
                                      std::size_t map_size = std::size_t{1} << 30) {
  auto env = Environment::open(
      {.dir = dir, .producer = producer, .map_size = map_size, .tick = std::chrono::milliseconds(20)});
  BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
  return std::move(env).value();
}

// A producer (tracker) and a consumer (accounting) in separate environments
// and separate buses that talk over ipc sockets, as two hosts would.
struct Rig {
  TempDir dir;
  std::unique_ptr<Environment> producer;
  std::unique_ptr<Environment> consumer;
  std::unique_ptr<Bus> producer_bus;
  std::unique_ptr<Bus> consumer_bus;
  std::atomic<int> applied_twice{0};
  std::atomic<bool> refuse_titles_with_poison{true};
  std::uint64_t next_task = 1;
  std::mutex seen_mutex;
  std::vector<protocol::TaskCreated> seen;  // as the handler got them, in order

  // The consumer's thread runs the handler, which writes to `seen`: it stops
  // before the members it uses are destroyed, then the producer.
  ~Rig() {
    stop_consumer();
    stop_producer();
  }

  std::string endpoint(const std::string& name) const { return "ipc://" + (dir / name).string(); }

  BusOptions producer_options() const {
    return {
        .publish = endpoint("pub"), .replay = endpoint("replay"), .heartbeat = std::chrono::milliseconds(50)};
  }
  // The producer is the consumer's peer that owns tracker.tasks.
  BusOptions consumer_options() const {
    return {
        .publish = endpoint("c-pub"),
        .replay = endpoint("c-replay"),
        .peers = {{.publish = endpoint("pub"), .replay = endpoint("replay"), .streams = {"tracker.tasks"}}},
        .heartbeat = std::chrono::milliseconds(50)};
  }

  void start_producer(BusOptions options) {
    if (!producer) {
      producer = open_env(dir / "tracker", "tracker");
      BOOST_TEST_REQUIRE(producer->declare_stream(protocol::kTasksStream).is_ok());
    }
    auto bus = Bus::start(std::move(options));
    BOOST_TEST_REQUIRE(bus.has_value(), bus.status().to_string());
    producer_bus = std::move(bus).value();
    producer_bus->add_producer(*producer);
  }
  void start_producer() { start_producer(producer_options()); }

  void stop_producer() {
    producer_bus.reset();
    producer.reset();
  }

  void start_consumer(std::size_t map_size = std::size_t{1} << 30) {
    if (!consumer) consumer = open_env(dir / "accounting", "accounting", map_size);
    auto bus = Bus::start(consumer_options());
    BOOST_TEST_REQUIRE(bus.has_value(), bus.status().to_string());
    consumer_bus = std::move(bus).value();
    RawTable applied = consumer->raw_table("applied");
    BOOST_TEST_REQUIRE(
        consumer_bus
            ->add_consumer({"accounting", std::string(protocol::kTasksStream), consumer.get(),
                            [this, applied](storage::WriteTxn& txn, const protocol::Envelope& e) -> Status {
                              auto created = protocol::decode_payload<protocol::TaskCreated>(e);
                              if (!created) return created.status();
                              // Writes before it refuses: a refused event must
                              // leave none of its writes behind.
                              if (!applied.put(txn, created->task_id, storage::key_u64(e.seq),
                                               storage::Put::kIfAbsent)) {
                                ++applied_twice;
                              }
                              if (refuse_titles_with_poison && created->title == "poison") {
                                return {Code::kInvalidArgument, "poison is not a task"};
                              }
                              std::lock_guard lock(seen_mutex);
                              seen.push_back(*created);
                              return Status::ok();
                            }})
            .is_ok());
  }

  void stop_consumer() {
    consumer_bus.reset();
    consumer.reset();
  }

  // Publishes `count` events, many units in flight so they group-commit.
  void produce(std::size_t count, const std::string& title = "task") {
    std::vector<std::future<Status>> done;
    for (std::size_t i = 0; i < count; ++i) {
      const std::string id = task_id(next_task++);
      done.push_back(producer->submit([id, title](storage::WriteTxn& txn) {
        return txn
            .publish(protocol::TaskCreated{
                .task_id = id, .title = title, .jira_id = {}, .description = "", .created_by = kUser})
            .status();
      }));
    }
    for (auto& f : done) BOOST_TEST_REQUIRE(f.get().is_ok());
  }

  std::uint64_t producer_head() const { return producer->head(protocol::kTasksStream)->head_seq; }

  std::uint64_t consumer_checkpoint() const {
    storage::ReadTxn txn = consumer->read();
    const auto checkpoint = consumer->checkpoint(txn, protocol::kTasksStream);
    return checkpoint ? checkpoint->applied_seq : 0;
  }

  ConsumerStatus status() const { return consumer_bus->consumers().at(0); }

  bool caught_up(std::uint64_t head, std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    return wait_until([&] { return consumer_checkpoint() >= head; }, timeout);
  }

  // The consumer applied exactly the producer's outbox, each event once.
  void check_exactly_once(std::uint64_t expected_events) {
    BOOST_TEST(applied_twice.load() == 0);
    BOOST_TEST(consumer_checkpoint() == expected_events);
    storage::ReadTxn txn = consumer->read();
    RawTable applied = consumer->raw_table("applied");
    BOOST_TEST(applied.size(txn) == expected_events);
  }
};

BOOST_AUTO_TEST_SUITE(bus)

BOOST_AUTO_TEST_CASE(a_late_consumer_replays_the_whole_stream) {
  Rig rig;
  rig.start_producer();
  rig.produce(10'000);
  rig.start_consumer();
  BOOST_TEST_REQUIRE(rig.caught_up(10'000));
  rig.check_exactly_once(10'000);
  // And follows the live feed afterwards.
  rig.produce(500);
  BOOST_TEST_REQUIRE(rig.caught_up(10'500));
  rig.check_exactly_once(10'500);
  BOOST_TEST(rig.status().state == ConsumerState::kRunning);
}

BOOST_AUTO_TEST_CASE(a_v1_task_created_reaches_the_handler_upcast) {
  Rig rig;
  rig.start_producer();
  rig.start_consumer();
  // An old producer's event, as it was written then, and one of today's.
  BOOST_TEST_REQUIRE(rig.producer
                         ->submit([](storage::WriteTxn& txn) {
                           return txn
                               .publish(protocol::TaskCreatedV1{.task_id = task_id(1000),
                                                                .title = "[UBERPOP-42] Feed the popugs",
                                                                .created_by = kUser})
                               .status();
                         })
                         .get()
                         .is_ok());
  rig.produce(1, "no jira id");
  BOOST_TEST_REQUIRE(rig.caught_up(2));
  std::lock_guard lock(rig.seen_mutex);
  BOOST_TEST_REQUIRE(rig.seen.size() == 2u);
  BOOST_TEST(rig.seen[0].title == "Feed the popugs");
  BOOST_TEST(rig.seen[0].jira_id.value_or("") == "UBERPOP-42");
  BOOST_TEST(rig.seen[0].created_by == kUser);
  BOOST_TEST(rig.seen[1].title == "no jira id");
  BOOST_TEST(!rig.seen[1].jira_id.has_value());
}

BOOST_AUTO_TEST_CASE(rpc_answers_errors_and_drops_a_late_answer) {
  Rig rig;
  rig.start_producer();
  rig.start_consumer();
  std::atomic<int> slow_calls{0};
  // The slow request answers only once its caller has given up.
  std::promise<void> caller_gave_up;
  const std::shared_future<void> gave_up = caller_gave_up.get_future().share();
  rig.producer_bus->serve("echo", [&, gave_up](std::string_view request) -> Result<std::string> {
    if (request == "refuse") return Status(Code::kConflict, "not today");
    if (request == "slow") {
      ++slow_calls;
      gave_up.wait();
    }
    return "echo:" + std::string(request);
  });
  const std::string peer = rig.endpoint("replay");
  const auto answer = rig.consumer_bus->call(peer, "echo", "hello", std::chrono::seconds(5));
  BOOST_TEST_REQUIRE(answer.has_value(), answer.status().to_string());
  BOOST_TEST(*answer == "echo:hello");
  const auto refused = rig.consumer_bus->call(peer, "echo", "refuse", std::chrono::seconds(5));
  BOOST_TEST(refused.status().code() == Code::kConflict);
  BOOST_TEST(refused.status().message() == "not today");
  const auto nobody = rig.consumer_bus->call(peer, "nobody", "x", std::chrono::seconds(5));
  BOOST_TEST(nobody.status().code() == Code::kUnavailable);
  // Too slow: unavailable; its late answer does not become the next call's.
  const auto slow = rig.consumer_bus->call(peer, "echo", "slow", std::chrono::milliseconds(50));
  caller_gave_up.set_value();
  BOOST_TEST(slow.status().code() == Code::kUnavailable);
  const auto next = rig.consumer_bus->call(peer, "echo", "next", std::chrono::seconds(5));
  BOOST_TEST_REQUIRE(next.has_value());
  BOOST_TEST(*next == "echo:next");
  // A bus calls its own services with an empty peer.
  const auto self = rig.producer_bus->call("", "echo", "self", std::chrono::seconds(5));
  BOOST_TEST_REQUIRE(self.has_value());
  BOOST_TEST(*self == "echo:self");
  rig.producer_bus->unserve("echo");
  BOOST_TEST(rig.consumer_bus->call(peer, "echo", "gone", std::chrono::seconds(5)).status().code() ==
             Code::kUnavailable);
  BOOST_TEST(slow_calls.load() == 1);
}

BOOST_AUTO_TEST_CASE(rpc_to_a_peer_that_is_down_times_out) {
  TempDir dir;
  auto bus = Bus::start(
      {.publish = "ipc://" + (dir / "pub").string(), .replay = "ipc://" + (dir / "replay").string()});
  BOOST_TEST_REQUIRE(bus.has_value());
  const auto answer =
      (*bus)->call("ipc://" + (dir / "nobody").string(), "charge", "x", std::chrono::milliseconds(100));
  BOOST_TEST(answer.status().code() == Code::kUnavailable);
  BOOST_TEST(answer.status().message().find("no answer within 100 ms") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_send_high_water_mark_of_one_loses_nothing) {
  Rig rig;
  auto options = rig.producer_options();
  options.send_hwm = 1;
  rig.start_producer(options);
  rig.start_consumer();
  BOOST_TEST_REQUIRE(wait_until([&] { return rig.status().state == ConsumerState::kRunning; }));
  rig.produce(10'000);  // a burst: PUB drops most of it
  BOOST_TEST_REQUIRE(rig.caught_up(10'000));
  rig.check_exactly_once(10'000);
}

// The owner's feed as a network might deliver it: a forwarder between the
// producer's PUB and the consumer that passes every frame on and lets a
// test add its own (duplicates, reorderings, garbage). The consumer takes
// it as the owner's publish= endpoint; FETCH still goes to the producer.
struct OwnerFeed {
  zmq::context_t context{1};
  zmq::socket_t inject{context, zmq::socket_type::push};
  std::atomic<bool> stop{false};
  std::thread thread;

  OwnerFeed(const std::string& producer_pub, const std::string& feed_endpoint) {
    zmq::socket_t pub(context, zmq::socket_type::pub);
    zmq::socket_t sub(context, zmq::socket_type::sub);
    zmq::socket_t pull(context, zmq::socket_type::pull);
    for (auto* socket : {&pub, &sub, &pull, &inject}) socket->set(zmq::sockopt::linger, 0);
    pub.bind(feed_endpoint);
    pull.bind("inproc://inject");
    inject.connect("inproc://inject");
    sub.set(zmq::sockopt::subscribe, "");
    sub.connect(producer_pub);
    thread =
        std::thread([this, pub = std::move(pub), sub = std::move(sub), pull = std::move(pull)]() mutable {
          while (!stop.load()) {
            zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0}, {pull.handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 2, std::chrono::milliseconds(20));
            for (auto* from : {&sub, &pull}) {
              std::vector<zmq::message_t> frames;
              while (zmq::recv_multipart(*from, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
                zmq::send_multipart(pub, frames);
                frames.clear();
              }
            }
          }
        });
  }
  ~OwnerFeed() {
    stop = true;
    thread.join();
  }
  void send(std::string_view topic, std::string_view bytes) {
    inject.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    inject.send(zmq::buffer(bytes), zmq::send_flags::none);
  }
};

// The consumer options of a rig whose owner's feed passes through `feed`.
BusOptions fed_options(const Rig& rig) {
  auto options = rig.consumer_options();
  options.peers = {
      {.publish = rig.endpoint("feed"), .replay = rig.endpoint("replay"), .streams = {"tracker.tasks"}}};
  return options;
}

BOOST_AUTO_TEST_CASE(duplicates_and_reordering_apply_once_in_order) {
  Rig rig;
  rig.start_producer();
  rig.produce(200);
  // The owner's feed also carries the outbox backwards, many times over.
  OwnerFeed feed(rig.endpoint("pub"), rig.endpoint("feed"));
  auto options = fed_options(rig);
  std::vector<std::string> outbox;
  {
    storage::ReadTxn txn = rig.producer->read();
    outbox = rig.producer->read_outbox(txn, protocol::kTasksStream, 1, 1000);
  }
  rig.consumer = open_env(rig.dir / "accounting", "accounting");
  {
    auto bus = Bus::start(options);
    BOOST_TEST_REQUIRE(bus.has_value());
    rig.consumer_bus = std::move(bus).value();
  }
  RawTable applied = rig.consumer->raw_table("applied");
  std::vector<std::uint64_t> order;
  std::mutex order_mutex;
  BOOST_TEST_REQUIRE(rig.consumer_bus
                         ->add_consumer({"accounting", "tracker.tasks", rig.consumer.get(),
                                         [&](storage::WriteTxn& txn, const protocol::Envelope& e) -> Status {
                                           if (!applied.put(txn, e.event_id, "", storage::Put::kIfAbsent))
                                             ++rig.applied_twice;
                                           std::lock_guard lock(order_mutex);
                                           order.push_back(e.seq);
                                           return Status::ok();
                                         }})
                         .is_ok());
  // Flood the consumer with reversed duplicates while it catches up.
  for (int round = 0; round < 20 && rig.consumer_checkpoint() < 200; ++round) {
    for (auto it = outbox.rbegin(); it != outbox.rend(); ++it) feed.send("tracker.tasks", *it);
  }
  rig.produce(100);
  BOOST_TEST_REQUIRE(rig.caught_up(300));
  BOOST_TEST(rig.applied_twice.load() == 0);
  std::lock_guard lock(order_mutex);
  // Applied in order; a retried batch (none here) would show as a repeat.
  BOOST_TEST_REQUIRE(order.size() >= 300u);
  for (std::size_t i = 0; i < 300; ++i) BOOST_TEST_REQUIRE(order[i] == i + 1);
}

BOOST_AUTO_TEST_CASE(consumer_and_producer_restarts_lose_nothing) {
  Rig rig;
  rig.start_producer();
  rig.start_consumer();
  rig.produce(1000);
  BOOST_TEST_REQUIRE(wait_until([&] { return rig.consumer_checkpoint() > 0; }));
  rig.stop_consumer();  // mid-stream
  rig.produce(1000);
  rig.start_consumer();
  rig.produce(500);
  BOOST_TEST_REQUIRE(rig.caught_up(2500));
  rig.stop_producer();  // mid-stream: the consumer keeps its sockets
  rig.start_producer();
  rig.produce(500);
  BOOST_TEST_REQUIRE(rig.caught_up(3000));
  rig.check_exactly_once(3000);
}

BOOST_AUTO_TEST_CASE(a_lost_tail_is_fetched_after_the_heartbeat) {
  Rig rig;
  rig.start_producer();
  rig.start_consumer();
  rig.produce(10);
  BOOST_TEST_REQUIRE(rig.caught_up(10));
  // The last event goes into the outbox without its PUB frame: the
  // producer's bus is down while it commits, and comes back afterwards.
  rig.producer_bus.reset();
  rig.produce(1);
  rig.start_producer();
  BOOST_TEST_REQUIRE(rig.caught_up(11));
  rig.check_exactly_once(11);
}

BOOST_AUTO_TEST_CASE(garbage_becomes_dead_letters_and_the_stream_goes_on) {
  Rig rig;
  rig.start_producer();
  OwnerFeed feed(rig.endpoint("pub"), rig.endpoint("feed"));
  rig.consumer = open_env(rig.dir / "accounting", "accounting");
  // The frames below are sent in a loop until the subscription is live, and
  // a slow machine may deliver many of them at once: lift the per-minute cap
  // on garbage letters, which trust_test proves on its own, out of the way.
  auto options = fed_options(rig);
  options.garbage_letters_per_minute = 100000;
  rig.consumer_bus = std::move(Bus::start(options)).value();
  RawTable applied = rig.consumer->raw_table("applied");
  BOOST_TEST_REQUIRE(rig.consumer_bus
                         ->add_consumer({"accounting", "tracker.tasks", rig.consumer.get(),
                                         [&](storage::WriteTxn& txn, const protocol::Envelope& e) -> Status {
                                           auto created = protocol::decode_payload<protocol::TaskCreated>(e);
                                           if (!created) return created.status();
                                           if (created->title == "poison")
                                             return {Code::kInvalidArgument, "poison is not a task"};
                                           applied.put(txn, created->task_id, "");
                                           return Status::ok();
                                         }})
                         .is_ok());
  BOOST_TEST_REQUIRE(wait_until([&] { return rig.status().state == ConsumerState::kRunning; }));
  // Wait until the feed's subscription is live: a heartbeat-free
  // frame gets through only then, so send garbage until one is recorded.
  msgpack::sbuffer wrong_shape;
  msgpack::pack(wrong_shape, std::vector<int>{1, 2, 3});
  BOOST_TEST_REQUIRE(wait_until([&] {
    feed.send("tracker.tasks", "\xc1\xff random bytes");
    return !dead_letters(*rig.consumer, "accounting").empty();
  }));
  feed.send("tracker.tasks", std::string_view(wrong_shape.data(), wrong_shape.size()));
  // An unknown event version and a domain-rejected event, in the outbox
  // itself (written raw, as an older or buggy producer might have).
  rig.produce(5);
  BOOST_TEST_REQUIRE(rig.producer
                         ->run([&](storage::WriteTxn& txn) {
                           return txn
                               .publish(
                                   "tracker.tasks", "TaskCreated", 2,
                                   protocol::encode_payload(protocol::TaskCreated{.task_id = task_id(900),
                                                                                  .title = "poison",
                                                                                  .jira_id = {},
                                                                                  .description = "",
                                                                                  .created_by = kUser}))
                               .status();
                         })
                         .is_ok());
  rig.produce(5);
  BOOST_TEST_REQUIRE(rig.caught_up(11));
  const auto letters = dead_letters(*rig.consumer, "accounting");
  bool undecodable = false, poison = false;
  for (const auto& letter : letters) {
    if (letter.reason.find("undecodable frame: malformed MessagePack") != std::string::npos ||
        letter.reason.find("undecodable frame: trailing") != std::string::npos) {
      undecodable = true;
    }
    if (letter.reason == "poison is not a task") {
      poison = true;
      BOOST_TEST(letter.seq == 6u);
      BOOST_TEST(letter.stream == "tracker.tasks");
    }
  }
  BOOST_TEST(undecodable);
  BOOST_TEST(wait_until([&] {
    for (const auto& l : dead_letters(*rig.consumer, "accounting")) {
      if (l.reason == "undecodable frame: envelope must be a map") return true;
    }
    return false;
  }));
  BOOST_TEST(poison);
  // Read a page at a time (GET /events/dead-letters), every letter comes
  // once and in order; past the last, nothing.
  {
    const auto all = dead_letters(*rig.consumer, "accounting");
    std::vector<std::string> paged;
    std::uint64_t after = 0;
    for (int page = 0; page < 1000; ++page) {
      const auto letters_page = dead_letters(*rig.consumer, "accounting", after, 2);
      BOOST_TEST(letters_page.size() <= 2u);
      if (letters_page.empty()) break;
      for (const auto& letter : letters_page) paged.push_back(letter.id);
      after = std::stoull(letters_page.back().id.substr(letters_page.back().id.rfind('-') + 1));
    }
    std::vector<std::string> ids;
    for (const auto& letter : all) ids.push_back(letter.id);
    BOOST_TEST(paged == ids, ids.size());
    BOOST_TEST(dead_letters(*rig.consumer, "accounting", UINT64_MAX, 10).empty());
    BOOST_TEST(dead_letters(*rig.consumer, "accounting", 0, 0).empty());
    BOOST_TEST(dead_letters(*rig.consumer, "someone-else", 0, 10).empty());
  }
  storage::ReadTxn txn = rig.consumer->read();
  BOOST_TEST(applied.size(txn) == 10u);  // the stream went on past the poison
}

BOOST_AUTO_TEST_CASE(a_refused_event_inside_a_batch_leaves_only_its_dead_letter) {
  // A late consumer gets the three runs in one FETCH and applies them as
  // one batch: the refusal in the middle rolls the batch back, and the
  // batch runs again with each event isolated.
  Rig rig;
  rig.start_producer();
  rig.produce(300);
  rig.produce(1, "poison");
  rig.produce(300);
  rig.start_consumer();
  BOOST_TEST_REQUIRE(rig.caught_up(601));
  const auto letters = dead_letters(*rig.consumer, "accounting");
  BOOST_TEST_REQUIRE(letters.size() == 1u);
  BOOST_TEST(letters[0].seq == 301u);
  BOOST_TEST(letters[0].reason == "poison is not a task");
  BOOST_TEST(rig.applied_twice.load() == 0);
  storage::ReadTxn txn = rig.consumer->read();
  RawTable applied = rig.consumer->raw_table("applied");
  BOOST_TEST(applied.size(txn) == 600u);  // the poison's own write was rolled back
  BOOST_TEST(!applied.get(txn, task_id(301)).has_value());
  BOOST_TEST(applied.get(txn, task_id(300)).has_value());
  BOOST_TEST(applied.get(txn, task_id(302)).has_value());
}

BOOST_AUTO_TEST_CASE(a_dead_letter_is_redriven_once) {
  Rig rig;
  rig.start_producer();
  rig.start_consumer();
  rig.produce(3);
  rig.produce(1, "poison");
  rig.produce(3);
  BOOST_TEST_REQUIRE(rig.caught_up(7));
  auto letters = dead_letters(*rig.consumer, "accounting");
  BOOST_TEST_REQUIRE(letters.size() == 1u);
  BOOST_TEST(letters[0].seq == 4u);
  // Still poison: the re-drive fails and the letter stays.
  BOOST_TEST(rig.consumer_bus->redrive(letters[0].id).status().code() == Code::kInvalidArgument);
  // The domain changed its mind: the re-drive applies it, once.
  rig.refuse_titles_with_poison = false;
  const auto redriven = rig.consumer_bus->redrive(letters[0].id);
  BOOST_TEST_REQUIRE(redriven.has_value(), redriven.status().to_string());
  BOOST_TEST(redriven->resolved);
  BOOST_TEST(rig.consumer_bus->redrive(letters[0].id).status().code() == Code::kConflict);
  rig.check_exactly_once(7);
}

BOOST_AUTO_TEST_CASE(a_full_map_stalls_without_dead_letters_and_resumes) {
  Rig rig;
  rig.start_producer();
  rig.produce(20);
  // A consumer whose map fills up while applying big rows.
  rig.consumer = open_env(rig.dir / "accounting", "accounting", 1 << 20);
  rig.consumer_bus = std::move(Bus::start(rig.consumer_options())).value();
  RawTable blobs = rig.consumer->raw_table("blobs");
  const std::string blob(100 * 1024, 'b');
  BOOST_TEST_REQUIRE(rig.consumer_bus
                         ->add_consumer({"accounting", "tracker.tasks", rig.consumer.get(),
                                         [&](storage::WriteTxn& txn, const protocol::Envelope& e) -> Status {
                                           blobs.put(txn, storage::key_u64(e.seq), blob);
                                           return Status::ok();
                                         }})
                         .is_ok());
  BOOST_TEST_REQUIRE(wait_until([&] { return rig.status().state == ConsumerState::kStalled; }));
  BOOST_TEST(rig.status().error.find("storage_full") != std::string::npos, rig.status().error);
  BOOST_TEST(dead_letters(*rig.consumer, "accounting").empty());
  const auto stalled_at = rig.consumer_checkpoint();
  BOOST_TEST(stalled_at < 20u);
  // Room again: reopened with a larger map, it resumes where it stopped.
  rig.consumer_bus.reset();
  rig.consumer.reset();
  rig.consumer = open_env(rig.dir / "accounting", "accounting", std::size_t{64} << 20);
  rig.consumer_bus = std::move(Bus::start(rig.consumer_options())).value();
  blobs = rig.consumer->raw_table("blobs");
  BOOST_TEST_REQUIRE(rig.consumer_bus
                         ->add_consumer({"accounting", "tracker.tasks", rig.consumer.get(),
                                         [&](storage::WriteTxn& txn, const protocol::Envelope& e) -> Status {
                                           blobs.put(txn, storage::key_u64(e.seq), blob,
                                                     storage::Put::kIfAbsent);
                                           return Status::ok();
                                         }})
                         .is_ok());
  BOOST_TEST_REQUIRE(rig.caught_up(20));
  storage::ReadTxn txn = rig.consumer->read();
  BOOST_TEST(blobs.size(txn) == 20u);
  BOOST_TEST(dead_letters(*rig.consumer, "accounting").empty());
}

BOOST_AUTO_TEST_CASE(a_replaced_producer_halts_its_consumers_until_reset) {
  Rig rig;
  rig.start_producer();
  rig.start_consumer();
  rig.produce(50);
  BOOST_TEST_REQUIRE(rig.caught_up(50));
  // The producer's data directory is replaced: a new epoch.
  rig.stop_producer();
  std::filesystem::remove_all(rig.dir / "tracker");
  rig.start_producer();
  rig.produce(10);
  BOOST_TEST_REQUIRE(wait_until([&] { return rig.status().state == ConsumerState::kHalted; }));
  BOOST_TEST(rig.status().error.find("changed epoch") != std::string::npos, rig.status().error);
  BOOST_TEST(rig.consumer_checkpoint() == 50u);  // nothing applied from the new log
  // The operator checks, then resets the consumer to the new log's start.
  rig.consumer_bus.reset();
  BOOST_TEST(reset_consumer(*rig.consumer, "tracker.tasks", 0).is_ok());
  rig.applied_twice = 0;
  rig.consumer.reset();
  std::filesystem::remove_all(rig.dir / "accounting");  // its state was of the old log
  rig.start_consumer();
  BOOST_TEST_REQUIRE(rig.caught_up(10));
  rig.check_exactly_once(10);
}

BOOST_AUTO_TEST_CASE(a_producer_restored_from_an_older_copy_halts_its_consumers) {
  Rig rig;
  rig.start_producer();
  rig.produce(5);
  // A backup of the producer's data at 5 events.
  rig.stop_producer();
  std::filesystem::copy(rig.dir / "tracker", rig.dir / "backup");
  rig.start_producer();
  rig.start_consumer();
  rig.produce(10);
  BOOST_TEST_REQUIRE(rig.caught_up(15));
  // The producer's data is replaced by the backup: same epoch, shorter log.
  rig.stop_producer();
  std::filesystem::remove_all(rig.dir / "tracker");
  std::filesystem::rename(rig.dir / "backup", rig.dir / "tracker");
  rig.start_producer();
  rig.produce(3);  // 6..8 again, with different events
  BOOST_TEST_REQUIRE(wait_until([&] { return rig.status().state == ConsumerState::kHalted; }));
  BOOST_TEST(rig.status().error.find("restored from an older copy") != std::string::npos, rig.status().error);
  BOOST_TEST(rig.consumer_checkpoint() == 15u);
}

// A commit is readable before the bus's observer hears of it. A consumer
// that fetches in that moment must be served only what the heartbeats
// announce: a heartbeat whose head is below what it applied reads as a
// restored producer, and it would halt for good.
BOOST_AUTO_TEST_CASE(a_fetch_between_a_commit_and_its_observer_does_not_halt_the_consumer) {
  // Holds the writer in its observers, before the bus's, while closed.
  struct Gate final : storage::CommitObserver {
    std::mutex mutex;  // guards closed
    std::condition_variable cv;
    bool closed = false;
    std::atomic<bool> holding{false};
    void on_commit(const storage::CommitInfo&) override {
      std::unique_lock lock(mutex);
      if (!closed) return;
      holding = true;
      cv.wait_for(lock, std::chrono::seconds(20), [&] { return !closed; });
      holding = false;
    }
    void set(bool value) {
      {
        std::lock_guard lock(mutex);
        closed = value;
      }
      cv.notify_all();
    }
  } gate;
  Rig rig;
  rig.producer = open_env(rig.dir / "tracker", "tracker");
  BOOST_TEST_REQUIRE(rig.producer->declare_stream(protocol::kTasksStream).is_ok());
  rig.producer->add_observer(&gate);  // observers run in the order added
  rig.start_producer();
  rig.produce(1);
  gate.set(true);
  auto second = rig.producer->submit([](storage::WriteTxn& txn) {
    return txn
        .publish(protocol::TaskCreated{
            .task_id = task_id(1000), .title = "held", .jira_id = {}, .description = "", .created_by = kUser})
        .status();
  });
  BOOST_TEST_REQUIRE(wait_until([&] { return gate.holding.load(); }));
  // Event 2 is committed and readable; the bus still announces head 1.
  rig.start_consumer();
  BOOST_TEST_REQUIRE(rig.caught_up(1));
  BOOST_TEST(!wait_until([&] { return rig.status().state == ConsumerState::kHalted; },
                         std::chrono::milliseconds(500)),
             rig.status().error);
  gate.set(false);
  BOOST_TEST_REQUIRE(second.get().is_ok());
  BOOST_TEST_REQUIRE(rig.caught_up(2));
  BOOST_TEST(rig.status().state == ConsumerState::kRunning);
  rig.check_exactly_once(2);
  rig.stop_consumer();
  rig.stop_producer();
}

BOOST_AUTO_TEST_CASE(a_consumer_behind_a_truncated_log_halts_and_never_skips) {
  Rig rig;
  auto producer = Environment::open({.dir = rig.dir / "tracker",
                                     .producer = "tracker",
                                     .tick = std::chrono::milliseconds(20),
                                     .retention_keep_last = 2});
  BOOST_TEST_REQUIRE(producer.has_value());
  rig.producer = std::move(producer).value();
  BOOST_TEST_REQUIRE(rig.producer->declare_stream(protocol::kTasksStream).is_ok());
  rig.start_producer();
  rig.produce(10);
  // Another consumer got to 8; retention may drop 1..8 (keeping the newest 2).
  BOOST_TEST_REQUIRE(rig.producer
                         ->run([](storage::WriteTxn& txn) {
                           txn.record_consumer_checkpoint("tracker.tasks", "analytics", 8);
                           return Status::ok();
                         })
                         .is_ok());
  BOOST_TEST_REQUIRE(*rig.producer->apply_retention() == 8u);
  // A consumer that never applied anything needs 1, which is gone.
  rig.start_consumer();
  BOOST_TEST_REQUIRE(wait_until([&] { return rig.status().state == ConsumerState::kHalted; }));
  BOOST_TEST(rig.status().error.find("TRUNCATED") != std::string::npos, rig.status().error);
  BOOST_TEST(rig.consumer_checkpoint() == 0u);
}

BOOST_AUTO_TEST_CASE(complete_up_to_follows_heartbeats) {
  Rig rig;
  rig.start_producer();
  rig.start_consumer();
  rig.produce(5);
  BOOST_TEST_REQUIRE(rig.caught_up(5));
  const std::int64_t before = rig.producer->head("tracker.tasks")->watermark;
  BOOST_TEST(
      wait_until([&] { return rig.consumer_bus->complete_up_to("accounting", "tracker.tasks", before); }));
  BOOST_TEST(!rig.consumer_bus->complete_up_to("accounting", "tracker.tasks", before + 3'600'000'000LL));
  BOOST_TEST(!rig.consumer_bus->complete_up_to("analytics", "tracker.tasks", before));
}

// Two hosts over tcp on loopback, CurveZMQ on every endpoint.
struct TcpRig {
  TempDir dir;
  std::pair<std::string, std::string> server = generate_curve_keys();
  std::pair<std::string, std::string> allowed = generate_curve_keys();
  std::unique_ptr<Environment> producer = open_env(dir / "tracker", "tracker");
  std::unique_ptr<Bus> producer_bus;

  TcpRig() {
    BOOST_TEST_REQUIRE(producer->declare_stream(protocol::kTasksStream).is_ok());
    auto bus = Bus::start({.publish = "tcp://127.0.0.1:*",
                           .replay = "tcp://127.0.0.1:*",
                           .heartbeat = std::chrono::milliseconds(50),
                           .curve = {server.first, server.second, {{allowed.first, {"tracker.tasks"}, {}}}}});
    BOOST_TEST_REQUIRE(bus.has_value(), bus.status().to_string());
    producer_bus = std::move(bus).value();
    producer_bus->add_producer(*producer);
    BOOST_TEST_REQUIRE(producer
                           ->run([](storage::WriteTxn& txn) {
                             return txn
                                 .publish(protocol::TaskCreated{.task_id = task_id(1),
                                                                .title = "over tcp",
                                                                .jira_id = {},
                                                                .description = "",
                                                                .created_by = kUser})
                                 .status();
                           })
                           .is_ok());
  }

  // A consumer host with `keys`; returns its environment's checkpoint
  // watcher and bus.
  std::pair<std::unique_ptr<Environment>, std::unique_ptr<Bus>> consumer_with(
      const std::pair<std::string, std::string>& keys, const std::string& name) {
    auto env = open_env(dir / name, "accounting");
    auto bus = Bus::start({.publish = "inproc://c-pub",
                           .replay = "inproc://c-replay",
                           .peers = {{.publish = producer_bus->publish_endpoint(),
                                      .replay = producer_bus->replay_endpoint(),
                                      .key = server.first,
                                      .streams = {"tracker.tasks"}}},
                           .heartbeat = std::chrono::milliseconds(50),
                           .curve = {keys.first, keys.second, {}}});
    BOOST_TEST_REQUIRE(bus.has_value(), bus.status().to_string());
    BOOST_TEST_REQUIRE(
        (*bus)
            ->add_consumer({"accounting", "tracker.tasks", env.get(),
                            [](storage::WriteTxn&, const protocol::Envelope&) { return Status::ok(); }})
            .is_ok());
    return {std::move(env), std::move(bus).value()};
  }
};

std::uint64_t checkpoint_of(Environment& env) {
  storage::ReadTxn txn = env.read();
  const auto checkpoint = env.checkpoint(txn, "tracker.tasks");
  return checkpoint ? checkpoint->applied_seq : 0;
}

BOOST_AUTO_TEST_CASE(tcp_with_curve_admits_the_allowed_key_only) {
  TcpRig rig;
  auto [good_env, good_bus] = rig.consumer_with(rig.allowed, "good");
  BOOST_TEST(wait_until([&] { return checkpoint_of(*good_env) == 1; }));

  const auto refused_before = rig.producer_bus->refused_connections();
  auto [bad_env, bad_bus] = rig.consumer_with(generate_curve_keys(), "bad");
  BOOST_TEST(wait_until([&] { return rig.producer_bus->refused_connections() > refused_before; }));
  BOOST_TEST(checkpoint_of(*bad_env) == 0u);
}

BOOST_AUTO_TEST_CASE(tcp_refuses_a_plaintext_peer) {
  TcpRig rig;
  const auto refused_before = rig.producer_bus->refused_connections();
  zmq::context_t context(1);
  zmq::socket_t plain(context, zmq::socket_type::sub);
  plain.set(zmq::sockopt::linger, 0);
  plain.set(zmq::sockopt::subscribe, "");
  zmq::socket_t monitor(context, zmq::socket_type::pair);
  BOOST_TEST_REQUIRE(zmq_socket_monitor(plain.handle(), "inproc://plain-monitor", ZMQ_EVENT_ALL) == 0);
  monitor.connect("inproc://plain-monitor");
  plain.connect(rig.producer_bus->publish_endpoint());
  // The server speaks CURVE, the client NULL: the handshake fails and no
  // frame is ever delivered.
  bool handshake_failed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!handshake_failed && std::chrono::steady_clock::now() < deadline) {
    zmq::pollitem_t item{monitor.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    zmq::message_t event, address;
    (void)monitor.recv(event);
    (void)monitor.recv(address);
    const auto id = *static_cast<const std::uint16_t*>(event.data());
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
        id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || id == ZMQ_EVENT_DISCONNECTED) {
      handshake_failed = true;
    }
    BOOST_TEST_REQUIRE(id != ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
  }
  BOOST_TEST(handshake_failed);
  // The server saw it too, and logged it.
  BOOST_TEST(wait_until([&] { return rig.producer_bus->refused_connections() > refused_before; }));
  zmq::message_t frame;
  BOOST_TEST(!plain.recv(frame, zmq::recv_flags::dontwait).has_value());
}

BOOST_AUTO_TEST_CASE(tcp_without_keys_is_refused_at_start) {
  const auto bus = Bus::start({.publish = "tcp://127.0.0.1:*", .replay = "inproc://r"});
  BOOST_TEST_REQUIRE(!bus.has_value());
  BOOST_TEST(bus.status().message().find("CurveZMQ keys") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::bus
