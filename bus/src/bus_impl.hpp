// Bus::Impl and what the bus's files share; private to bus/src. One file
// per socket role, as in libzmq:
//
//   bus.cpp            start and stop: binds the sockets, starts the threads
//   publisher.cpp      PUB: new outbox entries and heartbeats; hold()
//   replay_server.cpp  ROUTER: FETCH answers from the outbox; rpc requests in
//   consumer.cpp       SUB + DEALER per consumer: apply in order, exactly once
//   dead_letters.cpp   the dead-letter records a consumer keeps
//   rpc.cpp            the rpc server's thread and the client's call()
//   curve.cpp          CurveZMQ: keys, the ZAP handler, secure sockets
//   trust.cpp          peers and grants: what each key may do; drops
//
// Threads: the publisher thread alone uses the PUB and ROUTER sockets;
// every consumer has a thread with its own SUB and DEALER sockets; the rpc
// thread runs handlers; the ZAP thread answers libzmq's authentication
// requests. They share the state below under the mutex named beside it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "ates/bus/bus.hpp"

namespace ates::bus {

inline bool is_tcp(std::string_view endpoint) { return endpoint.starts_with("tcp://"); }

// The client side of an endpoint: Curve with the server's key on tcp,
// heartbeats and reconnects (curve.cpp).
// The ZAP domains of our two server sockets: the PUB admits only keys
// granted some reads= (it cannot filter by stream), the ROUTER every
// granted key (it checks each FETCH and call itself).
inline constexpr std::string_view kPubDomain = "ates-pub";
inline constexpr std::string_view kReplayDomain = "ates";
// Messages queued per connection on the replay ROUTER, each way.
inline constexpr int kRouterQueue = 64;

// Throws on tcp without a server key or our own keys: never plaintext.
void secure_client(zmq::socket_t& socket, std::string_view endpoint, const std::string& server_key,
                   const CurveOptions& curve);
// Every bus socket refuses a message bigger than the largest event
// (protocol::kMaxEnvelopeBytes) plus its frames' overhead.
void limit_messages(zmq::socket_t& socket);

// The configuration's promises that Bus::start checks (trust.cpp): Curve
// keys wherever tcp is, a key for every remote peer, one owner per stream.
Status validate(const BusOptions& options);
// The Curve key of the host a frame came from, or nothing for a
// connection inside this machine (inproc, ipc).
std::optional<std::string> client_key(const zmq::message_t& frame);

struct Consumer;  // consumer.cpp

struct Bus::Impl {
  BusOptions options;
  zmq::context_t context{1};

  // What the publisher knows of each local stream.
  struct LocalStream {
    storage::Environment* env = nullptr;
    storage::StreamHead head;
    std::uint64_t last_sent = 0;
    std::optional<storage::StreamHead> held;  // hold(): what the world still sees
    const storage::StreamHead& visible() const { return held ? *held : head; }
  };
  struct ProducerObserver final : storage::CommitObserver {
    Impl& bus;
    storage::Environment& env;
    ProducerObserver(Impl& b, storage::Environment& e) : bus(b), env(e) {}
    void on_commit(const storage::CommitInfo& info) override { bus.on_commit(env, info); }
  };
  mutable std::mutex streams_mutex;  // guards streams and observers
  std::map<std::string, LocalStream, std::less<>> streams;
  std::vector<std::unique_ptr<ProducerObserver>> observers;
  int wake_fd = -1;

  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> refused{0};
  std::string bound_publish;
  std::string bound_replay;
  std::string bound_next_publish;  // during a key rotation: the new key's
  std::string bound_next_replay;
  std::thread publisher;
  std::thread zap;

  // rpc: requests from the ROUTER go to the rpc thread; its replies come
  // back through rpc_replies and the wake fd, since only the publisher
  // thread may touch the ROUTER.
  struct RpcRequest {
    std::size_t router = 0;  // which of our ROUTERs it came on (the new key's during a rotation)
    std::string caller;      // its key; empty: this machine
    zmq::message_t identity;
    std::string service;
    std::string call_id;
    std::string body;
  };
  std::mutex rpc_mutex;  // guards rpc_handlers, rpc_requests, rpc_replies
  std::condition_variable rpc_cv;
  std::map<std::string, std::shared_ptr<Bus::RpcHandler>, std::less<>> rpc_handlers;
  std::deque<RpcRequest> rpc_requests;
  std::deque<std::pair<std::size_t, std::vector<zmq::message_t>>> rpc_replies;  // (router, frames)
  std::string rpc_running;  // the service whose handler runs now, so unserve can wait for it
  std::condition_variable rpc_idle;
  std::thread rpc_thread;
  void rpc_loop();
  void send_rpc_replies(const std::vector<zmq::socket_t*>& routers);
  struct Caller {
    std::mutex mutex;
    std::optional<zmq::socket_t> dealer;
    std::uint64_t next_id = 0;
  };
  std::mutex callers_mutex;  // guards callers
  std::map<std::string, std::shared_ptr<Caller>, std::less<>> callers;

  mutable std::mutex consumers_mutex;                // guards consumers
  std::vector<std::shared_ptr<Consumer>> consumers;  // shared: a re-drive may outlive a removal

  void on_commit(storage::Environment& env, const storage::CommitInfo& info);
  // Our server sockets: the key's PUB and ROUTER, and during a rotation the
  // new key's after them. The publisher thread alone uses them.
  struct ServerSockets {
    std::vector<std::shared_ptr<zmq::socket_t>> pubs, routers;
  };
  void publisher_loop(const ServerSockets& sockets);
  void publish_new(const std::vector<zmq::socket_t*>& pubs);
  void send_heartbeats(const std::vector<zmq::socket_t*>& pubs);
  void answer_fetch(zmq::socket_t& router, std::size_t index);
  // Hands an rpc request to the rpc thread, or answers the refusal: a key
  // that may not call the service, or a full queue.
  void queue_rpc(zmq::socket_t& router, std::size_t index, std::vector<zmq::message_t>& frames,
                 const std::optional<std::string>& key);
  void zap_loop(zmq::socket_t& handler);
  void remove_consumers(std::string_view name);  // consumer.cpp
  void stop_all_consumers();                     // consumer.cpp
  // Wakes the publisher thread (it polls wake_fd).
  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }
  void secure_server(zmq::socket_t& socket, std::string_view endpoint, std::string_view zap_domain,
                     const std::string& secret_key) const;

  // Trust (trust.cpp).
  const Peer* owner_of(std::string_view stream) const;  // null: produced here, or nowhere we know
  const ClientGrant* grant_of(std::string_view key) const;
  bool may_read(const std::optional<std::string>& key, std::string_view stream) const;
  bool may_call(const std::optional<std::string>& key, std::string_view service) const;
  // Counts a drop, and logs it at most once a minute per (source, reason).
  void drop(const std::string& source, std::string_view reason, const std::string& detail);
  struct DropState {
    std::uint64_t count = 0;
    std::chrono::steady_clock::time_point logged;
  };
  mutable std::mutex drops_mutex;  // guards drop_states and the refusals' log budget
  std::map<std::pair<std::string, std::string>, DropState> drop_states;
  // Counts a refused connection (`refused`) and logs it, at most
  // kRefusalLogsPerMinute lines a minute in all: the keys and addresses
  // of strangers are unbounded, so the budget is not per source.
  void refuse(const std::string& detail);
  static constexpr std::size_t kRefusalLogsPerMinute = 10;
  std::chrono::steady_clock::time_point refusal_minute;
  std::size_t refusals_logged = 0;  // in the minute from refusal_minute
  std::uint64_t refusals_unlogged = 0;
};

}  // namespace ates::bus
