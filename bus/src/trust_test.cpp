// Trust between hosts: each key may do only what the configuration grants
// it. Peers and grants parse strictly; a stream is taken from its owner
// alone; FETCH and rpc answer only the keys granted them; garbage and rpc
// floods are bounded. Real sockets (ipc and Curve tcp) and real LMDB.
// (Over 500 lines: one case per thing a key must not be able to do, each
// with the sockets it needs to try.)
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include <boost/test/unit_test.hpp>
#include <zmq_addon.hpp>

#include "ates/bus/bus.hpp"
#include "ates/protocol/events.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

#include "dead_letters.hpp"
#include "wire.hpp"

namespace ates::bus {
namespace {

using base::Code;
using storage::Environment;
using testing::TempDir;
using testing::wait_until;

const std::string kUser = "22222222-2222-4222-8222-222222222222";

std::string task_id(std::uint64_t n) {
  char text[48];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n));
  return text;
}

std::unique_ptr<Environment> open_env(const std::filesystem::path& dir, const std::string& producer) {
  auto env = Environment::open({.dir = dir,
                                .producer = producer,
                                .map_size = std::size_t{1} << 28,
                                .tick = std::chrono::milliseconds(20)});
  BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
  return std::move(env).value();
}

void publish_tasks(Environment& env, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t n = first; n < first + count; ++n) {
    const Status published = env.run([n](storage::WriteTxn& txn) {
      return txn
          .publish(protocol::TaskCreated{
              .task_id = task_id(n), .title = "real", .jira_id = {}, .description = "", .created_by = kUser})
          .status();
    });
    BOOST_TEST_REQUIRE(published.is_ok(), published.to_string());
  }
}

std::uint64_t checkpoint_of(Environment& env, std::string_view stream = "tracker.tasks") {
  storage::ReadTxn txn = env.read();
  const auto checkpoint = env.checkpoint(txn, stream);
  return checkpoint ? checkpoint->applied_seq : 0;
}

std::uint64_t dropped(const Bus& bus, std::string_view reason) {
  std::uint64_t total = 0;
  for (const auto& drop : bus.drops()) {
    if (drop.reason == reason) total += drop.count;
  }
  return total;
}

// A consumer of tracker.tasks that records each task id it applies.
struct Recorder {
  std::mutex mutex;
  std::vector<std::string> task_ids;
  EventHandler handler() {
    return [this](storage::WriteTxn&, const protocol::Envelope& e) -> Status {
      auto created = protocol::decode_payload<protocol::TaskCreated>(e);
      if (!created) return created.status();
      std::lock_guard lock(mutex);
      task_ids.push_back(created->task_id);
      return Status::ok();
    };
  }
  std::vector<std::string> ids() {
    std::lock_guard lock(mutex);
    return task_ids;
  }
};

BOOST_AUTO_TEST_SUITE(trust)

BOOST_AUTO_TEST_CASE(peers_and_grants_parse_strictly) {
  const auto [key, secret] = generate_curve_keys();
  auto peer = parse_peer("publish=tcp://10.0.0.2:7001 replay=tcp://10.0.0.2:7002 key=" + key +
                         " owns=tracker.tasks+auth.users");
  BOOST_TEST_REQUIRE(peer.has_value(), peer.status().to_string());
  BOOST_TEST(peer->publish == "tcp://10.0.0.2:7001");
  BOOST_TEST(peer->replay == "tcp://10.0.0.2:7002");
  BOOST_TEST(peer->key == key);
  BOOST_TEST(peer->streams == (std::vector<std::string>{"tracker.tasks", "auth.users"}));

  auto grant = parse_grant("key=" + key + " reads=tracker.tasks calls=accounting.prepare+accounting.decide");
  BOOST_TEST_REQUIRE(grant.has_value(), grant.status().to_string());
  BOOST_TEST(grant->reads == (std::vector<std::string>{"tracker.tasks"}));
  BOOST_TEST(grant->calls == (std::vector<std::string>{"accounting.prepare", "accounting.decide"}));

  // The old form, a field twice, an unknown field, a missing owner list,
  // a key that is not one: each refused with what is wrong.
  for (const std::string& bad : {
           "tcp://10.0.0.2:7001 " + key,
           "publish=tcp://a:1 publish=tcp://b:1 replay=tcp://a:2 key=" + key + " owns=x",
           "publish=tcp://a:1 replay=tcp://a:2 key=" + key + " owns=x trust=all",
           "publish=tcp://a:1 replay=tcp://a:2 key=" + key,
           std::string("publish=tcp://a:1 replay=tcp://a:2 key=short owns=x"),
       }) {
    const auto refused = parse_peer(bad);
    BOOST_TEST(!refused.has_value(), bad);
    if (!refused) BOOST_TEST((refused.status().code() == Code::kInvalidArgument));
  }
  BOOST_TEST(!parse_grant(key).has_value());  // a bare key: what may it do?
  BOOST_TEST(!parse_grant("key=" + secret.substr(0, 39) + " reads=x").has_value());
  BOOST_TEST(!parse_grant("reads=x").has_value());
}

BOOST_AUTO_TEST_CASE(nothing_on_the_bus_is_plaintext_and_a_stream_has_one_owner) {
  const auto [key, secret] = generate_curve_keys();
  const auto [other, other_secret] = generate_curve_keys();
  // A tcp peer needs our keys, even when our own endpoints are inproc.
  auto no_keys = Bus::start(
      {.peers = {
           {.publish = "tcp://127.0.0.1:1", .replay = "tcp://127.0.0.1:2", .key = other, .streams = {"s"}}}});
  BOOST_TEST_REQUIRE(!no_keys.has_value());
  BOOST_TEST(no_keys.status().message().find("never plaintext") != std::string::npos);
  // A tcp peer without its key.
  auto keyless = Bus::start(
      {.peers = {{.publish = "tcp://127.0.0.1:1", .replay = "tcp://127.0.0.1:2", .streams = {"s"}}},
       .curve = {key, secret, {}}});
  BOOST_TEST_REQUIRE(!keyless.has_value());
  BOOST_TEST(keyless.status().message().find("no key=") != std::string::npos);
  // Two owners of one stream.
  auto twice =
      Bus::start({.peers = {{.publish = "ipc:///tmp/a", .replay = "ipc:///tmp/b", .streams = {"s"}},
                            {.publish = "ipc:///tmp/c", .replay = "ipc:///tmp/d", .streams = {"s"}}}});
  BOOST_TEST_REQUIRE(!twice.has_value());
  BOOST_TEST(twice.status().message().find("owned by two") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_stream_is_taken_from_its_owner_alone) {
  TempDir dir;
  const auto ep = [&](const std::string& name) { return "ipc://" + (dir / name).string(); };
  auto producer = open_env(dir / "tracker", "tracker");
  BOOST_TEST_REQUIRE(producer->declare_stream(protocol::kTasksStream).is_ok());
  auto producer_bus = std::move(Bus::start({.publish = ep("pub"), .replay = ep("replay")})).value();
  producer_bus->add_producer(*producer);
  // ipc carries no key, so only this user may connect to its files.
  for (const char* name : {"pub", "replay"}) {
    BOOST_TEST((std::filesystem::status(dir / name).permissions() ==
                (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)),
               name);
  }

  // A rogue peer: it owns another stream, and publishes well-formed
  // tracker.tasks events on its own PUB, sequence numbers and all.
  zmq::context_t context(1);
  zmq::socket_t rogue(context, zmq::socket_type::pub);
  rogue.set(zmq::sockopt::linger, 0);
  rogue.bind(ep("rogue-pub"));

  auto consumer = open_env(dir / "accounting", "accounting");
  Recorder recorder;
  auto consumer_bus =
      std::move(
          Bus::start({.publish = ep("c-pub"),
                      .replay = ep("c-replay"),
                      .peers = {{.publish = ep("pub"), .replay = ep("replay"), .streams = {"tracker.tasks"}},
                                {.publish = ep("rogue-pub"),
                                 .replay = ep("rogue-replay"),
                                 .streams = {"accounting.transactions"}}},
                      .heartbeat = std::chrono::milliseconds(50)}))
          .value();
  BOOST_TEST_REQUIRE(
      consumer_bus->add_consumer({"accounting", "tracker.tasks", consumer.get(), recorder.handler()})
          .is_ok());
  std::vector<std::string> forgeries;
  for (std::uint64_t seq = 1; seq <= 200; ++seq) {
    const protocol::Envelope forged{
        .event_id = task_id(50'000 + seq),
        .name = "TaskCreated",
        .version = 2,
        .producer = "tracker",
        .stream = "tracker.tasks",
        .stream_epoch = task_id(77),
        .seq = seq,
        .time_us = 1,
        .trace_id = "",
        .payload = protocol::encode_payload(protocol::TaskCreated{.task_id = task_id(90'000 + seq),
                                                                  .title = "forged",
                                                                  .jira_id = {},
                                                                  .description = "",
                                                                  .created_by = kUser})};
    forgeries.push_back(protocol::encode_envelope(forged));
  }
  const auto forge = [&] {
    for (const std::string& bytes : forgeries) {
      rogue.send(zmq::str_buffer("tracker.tasks"), zmq::send_flags::sndmore);
      rogue.send(zmq::buffer(bytes), zmq::send_flags::none);
    }
  };
  // Forged all along: before, while and after the real events arrive.
  publish_tasks(*producer, 1, 5);
  BOOST_TEST_REQUIRE(wait_until([&] {
    forge();
    return checkpoint_of(*consumer) == 5;
  }));
  // The control: a subscriber of the rogue's PUB does receive them, so
  // they were on the wire while the consumer ran.
  zmq::socket_t control(context, zmq::socket_type::sub);
  control.set(zmq::sockopt::linger, 0);
  control.set(zmq::sockopt::subscribe, "tracker.tasks");
  control.connect(ep("rogue-pub"));
  int heard = 0;
  BOOST_TEST_REQUIRE(wait_until([&] {
    forge();
    zmq::message_t frame;
    while (control.recv(frame, zmq::recv_flags::dontwait)) ++heard;
    return heard >= 400;  // two frames each
  }));
  // One more real event, applied after the forgeries were sent: the
  // consumer has applied the owner's six and none of the others.
  publish_tasks(*producer, 6, 1);
  BOOST_TEST_REQUIRE(wait_until([&] {
    forge();
    return checkpoint_of(*consumer) == 6;
  }));
  const auto ids = recorder.ids();
  BOOST_TEST_REQUIRE(ids.size() == 6u);
  for (std::uint64_t n = 1; n <= 6; ++n) BOOST_TEST(ids[n - 1] == task_id(n));
}

// A raw owner feed the test writes to, with FETCH going to the real
// producer: what an owner's PUB might carry besides its events.
BOOST_AUTO_TEST_CASE(garbage_and_foreign_events_from_the_owner_are_capped_and_counted) {
  TempDir dir;
  const auto ep = [&](const std::string& name) { return "ipc://" + (dir / name).string(); };
  auto producer = open_env(dir / "tracker", "tracker");
  BOOST_TEST_REQUIRE(producer->declare_stream(protocol::kTasksStream).is_ok());
  auto producer_bus = std::move(Bus::start({.publish = ep("pub"), .replay = ep("replay")})).value();
  producer_bus->add_producer(*producer);
  zmq::context_t context(1);
  zmq::socket_t feed(context, zmq::socket_type::pub);
  feed.set(zmq::sockopt::linger, 0);
  feed.bind(ep("feed"));

  auto consumer = open_env(dir / "accounting", "accounting");
  Recorder recorder;
  auto consumer_bus =
      std::move(Bus::start(
                    {.publish = ep("c-pub"),
                     .replay = ep("c-replay"),
                     .peers = {{.publish = ep("feed"), .replay = ep("replay"), .streams = {"tracker.tasks"}}},
                     .garbage_letters_per_minute = 3}))
          .value();
  BOOST_TEST_REQUIRE(
      consumer_bus->add_consumer({"accounting", "tracker.tasks", consumer.get(), recorder.handler()})
          .is_ok());
  // Until the subscription is live, frames are lost: send until one counts.
  BOOST_TEST_REQUIRE(wait_until([&] {
    feed.send(zmq::str_buffer("tracker.tasks"), zmq::send_flags::sndmore);
    feed.send(zmq::str_buffer("\xc1 not an envelope"), zmq::send_flags::none);
    return dropped(*consumer_bus, "garbage_over_cap") > 0;
  }));
  for (int i = 0; i < 500; ++i) {
    feed.send(zmq::str_buffer("tracker.tasks"), zmq::send_flags::sndmore);
    feed.send(zmq::buffer(std::string(1000, static_cast<char>('a' + i % 26))), zmq::send_flags::none);
  }
  // An envelope of another stream under this stream's topic.
  protocol::Envelope foreign{.event_id = task_id(7),
                             .name = "TaskCreated",
                             .version = 2,
                             .producer = "tracker",
                             .stream = "auth.users",
                             .stream_epoch = task_id(78),
                             .seq = 1,
                             .time_us = 1,
                             .trace_id = "",
                             .payload = ""};
  BOOST_TEST_REQUIRE(wait_until([&] {
    feed.send(zmq::str_buffer("tracker.tasks"), zmq::send_flags::sndmore);
    feed.send(zmq::buffer(protocol::encode_envelope(foreign)), zmq::send_flags::none);
    return dropped(*consumer_bus, "foreign_stream") > 0;
  }));
  BOOST_TEST(wait_until([&] { return dropped(*consumer_bus, "garbage_over_cap") >= 400; }));
  // Three letters kept, the rest counted; the disk holds three frames.
  BOOST_TEST(dead_letters(*consumer, "accounting").size() == 3u);
  // The stream itself goes on: the owner's real events still apply.
  publish_tasks(*producer, 1, 3);
  std::vector<std::string> outbox;
  {
    storage::ReadTxn txn = producer->read();
    outbox = producer->read_outbox(txn, protocol::kTasksStream, 1, 3);
  }
  for (const std::string& event : outbox) {
    feed.send(zmq::str_buffer("tracker.tasks"), zmq::send_flags::sndmore);
    feed.send(zmq::buffer(event), zmq::send_flags::none);
  }
  BOOST_TEST(wait_until([&] { return checkpoint_of(*consumer) == 3; }));
}

BOOST_AUTO_TEST_CASE(the_garbage_kept_is_capped_in_all_and_each_letter_keeps_only_its_first_bytes) {
  TempDir dir;
  const auto ep = [&](const std::string& name) { return "ipc://" + (dir / name).string(); };
  zmq::context_t context(1);
  zmq::socket_t feed(context, zmq::socket_type::pub);
  feed.set(zmq::sockopt::linger, 0);
  feed.bind(ep("feed"));
  auto consumer = open_env(dir / "accounting", "accounting");
  Recorder recorder;
  auto start = [&] {
    auto bus =
        std::move(
            Bus::start(
                {.publish = ep("c-pub"),
                 .replay = ep("c-replay"),
                 .peers = {{.publish = ep("feed"), .replay = ep("replay"), .streams = {"tracker.tasks"}}},
                 .garbage_letters_per_minute = 1000,
                 .garbage_letters_kept = 2}))
            .value();
    BOOST_TEST_REQUIRE(
        bus->add_consumer({"accounting", "tracker.tasks", consumer.get(), recorder.handler()}).is_ok());
    return bus;
  };
  auto send_until_dropped = [&](Bus& bus, std::uint64_t drops) {
    // Frames sent before the subscription is live are lost: send until
    // the bus has dropped what it must.
    return wait_until([&] {
      feed.send(zmq::str_buffer("tracker.tasks"), zmq::send_flags::sndmore);
      feed.send(zmq::buffer(std::string(100'000, '\xc1')), zmq::send_flags::none);
      return dropped(bus, "garbage_over_cap") >= drops;
    });
  };
  {
    auto bus = start();
    BOOST_TEST_REQUIRE(send_until_dropped(*bus, 5));
  }
  auto letters = dead_letters(*consumer, "accounting");
  BOOST_TEST_REQUIRE(letters.size() == 2u);  // the cap in all, though the minute's cap is 1000
  for (const auto& letter : letters) {
    BOOST_TEST(letter.reason.find("its first 4096 of 100000 bytes kept") != std::string::npos, letter.reason);
  }
  {
    storage::ReadTxn txn = consumer->read();
    std::size_t stored = 0;
    consumer->table<DeadLetterRecord>(kDeadLetterTable)
        .scan(txn, {}, [&](std::string_view, const DeadLetterRecord& letter) {
          stored += letter.envelope.size();
          return true;
        });
    BOOST_TEST(stored == 2 * kGarbageBytesKept);
  }
  // A restart counts what the store holds: nothing more is kept.
  auto again = start();
  BOOST_TEST_REQUIRE(send_until_dropped(*again, 3));
  BOOST_TEST(dead_letters(*consumer, "accounting").size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_heartbeat_alone_makes_a_stream_suspect_never_halted) {
  TempDir dir;
  const auto ep = [&](const std::string& name) { return "ipc://" + (dir / name).string(); };
  auto producer = open_env(dir / "tracker", "tracker");
  BOOST_TEST_REQUIRE(producer->declare_stream(protocol::kTasksStream).is_ok());
  publish_tasks(*producer, 1, 3);
  std::vector<std::string> outbox;
  {
    storage::ReadTxn txn = producer->read();
    outbox = producer->read_outbox(txn, protocol::kTasksStream, 1, 3);
  }
  // The owner's feed is the test's; its replay server is not up yet.
  zmq::context_t context(1);
  zmq::socket_t feed(context, zmq::socket_type::pub);
  feed.set(zmq::sockopt::linger, 0);
  feed.bind(ep("feed"));
  auto consumer = open_env(dir / "accounting", "accounting");
  Recorder recorder;
  auto consumer_bus =
      std::move(
          Bus::start(
              {.publish = ep("c-pub"),
               .replay = ep("c-replay"),
               .peers = {{.publish = ep("feed"), .replay = ep("replay"), .streams = {"tracker.tasks"}}}}))
          .value();
  BOOST_TEST_REQUIRE(
      consumer_bus->add_consumer({"accounting", "tracker.tasks", consumer.get(), recorder.handler()})
          .is_ok());
  BOOST_TEST_REQUIRE(wait_until([&] {
    for (const std::string& event : outbox) {
      feed.send(zmq::str_buffer("tracker.tasks"), zmq::send_flags::sndmore);
      feed.send(zmq::buffer(event), zmq::send_flags::none);
    }
    return checkpoint_of(*consumer) == 3;
  }));
  // A heartbeat with a made-up epoch and a head below what was applied.
  const std::string topic = std::string("tracker.tasks") + std::string(wire::kHeartbeatSuffix);
  const std::string beat = wire::pack(wire::Heartbeat{.epoch = task_id(666), .head_seq = 1, .watermark = 1});
  const auto status = [&] { return consumer_bus->consumers().at(0); };
  BOOST_TEST_REQUIRE(wait_until([&] {
    feed.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    feed.send(zmq::buffer(beat), zmq::send_flags::none);
    return !status().suspect.empty();
  }));
  BOOST_TEST(status().suspect.find(task_id(666)) != std::string::npos);
  BOOST_TEST((status().state != ConsumerState::kHalted));
  // The owner's replay server answers with the real epoch: the doubt goes,
  // and the consumer never halted.
  auto producer_bus = std::move(Bus::start({.publish = ep("pub"), .replay = ep("replay")})).value();
  producer_bus->add_producer(*producer);
  BOOST_TEST(wait_until([&] { return status().suspect.empty(); }));
  BOOST_TEST((status().state != ConsumerState::kHalted));
  BOOST_TEST(checkpoint_of(*consumer) == 3u);
}

// Two hosts over Curve tcp: the producer grants the consumer's key what
// the test says. A rotating producer also serves a new key on endpoints
// of its own.
enum class Rotation { kNone, kRotating };
struct CurvePair {
  TempDir dir;
  std::pair<std::string, std::string> producer_keys = generate_curve_keys();
  std::pair<std::string, std::string> next_keys = generate_curve_keys();  // the producer's, when rotating
  std::pair<std::string, std::string> consumer_keys = generate_curve_keys();
  std::unique_ptr<Environment> producer = open_env(dir / "tracker", "tracker");
  std::unique_ptr<Bus> producer_bus;

  explicit CurvePair(ClientGrant grant, std::size_t rpc_queue = 256, Rotation rotation = Rotation::kNone) {
    grant.key = consumer_keys.first;
    BOOST_TEST_REQUIRE(producer->declare_stream(protocol::kTasksStream).is_ok());
    BusOptions options{.publish = "tcp://127.0.0.1:*",
                       .replay = "tcp://127.0.0.1:*",
                       .heartbeat = std::chrono::milliseconds(50),
                       .rpc_queue = rpc_queue,
                       .curve = {producer_keys.first, producer_keys.second, {grant}}};
    if (rotation == Rotation::kRotating) {
      options.next_publish = options.next_replay = "tcp://127.0.0.1:*";
      options.curve.next_secret_key = next_keys.second;
    }
    auto bus = Bus::start(options);
    BOOST_TEST_REQUIRE(bus.has_value(), bus.status().to_string());
    producer_bus = std::move(bus).value();
    producer_bus->add_producer(*producer);
  }

  // A consumer's bus that knows the producer by its current key, or by
  // its new one on the new endpoints.
  std::unique_ptr<Bus> consumer_bus(Rotation knows = Rotation::kNone, const std::string& name = "c") {
    const bool next = knows == Rotation::kRotating;
    auto bus = Bus::start(
        {.publish = "inproc://" + name + "-pub",
         .replay = "inproc://" + name + "-replay",
         .peers = {{.publish =
                        next ? producer_bus->next_publish_endpoint() : producer_bus->publish_endpoint(),
                    .replay = next ? producer_bus->next_replay_endpoint() : producer_bus->replay_endpoint(),
                    .key = next ? next_keys.first : producer_keys.first,
                    .streams = {"tracker.tasks"}}},
         .heartbeat = std::chrono::milliseconds(50),
         .curve = {consumer_keys.first, consumer_keys.second, {}}});
    BOOST_TEST_REQUIRE(bus.has_value(), bus.status().to_string());
    return std::move(bus).value();
  }
  std::string rpc_peer() const { return producer_bus->replay_endpoint() + " " + producer_keys.first; }
};

BOOST_AUTO_TEST_CASE(a_key_fetches_only_the_streams_granted_to_it) {
  CurvePair pair({.reads = {"auth.users"}});  // not tracker.tasks
  publish_tasks(*pair.producer, 1, 3);
  auto consumer = open_env(pair.dir / "accounting", "accounting");
  auto bus = pair.consumer_bus();
  Recorder recorder;
  BOOST_TEST_REQUIRE(
      bus->add_consumer({"accounting", "tracker.tasks", consumer.get(), recorder.handler()}).is_ok());
  BOOST_TEST_REQUIRE(wait_until([&] { return dropped(*pair.producer_bus, "fetch_denied") > 0; }));
  // The refused host says why, and applied nothing it fetched.
  BOOST_TEST_REQUIRE(wait_until([&] { return bus->consumers().at(0).state == ConsumerState::kStalled; }));
  BOOST_TEST(bus->consumers().at(0).error.find("refuses this host's key") != std::string::npos);
  BOOST_TEST(checkpoint_of(*consumer) == 0u);
  const auto drops = pair.producer_bus->drops();
  BOOST_TEST_REQUIRE(!drops.empty());
  BOOST_TEST(drops.front().source == pair.consumer_keys.first);
}

BOOST_AUTO_TEST_CASE(a_key_granted_no_reads_cannot_subscribe_to_the_live_feed) {
  CurvePair pair({.calls = {"accounting.prepare"}});  // may call, may read nothing
  const auto refused_before = pair.producer_bus->refused_connections();
  zmq::context_t context(1);
  zmq::socket_t sub(context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::curve_serverkey, pair.producer_keys.first);
  sub.set(zmq::sockopt::curve_publickey, pair.consumer_keys.first);
  sub.set(zmq::sockopt::curve_secretkey, pair.consumer_keys.second);
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(pair.producer_bus->publish_endpoint());
  BOOST_TEST_REQUIRE(wait_until([&] { return pair.producer_bus->refused_connections() > refused_before; }));
  publish_tasks(*pair.producer, 1, 3);
  sub.set(zmq::sockopt::rcvtimeo, 500);
  zmq::message_t frame;
  BOOST_TEST(!sub.recv(frame).has_value());  // neither events nor heartbeats
}

BOOST_AUTO_TEST_CASE(rpc_answers_only_the_services_granted_to_the_key) {
  CurvePair pair({.reads = {"tracker.tasks"}, .calls = {"accounting.prepare"}});
  std::atomic<int> decided{0};
  pair.producer_bus->serve("accounting.prepare",
                           [](std::string_view) -> Result<std::string> { return std::string("prepared"); });
  pair.producer_bus->serve("accounting.decide", [&](std::string_view) -> Result<std::string> {
    ++decided;
    return std::string("decided");
  });
  auto bus = pair.consumer_bus();
  const auto prepared = bus->call(pair.rpc_peer(), "accounting.prepare", "x", std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(prepared.has_value(), prepared.status().to_string());
  BOOST_TEST(*prepared == "prepared");
  const auto refused = bus->call(pair.rpc_peer(), "accounting.decide", "commit", std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST((refused.status().code() == Code::kPermissionDenied));
  BOOST_TEST(decided.load() == 0);
  BOOST_TEST(dropped(*pair.producer_bus, "call_denied") == 1u);
}

BOOST_AUTO_TEST_CASE(a_full_rpc_queue_refuses_instead_of_growing) {
  TempDir dir;
  const std::string replay = "ipc://" + (dir / "replay").string();
  auto server =
      std::move(Bus::start({.publish = "ipc://" + (dir / "pub").string(), .replay = replay, .rpc_queue = 2}))
          .value();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  server->serve("slow", [&](std::string_view) -> Result<std::string> {
    ++started;
    released.wait();
    return std::string("done");
  });
  // Raw requests, many in flight on one connection, as a flooding peer sends them.
  zmq::context_t context(1);
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(replay);
  constexpr int kRequests = 20;
  const auto send_request = [&](int i) {
    const std::string id = std::to_string(i);
    dealer.send(zmq::buffer(wire::kRpcRequest), zmq::send_flags::sndmore);
    dealer.send(zmq::str_buffer("slow"), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(id), zmq::send_flags::sndmore);
    dealer.send(zmq::str_buffer("body"), zmq::send_flags::none);
  };
  // One runs (and blocks); of the rest, two wait in the queue.
  send_request(0);
  BOOST_TEST_REQUIRE(wait_until([&] { return started.load() == 1; }));
  for (int i = 1; i < kRequests; ++i) send_request(i);
  int full = 0;
  int done = 0;
  dealer.set(zmq::sockopt::rcvtimeo, 10'000);
  while (full + done < kRequests) {
    std::vector<zmq::message_t> reply;
    BOOST_TEST_REQUIRE(zmq::recv_multipart(dealer, std::back_inserter(reply)).has_value());
    BOOST_TEST_REQUIRE(reply.size() == 4u);
    if (reply[2].to_string_view() == "unavailable") {
      BOOST_TEST(reply[3].to_string().find("queue is full") != std::string::npos);
      if (++full == kRequests - 3) release.set_value();  // refusals come at once, while the first still runs
    } else {
      BOOST_TEST(reply[3].to_string_view() == "done");
      ++done;
    }
  }
  // One running and two queued were served; the rest were refused at once.
  BOOST_TEST(done == 3);
  BOOST_TEST(full == kRequests - 3);
  BOOST_TEST(dropped(*server, "rpc_queue_full") == static_cast<std::uint64_t>(kRequests - 3));
}

BOOST_AUTO_TEST_CASE(one_callers_flood_takes_its_share_of_the_rpc_queue_not_anothers_turn) {
  const auto [key, secret] = generate_curve_keys();
  const auto [flooder, flooder_secret] = generate_curve_keys();
  const auto [patient, patient_secret] = generate_curve_keys();
  auto server =
      std::move(
          Bus::start({.publish = "tcp://127.0.0.1:*",
                      .replay = "tcp://127.0.0.1:*",
                      .rpc_queue = 8,
                      .rpc_queue_per_caller = 2,
                      .curve = {key,
                                secret,
                                {{.key = flooder, .calls = {"slow"}}, {.key = patient, .calls = {"slow"}}}}}))
          .value();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  server->serve("slow", [&](std::string_view body) -> Result<std::string> {
    ++started;
    released.wait();
    return std::string(body);
  });
  zmq::context_t context(1);
  auto dealer_of = [&](const std::string& public_key, const std::string& secret_key) {
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::rcvtimeo, 10'000);
    dealer.set(zmq::sockopt::curve_serverkey, key);
    dealer.set(zmq::sockopt::curve_publickey, public_key);
    dealer.set(zmq::sockopt::curve_secretkey, secret_key);
    dealer.connect(server->replay_endpoint());
    return dealer;
  };
  const auto send_request = [](zmq::socket_t& dealer, const std::string& id) {
    dealer.send(zmq::buffer(wire::kRpcRequest), zmq::send_flags::sndmore);
    dealer.send(zmq::str_buffer("slow"), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(id), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(id), zmq::send_flags::none);
  };
  auto reply_of = [](zmq::socket_t& dealer) {
    std::vector<zmq::message_t> reply;
    BOOST_TEST_REQUIRE(zmq::recv_multipart(dealer, std::back_inserter(reply)).has_value());
    BOOST_TEST_REQUIRE(reply.size() == 4u);
    return std::pair{reply[2].to_string(), reply[3].to_string()};
  };
  zmq::socket_t flood = dealer_of(flooder, flooder_secret), wait = dealer_of(patient, patient_secret);
  // The flooder's first runs (and blocks); two of the rest wait, seven are refused.
  send_request(flood, "f0");
  BOOST_TEST_REQUIRE(wait_until([&] { return started.load() == 1; }));
  for (int i = 1; i < 10; ++i) send_request(flood, "f" + std::to_string(i));
  for (int i = 0; i < 7; ++i) {
    const auto [code, text] = reply_of(flood);
    BOOST_TEST(code == "unavailable");
    BOOST_TEST(text.find("its share") != std::string::npos, text);
  }
  // The queue has room, and the other caller's request takes it.
  send_request(wait, "p0");
  BOOST_TEST_REQUIRE(wait_until([&] { return dropped(*server, "rpc_queue_full") == 7u; }));
  release.set_value();
  const auto [code, text] = reply_of(wait);
  BOOST_TEST(code == "ok");
  BOOST_TEST(text == "p0");
  for (int i = 0; i < 3; ++i) BOOST_TEST(reply_of(flood).first == "ok");
}

BOOST_AUTO_TEST_CASE(a_frame_larger_than_any_event_is_refused_and_the_bus_goes_on) {
  TempDir dir;
  const auto ep = [&](const std::string& name) { return "ipc://" + (dir / name).string(); };
  auto producer = open_env(dir / "tracker", "tracker");
  BOOST_TEST_REQUIRE(producer->declare_stream(protocol::kTasksStream).is_ok());
  auto producer_bus = std::move(Bus::start({.publish = ep("pub"), .replay = ep("replay")})).value();
  producer_bus->add_producer(*producer);
  publish_tasks(*producer, 1, 2);
  {
    // 10 MiB at the ROUTER: libzmq drops the connection at the frame's
    // header, before buffering it.
    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 1000);
    dealer.connect(ep("replay"));
    for (int i = 0; i < 3; ++i) dealer.send(zmq::buffer(std::string(10u << 20, 'x')), zmq::send_flags::none);
  }
  // A consumer still catches up from the same ROUTER.
  auto consumer = open_env(dir / "accounting", "accounting");
  Recorder recorder;
  auto consumer_bus =
      std::move(
          Bus::start(
              {.publish = ep("c-pub"),
               .replay = ep("c-replay"),
               .peers = {{.publish = ep("pub"), .replay = ep("replay"), .streams = {"tracker.tasks"}}}}))
          .value();
  BOOST_TEST_REQUIRE(
      consumer_bus->add_consumer({"accounting", "tracker.tasks", consumer.get(), recorder.handler()})
          .is_ok());
  BOOST_TEST(wait_until([&] { return checkpoint_of(*consumer) == 2; }));
}

BOOST_AUTO_TEST_CASE(a_rotating_host_serves_its_old_and_new_key_each_on_its_own_endpoints) {
  CurvePair pair({.reads = {"tracker.tasks"}, .calls = {"echo"}}, 256, Rotation::kRotating);
  pair.producer_bus->serve("echo",
                           [](std::string_view body) -> Result<std::string> { return std::string(body); });
  BOOST_TEST_REQUIRE(!pair.producer_bus->next_publish_endpoint().empty());
  BOOST_TEST(pair.producer_bus->next_publish_endpoint() != pair.producer_bus->publish_endpoint());
  publish_tasks(*pair.producer, 1, 3);
  // One consumer still knows the old key, one already the new: both fetch
  // the past and follow the live feed.
  auto old_env = open_env(pair.dir / "old", "accounting");
  auto new_env = open_env(pair.dir / "new", "analytics");
  auto old_bus = pair.consumer_bus(Rotation::kNone, "old");
  auto new_bus = pair.consumer_bus(Rotation::kRotating, "new");
  Recorder old_recorder, new_recorder;
  BOOST_TEST_REQUIRE(
      old_bus->add_consumer({"accounting", "tracker.tasks", old_env.get(), old_recorder.handler()}).is_ok());
  BOOST_TEST_REQUIRE(
      new_bus->add_consumer({"analytics", "tracker.tasks", new_env.get(), new_recorder.handler()}).is_ok());
  BOOST_TEST_REQUIRE(
      wait_until([&] { return checkpoint_of(*old_env) == 3u && checkpoint_of(*new_env) == 3u; }));
  publish_tasks(*pair.producer, 4, 2);
  BOOST_TEST_REQUIRE(
      wait_until([&] { return checkpoint_of(*old_env) == 5u && checkpoint_of(*new_env) == 5u; }));
  BOOST_TEST(old_recorder.ids() == new_recorder.ids());
  // rpc answers on the ROUTER each call came on.
  const auto by_old = old_bus->call(pair.rpc_peer(), "echo", "old key", std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(by_old.has_value(), by_old.status().to_string());
  BOOST_TEST(*by_old == "old key");
  const std::string next_peer = pair.producer_bus->next_replay_endpoint() + " " + pair.next_keys.first;
  const auto by_new = new_bus->call(next_peer, "echo", "new key", std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(by_new.has_value(), by_new.status().to_string());
  BOOST_TEST(*by_new == "new key");
  // A key stands for its own endpoints only: the new key expected on the
  // old endpoint fails the handshake, and is counted there.
  const auto refused_before = pair.producer_bus->refused_connections();
  const auto crossed = new_bus->call(pair.producer_bus->replay_endpoint() + " " + pair.next_keys.first,
                                     "echo", "crossed", std::chrono::milliseconds(1500));
  BOOST_TEST(!crossed.has_value());
  BOOST_TEST((crossed.status().code() == Code::kUnavailable));
  BOOST_TEST(wait_until([&] { return pair.producer_bus->refused_connections() > refused_before; }));
}

BOOST_AUTO_TEST_CASE(a_key_cannot_move_another_consumers_retention_checkpoint) {
  TempDir dir;
  const auto [key, secret] = generate_curve_keys();
  const auto [reader, reader_secret] = generate_curve_keys();
  auto opened = Environment::open({.dir = dir / "tracker",
                                   .producer = "tracker",
                                   .map_size = std::size_t{1} << 28,
                                   .tick = std::chrono::milliseconds(20),
                                   .retention_keep_last = 1});
  BOOST_TEST_REQUIRE(opened.has_value());
  auto producer = std::move(opened).value();
  BOOST_TEST_REQUIRE(producer->declare_stream(protocol::kTasksStream).is_ok());
  auto bus = std::move(Bus::start({.publish = "tcp://127.0.0.1:*",
                                   .replay = "tcp://127.0.0.1:*",
                                   .curve = {key, secret, {{.key = reader, .reads = {"tracker.tasks"}}}}}))
                 .value();
  bus->add_producer(*producer);
  publish_tasks(*producer, 1, 10);
  // analytics, on this host, has applied 2 of the 10.
  BOOST_TEST_REQUIRE(producer
                         ->run([](storage::WriteTxn& txn) {
                           txn.record_consumer_checkpoint("tracker.tasks", "analytics", 2);
                           return Status::ok();
                         })
                         .is_ok());
  // A key granted reads FETCHes as "analytics", from far past the head.
  zmq::context_t context(1);
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::curve_serverkey, key);
  dealer.set(zmq::sockopt::curve_publickey, reader);
  dealer.set(zmq::sockopt::curve_secretkey, reader_secret);
  dealer.set(zmq::sockopt::rcvtimeo, 10'000);
  dealer.connect(bus->replay_endpoint());
  const wire::FetchRequest request{
      .stream = "tracker.tasks", .from = 1'000'000, .max = 1, .consumer = "analytics"};
  dealer.send(zmq::buffer(wire::pack(request)), zmq::send_flags::none);
  std::vector<zmq::message_t> reply;
  BOOST_TEST_REQUIRE(zmq::recv_multipart(dealer, std::back_inserter(reply)).has_value());
  // The writer is serial: a unit run now runs after the recorded checkpoint.
  BOOST_TEST_REQUIRE(producer->run([](storage::WriteTxn&) { return Status::ok(); }).is_ok());
  // Retention still stops at analytics' own 2: the key's claim is its own.
  BOOST_TEST(*producer->apply_retention() == 2u);
}

// What this process writes to stderr while it lives.
class StderrCapture {
 public:
  explicit StderrCapture(std::filesystem::path file) : file_(std::move(file)) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrCapture() { restore(); }
  std::string text() {
    restore();
    std::ifstream in(file_);
    return {std::istreambuf_iterator<char>(in), {}};
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::filesystem::path file_;
  int saved_ = -1;
};

BOOST_AUTO_TEST_CASE(every_refused_stranger_is_counted_and_the_log_keeps_to_its_budget) {
  CurvePair pair({.reads = {"tracker.tasks"}});
  const auto before = pair.producer_bus->refused_connections();
  std::string log;
  {
    StderrCapture capture(pair.dir / "stderr");
    // Strangers, each with a key of its own, as a flood of new keys would be.
    zmq::context_t context(1);
    std::vector<zmq::socket_t> strangers;
    for (int i = 0; i < 30; ++i) {
      const auto [key, secret] = generate_curve_keys();
      zmq::socket_t dealer(context, zmq::socket_type::dealer);
      dealer.set(zmq::sockopt::linger, 0);
      dealer.set(zmq::sockopt::curve_serverkey, pair.producer_keys.first);
      dealer.set(zmq::sockopt::curve_publickey, key);
      dealer.set(zmq::sockopt::curve_secretkey, secret);
      dealer.connect(pair.producer_bus->replay_endpoint());
      strangers.push_back(std::move(dealer));
    }
    BOOST_TEST(wait_until([&] { return pair.producer_bus->refused_connections() >= before + 30; }));
    log = capture.text();
  }
  std::size_t lines = 0;
  for (std::size_t at = log.find("bus: refused"); at != std::string::npos;
       at = log.find("bus: refused", at + 1))
    ++lines;
  BOOST_TEST(lines >= 1u, log);
  BOOST_TEST(lines <= 10u, log);
}

BOOST_AUTO_TEST_CASE(a_rotation_is_configured_whole_or_refused) {
  const auto [key, secret] = generate_curve_keys();
  const auto [next, next_secret] = generate_curve_keys();
  const std::string tcp = "tcp://127.0.0.1:*";
  auto refused = [&](BusOptions options, const std::string& why) {
    auto bus = Bus::start(std::move(options));
    BOOST_TEST_REQUIRE(!bus.has_value(), why);
    BOOST_TEST((bus.status().code() == Code::kInvalidArgument));
    BOOST_TEST(bus.status().message().find(why) != std::string::npos, bus.status().message());
  };
  // The new key without its endpoints, and endpoints without a key.
  refused({.publish = tcp, .replay = tcp, .curve = {key, secret, {}, next_secret}}, "together");
  refused(
      {.publish = tcp, .replay = tcp, .next_publish = tcp, .next_replay = tcp, .curve = {key, secret, {}}},
      "together");
  // Not tcp: a key matters only between hosts.
  refused({.publish = tcp,
           .replay = tcp,
           .next_publish = "inproc://n-pub",
           .next_replay = "inproc://n-replay",
           .curve = {key, secret, {}, next_secret}},
          "must be tcp://");
  // The current key again, and something that is not a key.
  refused({.publish = tcp,
           .replay = tcp,
           .next_publish = tcp,
           .next_replay = tcp,
           .curve = {key, secret, {}, secret}},
          "is the current key");
  refused({.publish = tcp,
           .replay = tcp,
           .next_publish = tcp,
           .next_replay = tcp,
           .curve = {key, secret, {}, std::string(40, '"')}},
          "not a CurveZMQ secret key");
  // A public key that is not the secret key's other half.
  refused({.publish = tcp, .replay = tcp, .curve = {next, secret, {}}}, "not the public half");
  // The whole rotation starts.
  auto whole = Bus::start({.publish = tcp,
                           .replay = tcp,
                           .next_publish = tcp,
                           .next_replay = tcp,
                           .curve = {key, secret, {}, next_secret}});
  BOOST_TEST(whole.has_value(), whole.status().to_string());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::bus
