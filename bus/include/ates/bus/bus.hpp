// The bus of one host: the clone pattern with a durable
// sequencer. Each producing environment's outbox is the only sequencer;
// after each commit the publisher sends the new entries on PUB as
// [stream][envelope]; a ROUTER answers FETCH(stream, from, max) from the
// outbox; heartbeats carry every stream's (head_seq, watermark) pair.
// A consumer subscribes first, fetches from its checkpoint + 1, then
// follows the live feed, repairs any gap with another FETCH, and applies
// events in batches: one write transaction per batch in the consumer's own
// environment, the checkpoint in the same transaction. Nothing is lost and
// nothing is applied twice, whatever the network does.
//
// Thread-safety: every method may be called from any thread. Each consumer
// runs on a thread of its own; the publisher and replay server share one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "ates/base/status.hpp"
#include "ates/protocol/envelope.hpp"
#include "ates/storage/environment.hpp"

namespace ates::bus {

using base::Result;
using base::Status;

// Failpoints of the bus (ATES_FAILPOINT, see base/failpoint.hpp); with
// the storage writer's, they cover the path of an event: committed
// (writer.after_commit), read for publishing (bus.before_publish), half a
// batch applied in the consumer's transaction (bus.mid_batch_apply), the
// consumer's batch committed before it moves on (writer.after_commit).
inline constexpr std::string_view kFailBeforePublish = "bus.before_publish";
inline constexpr std::string_view kFailMidBatchApply = "bus.mid_batch_apply";

// CurveZMQ for every tcp endpoint (keys in Z85, 40 characters).
struct CurveOptions {
  std::string public_key;
  std::string secret_key;
  std::vector<std::string> allowed_clients;  // public keys allowed to connect to our endpoints
  bool enabled() const { return !secret_key.empty(); }
};

struct BusOptions {
  std::string publish = "inproc://ates-pub";    // where our PUB binds
  std::string replay = "inproc://ates-replay";  // where our ROUTER binds
  std::string advertise_replay;                 // what heartbeats tell consumers; empty: `replay`
  // Other hosts' PUB endpoints to subscribe to: "ENDPOINT" or
  // "ENDPOINT SERVER_PUBLIC_KEY" for tcp with CurveZMQ.
  std::vector<std::string> peers;
  std::chrono::milliseconds heartbeat{1000};
  int send_hwm = 100000;
  std::size_t batch = 1000;  // events per FETCH and per applied batch at most
  CurveOptions curve;
};

// Applies one event inside the consumer's write transaction. An error with
// code invalid_argument, not_found, conflict or permission_denied means the
// domain rejects the event: it becomes a dead letter and the stream moves
// on, with none of the event's writes. Any other error (storage full, I/O,
// a bug) stalls the consumer: the batch rolls back and is retried with
// backoff. A handler may therefore run more than once for an event (a
// refusal elsewhere in its batch reruns the batch too); only what it writes
// through the transaction counts, once.
using EventHandler = std::function<Status(storage::WriteTxn&, const protocol::Envelope&)>;

struct ConsumerSpec {
  std::string consumer;  // the consuming plugin ("accounting")
  std::string stream;    // "tracker.tasks"
  storage::Environment* env = nullptr;
  EventHandler handler;
};

enum class ConsumerState { kStarting, kRunning, kStalled, kHalted };
std::string_view to_string(ConsumerState state);
inline std::ostream& operator<<(std::ostream& out, ConsumerState state) { return out << to_string(state); }

struct ConsumerStatus {
  std::string consumer;
  std::string stream;
  ConsumerState state = ConsumerState::kStarting;
  std::uint64_t applied_seq = 0;
  std::uint64_t head_seq = 0;  // the newest head this consumer has heard of
  std::int64_t watermark = 0;  // of that head's pair
  std::string error;           // why it stalled or halted
  std::uint64_t lag() const { return head_seq > applied_seq ? head_seq - applied_seq : 0; }
};

struct DeadLetter {
  std::string id;  // "<consumer>-<n>"
  std::string consumer;
  std::string stream;
  std::uint64_t seq = 0;  // 0: a frame too broken to have one
  std::string reason;
  std::int64_t time_us = 0;        // when it was dead-lettered (business clock)
  std::int64_t event_time_us = 0;  // the event's own time, when it could be read
  bool resolved = false;
};

class Bus {
 public:
  static Result<std::unique_ptr<Bus>> start(BusOptions options);
  ~Bus();  // stops every consumer, then the publisher; LINGER 0

  // Publishes the streams `env` produces and serves FETCH for them.
  void add_producer(storage::Environment& env);
  void remove_producer(storage::Environment& env);

  // Starts a consumer. One per (consumer, stream).
  Status add_consumer(ConsumerSpec spec);
  // Stops the consumers of one plugin at a transaction boundary and joins
  // their threads (before the plugin stops or reloads).
  void remove_consumers(std::string_view consumer);

  std::vector<ConsumerStatus> consumers() const;
  std::vector<storage::StreamHead> local_streams() const;

  // The endpoints as bound ("tcp://127.0.0.1:*" becomes the real port).
  std::string publish_endpoint() const;
  std::string replay_endpoint() const;
  // Refusals seen on our tcp endpoints: the ZAP handler's (an unknown
  // CurveZMQ client key) and failed handshakes (a plaintext peer); one
  // refused peer may count twice.
  std::uint64_t refused_connections() const;

  // True when `consumer` holds a pair of `stream` with watermark >= time_us
  // and has applied up to that pair's head: no event of the stream with an
  // earlier time can still arrive.
  bool complete_up_to(std::string_view consumer, std::string_view stream, std::int64_t time_us) const;

  // Request and reply between plugins over the bus (DEALER -> the replay
  // ROUTER), for the two-phase charge of rpc mode (docs/tracker.md). A
  // handler runs on the bus's rpc thread, one request at a time; its error
  // travels back as the Status of call(). Serving a name twice replaces the
  // handler.
  using RpcHandler = std::function<Result<std::string>(std::string_view request)>;
  void serve(std::string service, RpcHandler handler);
  // Waits for a running call of the service to finish.
  void unserve(std::string_view service);
  // Calls `service` at `peer` ("EP [SERVER_KEY]" like BusOptions::peers;
  // empty: this bus's own replay endpoint). No answer within `timeout`:
  // kUnavailable, and a late answer is dropped. Calls to one peer are
  // serialised on one socket; any thread may call.
  Result<std::string> call(const std::string& peer, const std::string& service, std::string_view request,
                           std::chrono::milliseconds timeout);

  // Holds a local stream back as a network partition would: nothing after
  // its current head is sent, heartbeats repeat that head and its
  // watermark, FETCH answers up to it. Commits go on; releasing sends
  // them at once. For the development clock's experiments and tests:
  // consumers see an old watermark, exactly as with a slow producer.
  Status hold(std::string_view stream, bool held);

  // Applies a dead letter again through its consumer's handler, once: the
  // letter is marked resolved in the same transaction.
  Result<DeadLetter> redrive(std::string_view id);

  struct Impl;

 private:
  explicit Bus(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The dead letters kept in a consumer's environment, oldest first.
std::vector<DeadLetter> dead_letters(storage::Environment& env, std::string_view consumer);
// Moves a consumer's checkpoint of `stream` back to "adopt the next epoch",
// after `applied_seq` (0: from the start). For after a producer's data was
// replaced; the consumer must not be running.
Status reset_consumer(storage::Environment& env, std::string_view stream, std::uint64_t applied_seq);

// A new CurveZMQ key pair (Z85): {public, secret}.
std::pair<std::string, std::string> generate_curve_keys();

}  // namespace ates::bus
