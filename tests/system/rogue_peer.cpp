// The rogue host of hostile_peer_test: a process whose Curve key the other
// hosts admit on their bus, granted nothing, and which does what a
// compromised host would try (docs/bus.md, "Trust between hosts"):
//
//   (a) publishes a SigningKeyAdded (the forged key the test signs a token
//       with) and a UserCreated for an admin of its own on auth.users;
//   (b) publishes on accounting.transactions, so its heartbeats carry that
//       stream with a made-up epoch and a head below the real one;
//   (c) calls accounting.prepare and accounting.decide (commit) at the
//       accounting host for a task that does not exist;
//   (d) sends 10 MiB frames and a flood of garbage to every replay
//       endpoint, and subscribes to the front's PUB;
//   (e) FETCHes auth.users from the front, as a consumer of it would.
//
//   rogue_peer NAME=VALUE…
//     dir, public, secret: its data directory and Curve keys;
//     kid, signing_key: the forged signing key (hex of 32 raw bytes);
//     front_pub, front_replay, front_key: the host of auth and tracker;
//     money_replay, money_key: the accounting host;
//     numbers_replay: the analytics host's replay endpoint, if it has one.
//
// It prints one line per attempt, "<what>: <how it went>", and "done" at
// the end; any failure of its own (not the victims' refusals) exits 2.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "ates/bus/bus.hpp"
#include "ates/protocol/charge.hpp"
#include "ates/protocol/events.hpp"

using namespace ates;

namespace {

void say(const std::string& line) {
  const std::string text = line + "\n";
  if (::write(1, text.data(), text.size()) < 0) std::_Exit(1);
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "rogue_peer: %s\n", why.c_str());
  std::_Exit(2);
}

std::vector<char> from_hex(const std::string& hex) {
  std::vector<char> bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

// A DEALER to a replay endpoint, authenticated with the rogue's own key:
// what the victims admit it with.
zmq::socket_t dealer_to(zmq::context_t& context, const std::string& endpoint, const std::string& server_key,
                        const std::string& public_key, const std::string& secret_key) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 1000);
  socket.set(zmq::sockopt::curve_serverkey, server_key);
  socket.set(zmq::sockopt::curve_publickey, public_key);
  socket.set(zmq::sockopt::curve_secretkey, secret_key);
  socket.connect(endpoint);
  return socket;
}

// (d): oversize frames, then garbage of every shape the ROUTER might choke
// on: random bytes, random frame counts, rpc-shaped requests that are not.
void flood(zmq::context_t& context, const std::string& name, const std::string& endpoint,
           const std::string& server_key, const std::string& public_key, const std::string& secret_key) {
  zmq::socket_t socket = dealer_to(context, endpoint, server_key, public_key, secret_key);
  std::mt19937 rng(7);
  const std::string huge(10u << 20, 'x');
  int huge_sent = 0, garbage_sent = 0;
  for (int i = 0; i < 3; ++i) {
    // The victim drops the connection on the first one; the DEALER
    // reconnects on its own, so each is a new attempt.
    if (socket.send(zmq::buffer(huge), zmq::send_flags::none)) ++huge_sent;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  std::string bytes;
  while (std::chrono::steady_clock::now() < until) {
    const int frames = static_cast<int>(rng() % 7) + 1;
    bool sent = true;
    for (int f = 0; f < frames && sent; ++f) {
      bytes.resize(rng() % (f == 1 ? 64 : 65536));
      for (auto& c : bytes) c = static_cast<char>(rng());
      // A few look like rpc requests, so the ROUTER hands them to the queue.
      if (frames == 4 && f == 0) bytes = std::string("\0rpc", 4);
      if (frames == 4 && f == 1) bytes = std::string(protocol::kDecideService);
      sent =
          socket
              .send(zmq::buffer(bytes), f + 1 < frames ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                                       : zmq::send_flags::dontwait)
              .has_value();
    }
    if (sent) ++garbage_sent;
  }
  say("flood " + name + ": " + std::to_string(huge_sent) + " frames of 10 MiB, " +
      std::to_string(garbage_sent) + " garbage messages");
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> arg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto eq = a.find('=');
    if (eq == std::string::npos) fail("arguments are NAME=VALUE: " + a);
    arg[a.substr(0, eq)] = a.substr(eq + 1);
  }
  auto need = [&](const std::string& name) {
    auto it = arg.find(name);
    if (it == arg.end() || it->second.empty()) fail("missing " + name);
    return it->second;
  };
  const std::string dir = need("dir"), public_key = need("public"), secret_key = need("secret");

  // Its forgeries come from environments named after the real producers:
  // the registry lets only "auth" declare auth.users, and a compromised
  // host runs the same code.
  auto open = [&](const std::string& producer) {
    auto env = storage::Environment::open({.dir = dir + "/" + producer,
                                           .producer = producer,
                                           .map_size = std::size_t{1} << 28,
                                           .tick = std::chrono::milliseconds(20)});
    if (!env) fail(env.status().to_string());
    return std::move(env).value();
  };
  auto users = open("auth"), money_env = open("accounting"), consumed = open("reader");
  if (auto s = users->declare_stream(protocol::kUsersStream); !s) fail(s.to_string());
  if (auto s = money_env->declare_stream(protocol::kTransactionsStream); !s) fail(s.to_string());

  const std::string front_key = need("front_key");
  bus::BusOptions options{.publish = "tcp://127.0.0.1:*",
                          .replay = "tcp://127.0.0.1:*",
                          .peers = {{.publish = need("front_pub"),
                                     .replay = need("front_replay"),
                                     .key = front_key,
                                     .streams = {std::string(protocol::kUsersStream)}}},
                          .heartbeat = std::chrono::milliseconds(100),
                          .curve = {.public_key = public_key, .secret_key = secret_key, .clients = {}}};
  auto bus = bus::Bus::start(options);
  if (!bus) fail(bus.status().to_string());
  (*bus)->add_producer(*users);
  (*bus)->add_producer(*money_env);

  // (a) and (b): on its own PUB, which no host subscribes to for these streams.
  auto published = money_env->run([&](storage::WriteTxn& txn) -> base::Status {
    for (int i = 0; i < 3; ++i) {
      auto e = txn.publish(protocol::TransactionApplied{.entry_id = protocol::make_uuid(txn.random()),
                                                        .user_id = protocol::make_uuid(txn.random()),
                                                        .task_id = {},
                                                        .kind = "reward",
                                                        .amount_cents = 100'000'000,
                                                        .occurred_at = 0,
                                                        .date = "2026-03-03",
                                                        .original_date = {}});
      if (!e) return e.status();
    }
    return base::Status::ok();
  });
  if (published) {
    published = users->run([&](storage::WriteTxn& txn) -> base::Status {
      auto key = txn.publish(
          protocol::SigningKeyAdded{.kid = need("kid"), .public_key = from_hex(need("signing_key"))});
      if (!key) return key.status();
      return txn
          .publish(protocol::UserCreated{.user_id = protocol::make_uuid(txn.random()),
                                         .username = "mallory",
                                         .email = {},
                                         .role = "admin",
                                         .active = true})
          .status();
    });
  }
  if (!published) fail(published.to_string());
  say("published: SigningKeyAdded and UserCreated on auth.users, 3 TransactionApplied on "
      "accounting.transactions");

  // (c): a charge for a task that does not exist, prepared and committed.
  const std::string money = need("money_replay") + " " + need("money_key");
  const std::string op_id = "rogue-op-1", event_id = "00000000-0000-4000-8000-0000000000e1";
  const protocol::PrepareCharges prepare{.op_id = op_id,
                                         .charges = {{.event_id = event_id,
                                                      .kind = "reward",
                                                      .task_id = "00000000-0000-4000-8000-0000000000aa",
                                                      .user_id = "00000000-0000-4000-8000-0000000000bb"}},
                                         .deadline_us = std::int64_t{4'000'000'000'000'000}};
  const protocol::ChargeDecision decide{
      .op_id = op_id, .decision = "commit", .committed = {event_id}, .time_us = 1'772'528'400'000'000};
  for (const auto& [service, body] : {std::pair{protocol::kPrepareService, protocol::pack_message(prepare)},
                                      std::pair{protocol::kDecideService, protocol::pack_message(decide)}}) {
    auto answer = (*bus)->call(money, std::string(service), body, std::chrono::seconds(10));
    say("call " + std::string(service) + ": " +
        (answer ? std::string("accepted") : std::string(base::to_string(answer.status().code()))));
  }

  // (e): a consumer of auth.users, fetching from the front's replay server,
  // on a bus of its own (this one's PUB carries the forged auth.users).
  auto reader = bus::Bus::start({.peers = options.peers, .curve = options.curve});
  if (!reader) fail(reader.status().to_string());
  if (auto s = (*reader)->add_consumer(
          {.consumer = "reader",
           .stream = std::string(protocol::kUsersStream),
           .env = consumed.get(),
           .handler = [](storage::WriteTxn&, const protocol::Envelope&) { return base::Status::ok(); }});
      !s)
    fail(s.to_string());

  // (d), to every replay endpoint, and a subscription to the front's feed.
  zmq::context_t context(1);
  zmq::socket_t sub(context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::curve_serverkey, front_key);
  sub.set(zmq::sockopt::curve_publickey, public_key);
  sub.set(zmq::sockopt::curve_secretkey, secret_key);
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(need("front_pub"));
  flood(context, "front", need("front_replay"), front_key, public_key, secret_key);
  flood(context, "money", need("money_replay"), need("money_key"), public_key, secret_key);
  zmq::message_t heard;
  say(std::string("subscribe to the front: ") +
      (sub.recv(heard, zmq::recv_flags::dontwait) ? "heard the feed" : "heard nothing"));

  for (int i = 0; i < 200; ++i) {
    for (const auto& c : (*reader)->consumers()) {
      if (c.state == bus::ConsumerState::kStalled && !c.error.empty()) {
        say("fetch auth.users: stalled: " + c.error + " (applied " + std::to_string(c.applied_seq) + ")");
        i = 200;
      }
      if (c.applied_seq > 0) fail("the front served auth.users to the rogue");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  say("done");
  return 0;
}
