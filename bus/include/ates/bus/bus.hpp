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
#include <string_view>
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

// The bytes of an undecodable frame a dead letter keeps: enough to see
// what it was, never its whole megabyte.
inline constexpr std::size_t kGarbageBytesKept = 4096;

// What another host's key may do on this host's endpoints: connect, FETCH
// the streams in `reads`, call the rpc services in `calls`. Nothing else.
struct ClientGrant {
  std::string key;                 // its CurveZMQ public key (Z85, 40 characters)
  std::vector<std::string> reads;  // streams it may FETCH
  std::vector<std::string> calls;  // rpc services it may call
};
// "key=KEY reads=STREAM+… calls=SERVICE+…" (reads and calls may be left out).
Result<ClientGrant> parse_grant(std::string_view text);

// A producer on another host: this host takes the streams it owns from it
// alone, live from its PUB and by FETCH from its ROUTER, both
// authenticated by its key.
struct Peer {
  std::string publish;               // its PUB endpoint
  std::string replay;                // its ROUTER: where FETCH for its streams goes
  std::string key;                   // its CurveZMQ public key; required unless both endpoints are ipc://
  std::vector<std::string> streams;  // the streams it owns
};
// "publish=ENDPOINT replay=ENDPOINT key=KEY owns=STREAM+…".
Result<Peer> parse_peer(std::string_view text);

// CurveZMQ for every tcp endpoint (keys in Z85, 40 characters).
struct CurveOptions {
  std::string public_key;
  std::string secret_key;
  std::vector<ClientGrant> clients;  // the keys allowed to connect to our endpoints, and what they may do
  // During a key rotation (docs/bus.md, "Rotating a host's key"): the new
  // secret key, served on BusOptions::next_publish and next_replay beside
  // the current one. This host still connects to others with `secret_key`.
  std::string next_secret_key;
  bool enabled() const { return !secret_key.empty(); }
};

struct BusOptions {
  std::string publish = "inproc://ates-pub";    // where our PUB binds
  std::string replay = "inproc://ates-replay";  // where our ROUTER binds
  std::vector<Peer> peers;                      // the producers on other hosts
  // Where the new key's PUB and ROUTER bind during a rotation (a Curve
  // socket has one secret key, so the new key needs sockets of its own);
  // both tcp, both set exactly when curve.next_secret_key is.
  std::string next_publish;
  std::string next_replay;
  std::chrono::milliseconds heartbeat{1000};
  int send_hwm = 100000;
  int receive_hwm = 100000;     // per SUB socket; what it drops is fetched again
  std::size_t batch = 1000;     // events per FETCH and per applied batch at most
  std::size_t rpc_queue = 256;  // rpc requests waiting for the rpc thread; more are refused
  // Of those, at most this many from one caller (one key; this machine is
  // one caller), so one host's flood cannot take another's turn.
  std::size_t rpc_queue_per_caller = 64;
  // Undecodable frames from one source kept as dead letters per minute;
  // past that they are dropped and counted, so garbage cannot fill the disk.
  std::size_t garbage_letters_per_minute = 10;
  // Undecodable frames kept unresolved per consumer and stream in all, each
  // holding at most its first kGarbageBytesKept bytes: past that they are
  // dropped and counted, so even a slow trickle cannot fill the disk.
  std::size_t garbage_letters_kept = 1000;
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
  // Why the live feed is in doubt (an unknown epoch, a head below what was
  // applied), until the owner's replay server confirms it (halted) or
  // contradicts it; empty: no doubt. A heartbeat alone never halts.
  std::string suspect;
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
  // The new key's endpoints during a rotation, as bound; empty without one.
  std::string next_publish_endpoint() const;
  std::string next_replay_endpoint() const;
  // Refusals seen on our tcp endpoints: the ZAP handler's (an unknown
  // CurveZMQ client key) and failed handshakes (a plaintext peer); one
  // refused peer may count twice.
  std::uint64_t refused_connections() const;
  // What the bus dropped from other hosts because their key may not do it,
  // or because it was garbage past its cap: by source (a key, or an
  // endpoint for a local peer) and reason. Each (source, reason) is also
  // logged at most once a minute.
  struct Drop {
    std::string source;
    std::string reason;  // fetch_denied, call_denied, rpc_queue_full, foreign_stream, garbage_over_cap,
                         // malformed_request
    std::uint64_t count = 0;
  };
  std::vector<Drop> drops() const;

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
  // Calls `service` at `peer` ("ENDPOINT SERVER_KEY", the key required on
  // tcp; empty: this bus's own replay endpoint). No answer within `timeout`:
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
// At most `limit` of them numbered above `after` (a page), oldest first.
std::vector<DeadLetter> dead_letters(storage::Environment& env, std::string_view consumer,
                                     std::uint64_t after, std::size_t limit);
// Moves a consumer's checkpoint of `stream` back to "adopt the next epoch",
// after `applied_seq` (0: from the start). For after a producer's data was
// replaced; the consumer must not be running.
Status reset_consumer(storage::Environment& env, std::string_view stream, std::uint64_t applied_seq);

// A new CurveZMQ key pair (Z85): {public, secret}.
std::pair<std::string, std::string> generate_curve_keys();
// The public key of a CurveZMQ secret key (Z85), or nothing when it is not one.
std::optional<std::string> curve_public_key(std::string_view secret_key);

}  // namespace ates::bus
