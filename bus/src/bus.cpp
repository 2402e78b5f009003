// [SECTION] shared state and sockets
// [SECTION] publisher and replay server
// [SECTION] consumer
// [SECTION] dead letters, redrive, reset
// [SECTION] CurveZMQ: keys and the ZAP handler

#include "ates/bus/bus.hpp"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <sys/eventfd.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "ates/protocol/upcast.hpp"
#include "ates/storage/failpoint.hpp"

#include "wire.hpp"

namespace ates::bus {

using protocol::Code;
using protocol::Envelope;

std::string_view to_string(ConsumerState state) {
  switch (state) {
    case ConsumerState::kStarting:
      return "starting";
    case ConsumerState::kRunning:
      return "running";
    case ConsumerState::kStalled:
      return "stalled";
    case ConsumerState::kHalted:
      return "halted";
  }
  return "?";
}

// [SECTION] shared state and sockets --------------------------------------------

namespace {

struct DeadLetterRecord {
  std::string consumer;
  std::string stream;
  std::uint64_t seq = 0;
  std::string reason;
  std::int64_t time_us = 0;
  std::int64_t event_time_us = 0;
  std::string envelope;  // the bytes as received
  bool resolved = false;
  MSGPACK_DEFINE(consumer, stream, seq, reason, time_us, event_time_us, envelope, resolved)
};

constexpr std::string_view kDeadLetterTable = "dead_letters";

bool is_tcp(std::string_view endpoint) { return endpoint.starts_with("tcp://"); }

// Errors that are the event's fault (dead letter) rather than ours (stall).
bool is_domain_error(const Status& status) {
  switch (status.code()) {
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kConflict:
    case Code::kPermissionDenied:
      return true;
    default:
      return false;
  }
}

std::uint64_t next_dead_letter_number(MDB_txn* txn, const storage::RawTable& table) {
  MDB_cursor* cursor = nullptr;
  storage::check_lmdb(mdb_cursor_open(txn, table.dbi(), &cursor), "mdb_cursor_open");
  MDB_val key{}, value{};
  std::uint64_t last = 0;
  if (mdb_cursor_get(cursor, &key, &value, MDB_LAST) == 0) {
    last = storage::decode_key_u64({static_cast<const char*>(key.mv_data), key.mv_size});
  }
  mdb_cursor_close(cursor);
  return last + 1;
}

void add_dead_letter(storage::WriteTxn& txn, const storage::Table<DeadLetterRecord>& table,
                     DeadLetterRecord record) {
  record.time_us = txn.now_us();
  table.put(txn.handle(), storage::key_u64(next_dead_letter_number(txn.handle(), table.raw())), record);
}

DeadLetter to_dead_letter(std::uint64_t number, const DeadLetterRecord& r) {
  return {r.consumer + "-" + std::to_string(number),
          r.consumer,
          r.stream,
          r.seq,
          r.reason,
          r.time_us,
          r.event_time_us,
          r.resolved};
}

// How a batch runs its events through the handler.
enum class Isolation {
  kShared,  // all in the batch's transaction: no nested transaction to pay for
  kEach,    // each in a nested transaction, so a refused event leaves no writes
};

// Applies one event through the handler: Status of the handler, after
// decoding, validating and upcasting.
Status apply_one(storage::WriteTxn& txn, const EventHandler& handler, std::string_view bytes,
                 Isolation isolation, Envelope* decoded) {
  Result<Envelope> envelope = protocol::decode_event(bytes);
  if (!envelope) return envelope.status();
  if (decoded != nullptr) *decoded = *envelope;
  Result<Envelope> latest = protocol::upcast(std::move(envelope).value());
  if (!latest) return latest.status();
  if (isolation == Isolation::kShared) return handler(txn, *latest);
  return txn.nested([&](storage::WriteTxn& inner) { return handler(inner, *latest); });
}

}  // namespace

struct Consumer;

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
  std::thread publisher;
  std::thread zap;

  // rpc: requests from the ROUTER go to the rpc thread; its replies come
  // back through rpc_replies and the wake fd, since only the publisher
  // thread may touch the ROUTER.
  struct RpcRequest {
    zmq::message_t identity;
    std::string service;
    std::string call_id;
    std::string body;
  };
  std::mutex rpc_mutex;  // guards rpc_handlers, rpc_requests, rpc_replies
  std::condition_variable rpc_cv;
  std::map<std::string, std::shared_ptr<Bus::RpcHandler>, std::less<>> rpc_handlers;
  std::deque<RpcRequest> rpc_requests;
  std::deque<std::vector<zmq::message_t>> rpc_replies;
  std::string rpc_running;  // the service whose handler runs now, so unserve can wait for it
  std::condition_variable rpc_idle;
  std::thread rpc_thread;
  void rpc_loop();
  void send_rpc_replies(zmq::socket_t& router);
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
  void publisher_loop(zmq::socket_t& pub, zmq::socket_t& router);
  void publish_new(zmq::socket_t& pub);
  void send_heartbeats(zmq::socket_t& pub);
  void answer_fetch(zmq::socket_t& router);
  void zap_loop(zmq::socket_t& handler);
  void secure_server(zmq::socket_t& socket, std::string_view endpoint) const;
  std::string advertised_replay() const {
    return options.advertise_replay.empty() ? bound_replay : options.advertise_replay;
  }
};

void Bus::Impl::secure_server(zmq::socket_t& socket, std::string_view endpoint) const {
  if (!is_tcp(endpoint)) return;
  if (!options.curve.enabled()) {
    throw std::runtime_error("tcp endpoint " + std::string(endpoint) +
                             " needs CurveZMQ keys (bus.curve_secret_key; see `ates keys generate`)");
  }
  socket.set(zmq::sockopt::zap_domain, "ates");
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, options.curve.secret_key);
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 5000);
}

// Client side of an endpoint: Curve with the server's key on tcp.
static void secure_client(zmq::socket_t& socket, std::string_view endpoint, const std::string& server_key,
                          const CurveOptions& curve) {
  if (!is_tcp(endpoint)) return;
  if (!server_key.empty() && curve.enabled()) {
    socket.set(zmq::sockopt::curve_serverkey, server_key);
    socket.set(zmq::sockopt::curve_publickey, curve.public_key);
    socket.set(zmq::sockopt::curve_secretkey, curve.secret_key);
  }
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 5000);
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 5000);
}

// [SECTION] publisher and replay server ---------------------------------------------

// The storage writer calls on_commit holding its observers' lock, and
// on_commit takes streams_mutex: so add/remove_observer are never called
// with streams_mutex held (the other order would deadlock).
void Bus::add_producer(storage::Environment& env) {
  auto observer = std::make_unique<Impl::ProducerObserver>(*impl_, env);
  Impl::ProducerObserver* raw = observer.get();
  {
    std::lock_guard lock(impl_->streams_mutex);
    for (const auto& head : env.heads()) {
      impl_->streams[head.stream] = {&env, head, head.head_seq};
    }
    impl_->observers.push_back(std::move(observer));
  }
  env.add_observer(raw);
}

void Bus::remove_producer(storage::Environment& env) {
  std::vector<std::unique_ptr<Impl::ProducerObserver>> leaving;
  {
    std::lock_guard lock(impl_->streams_mutex);
    for (auto it = impl_->observers.begin(); it != impl_->observers.end();) {
      if (&(*it)->env == &env) {
        leaving.push_back(std::move(*it));
        it = impl_->observers.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& observer : leaving) env.remove_observer(observer.get());
  std::lock_guard lock(impl_->streams_mutex);
  std::erase_if(impl_->streams, [&](const auto& entry) { return entry.second.env == &env; });
}

void Bus::Impl::on_commit(storage::Environment& env, const storage::CommitInfo& info) {
  {
    std::lock_guard lock(streams_mutex);
    for (const auto& head : info.heads) {
      auto [it, inserted] = streams.try_emplace(head.stream, LocalStream{&env, head, 0});
      if (!inserted) it->second.head = head;
    }
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
}

void Bus::Impl::publish_new(zmq::socket_t& pub) {
  std::vector<std::pair<std::string, LocalStream>> due;
  {
    std::lock_guard lock(streams_mutex);
    for (auto& [name, stream] : streams) {
      if (stream.visible().head_seq > stream.last_sent) due.emplace_back(name, stream);
    }
  }
  for (auto& [name, stream] : due) {
    std::uint64_t sent = stream.last_sent;
    const std::uint64_t until = stream.visible().head_seq;
    while (sent < until) {
      storage::ReadTxn txn = stream.env->read();
      const auto entries =
          stream.env->read_outbox(txn, name, sent + 1, std::min<std::uint64_t>(options.batch, until - sent));
      if (entries.empty()) break;
      storage::failpoint(kFailBeforePublish);
      for (const auto& bytes : entries) {
        // A full send queue drops the frame (PUB never blocks); the consumer
        // sees the gap and fetches it: a drop is never final.
        pub.send(zmq::buffer(name), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        pub.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
      }
      sent += entries.size();
    }
    std::lock_guard lock(streams_mutex);
    if (auto it = streams.find(name); it != streams.end())
      it->second.last_sent = std::max(it->second.last_sent, sent);
  }
}

void Bus::Impl::send_heartbeats(zmq::socket_t& pub) {
  std::vector<storage::StreamHead> heads;
  {
    std::lock_guard lock(streams_mutex);
    for (const auto& [name, stream] : streams) heads.push_back(stream.visible());
  }
  for (const auto& head : heads) {
    std::string topic = head.stream;
    topic += wire::kHeartbeatSuffix;
    const wire::Heartbeat beat{
        head.epoch,          head.first_seq,
        head.head_seq,       head.watermark,
        advertised_replay(), is_tcp(advertised_replay()) ? options.curve.public_key : std::string()};
    pub.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    pub.send(zmq::buffer(wire::pack(beat)), zmq::send_flags::dontwait);
  }
}

void Bus::Impl::answer_fetch(zmq::socket_t& router) {
  for (;;) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(router, std::back_inserter(frames), zmq::recv_flags::dontwait)) return;
    if (frames.size() == 5 && frames[1].to_string_view() == wire::kRpcRequest) {
      {
        std::lock_guard lock(rpc_mutex);
        rpc_requests.push_back(
            {std::move(frames[0]), frames[2].to_string(), frames[3].to_string(), frames[4].to_string()});
      }
      rpc_cv.notify_one();
      continue;
    }
    if (frames.size() != 2) continue;  // not ours: ignore
    const auto request = wire::unpack<wire::FetchRequest>(frames[1].to_string_view());
    if (!request) continue;
    wire::FetchReply reply{.stream = request->stream, .status = "unknown", .from = request->from};
    std::vector<std::string> entries;
    storage::Environment* env = nullptr;
    // The head the bus was told of by on_commit, the one heartbeats carry,
    // never the environment's own: a commit is readable before its observer
    // runs, and a reply serving it followed by a heartbeat of the older head
    // would tell the consumer the log ends below what it applied, which it
    // must take for a restored producer (it halts).
    std::optional<storage::StreamHead> head;
    {
      std::lock_guard lock(streams_mutex);
      if (auto it = streams.find(request->stream); it != streams.end()) {
        env = it->second.env;
        head = it->second.visible();
      }
    }
    if (env != nullptr) {
      if (head) {
        reply.epoch = head->epoch;
        reply.first_seq = head->first_seq;
        reply.head_seq = head->head_seq;
        reply.watermark = head->watermark;
        if (head->first_seq > 1 && request->from < head->first_seq) {
          reply.status = "truncated";
        } else {
          reply.status = "ok";
          storage::ReadTxn txn = env->read();
          const std::uint64_t from = std::max<std::uint64_t>(request->from, 1);
          const std::uint64_t visible = head->head_seq >= from ? head->head_seq - from + 1 : 0;
          if (visible > 0) {
            entries = env->read_outbox(txn, request->stream, from,
                                       std::min<std::uint64_t>({request->max, options.batch, visible}));
          }
        }
        if (env->options().retention_keep_last && request->from > 1 && !request->consumer.empty()) {
          env->submit(
              [stream = request->stream, consumer = request->consumer,
               seq = request->from - 1](storage::WriteTxn& txn) {
                txn.record_consumer_checkpoint(stream, consumer, seq);
                return Status::ok();
              },
              [](Status) {});
        }
      }
    }
    router.send(frames[0], zmq::send_flags::sndmore);
    router.send(zmq::buffer(wire::pack(reply)),
                entries.empty() ? zmq::send_flags::none : zmq::send_flags::sndmore);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      router.send(zmq::buffer(entries[i]),
                  i + 1 < entries.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
}

void Bus::Impl::publisher_loop(zmq::socket_t& pub, zmq::socket_t& router) {
  using Clock = std::chrono::steady_clock;
  // Failed handshakes on our tcp endpoints (a plaintext peer, a bad Curve
  // key) never reach ZAP when the mechanisms differ: a socket monitor
  // reports them, so every refusal is logged and counted.
  constexpr int kHandshakeFailures = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  std::vector<zmq::socket_t> monitors;
  int monitor_count = 0;
  for (zmq::socket_t* socket : {&pub, &router}) {
    const std::string endpoint = socket == &pub ? bound_publish : bound_replay;
    if (!is_tcp(endpoint)) continue;
    const std::string address = "inproc://ates-monitor-" + std::to_string(++monitor_count) + "-" +
                                std::to_string(reinterpret_cast<std::uintptr_t>(this));
    zmq_socket_monitor(socket->handle(), address.c_str(), kHandshakeFailures);
    zmq::socket_t monitor(context, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(address);
    monitors.push_back(std::move(monitor));
  }
  auto next_heartbeat = Clock::now();
  while (!stopping.load()) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_heartbeat - Clock::now());
    std::vector<zmq::pollitem_t> items = {{router.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, wake_fd, ZMQ_POLLIN, 0}};
    for (auto& monitor : monitors) items.push_back({monitor.handle(), 0, ZMQ_POLLIN, 0});
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(std::clamp<long>(wait.count(), 0, 100)));
    for (std::size_t i = 0; i < monitors.size(); ++i) {
      if (!(items[2 + i].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> event;
      if (!zmq::recv_multipart(monitors[i], std::back_inserter(event), zmq::recv_flags::dontwait)) continue;
      ++refused;
      std::fprintf(stderr, "bus: refused a connection to %s (handshake failed: plaintext or wrong keys)\n",
                   event.size() > 1 ? event[1].to_string().c_str() : "?");
    }
    if (items[1].revents & ZMQ_POLLIN) {
      std::uint64_t count = 0;
      [[maybe_unused]] auto n = ::read(wake_fd, &count, sizeof count);
    }
    publish_new(pub);  // cheap when nothing is due
    if (items[0].revents & ZMQ_POLLIN) answer_fetch(router);
    send_rpc_replies(router);
    if (Clock::now() >= next_heartbeat) {
      send_heartbeats(pub);
      next_heartbeat = Clock::now() + options.heartbeat;
    }
  }
}

// [SECTION] consumer --------------------------------------------------------------

struct Consumer {
  ConsumerSpec spec;
  Bus::Impl& bus;
  storage::Table<DeadLetterRecord> dead_letters;
  std::atomic<bool> stop{false};
  std::thread thread;

  mutable std::mutex status_mutex;  // guards status and pairs
  ConsumerStatus status;
  std::deque<std::pair<std::uint64_t, std::int64_t>> pairs;  // recent (head_seq, watermark)

  // Owned by the consumer thread only:
  std::uint64_t applied = 0;
  std::string epoch;                             // of the checkpoint; empty: adopt the next one
  std::map<std::uint64_t, std::string> pending;  // received, not yet applied
  std::uint64_t known_head = 0;
  bool fetch_wanted = true;     // the first FETCH says where the stream stands
  std::string replay_endpoint;  // where FETCH goes
  std::string replay_key;
  bool fetch_inflight = false;
  std::chrono::steady_clock::time_point fetch_sent;
  std::chrono::steady_clock::time_point retry_after;
  std::chrono::milliseconds backoff{0};

  static constexpr std::size_t kMaxPending = 200'000;

  Consumer(ConsumerSpec s, Bus::Impl& b)
      : spec(std::move(s)), bus(b), dead_letters(spec.env->table<DeadLetterRecord>(kDeadLetterTable)) {
    status.consumer = spec.consumer;
    status.stream = spec.stream;
  }

  void set_state(ConsumerState state, std::string error = {}) {
    std::lock_guard lock(status_mutex);
    status.state = state;
    status.error = std::move(error);
    status.applied_seq = applied;
    status.head_seq = std::max(status.head_seq, known_head);
  }

  bool halted() const {
    std::lock_guard lock(status_mutex);
    return status.state == ConsumerState::kHalted;
  }

  void halt(const std::string& why) { set_state(ConsumerState::kHalted, why); }

  void record_pair(std::uint64_t head, std::int64_t watermark) {
    known_head = std::max(known_head, head);
    std::lock_guard lock(status_mutex);
    pairs.emplace_back(head, watermark);
    if (pairs.size() > 256) pairs.pop_front();
    status.head_seq = std::max(status.head_seq, head);
    status.watermark = std::max(status.watermark, watermark);
  }

  // A different epoch means the producer's log was replaced: never apply
  // from it silently.
  bool check_epoch(const std::string& seen) {
    if (seen.empty() || epoch.empty() || seen == epoch) return true;
    halt("stream " + spec.stream + " changed epoch from " + epoch + " to " + seen +
         ": the producer's data was replaced or restored; check, then run `ates events reset-consumer " +
         spec.consumer + " " + spec.stream + "`");
    return false;
  }

  void on_event(std::string bytes) {
    if (halted()) return;  // nothing will be applied; do not buffer it
    auto envelope = protocol::decode_envelope(bytes);
    if (!envelope) {
      // Too broken to place in the stream: keep it for the operator; the
      // stream itself goes on (the outbox only holds valid events).
      record_garbage(std::move(bytes), envelope.status().message());
      return;
    }
    if (envelope->stream != spec.stream) return;
    if (!check_epoch(envelope->stream_epoch)) return;
    if (envelope->seq <= applied || pending.size() >= kMaxPending) return;
    pending.emplace(envelope->seq, std::move(bytes));
  }

  void record_garbage(std::string bytes, const std::string& reason) {
    spec.env->run([&](storage::WriteTxn& txn) {
      add_dead_letter(
          txn, dead_letters,
          {spec.consumer, spec.stream, 0, "undecodable frame: " + reason, 0, 0, std::move(bytes), false});
      return Status::ok();
    });
  }

  // A producer whose log ends below what we applied, in the same epoch,
  // was restored from an older copy: its next events would reuse sequence
  // numbers we already applied, and dropping them as duplicates would lose
  // them silently. Halt instead.
  bool check_not_behind(const std::string& seen_epoch, std::uint64_t head) {
    if (epoch.empty() || seen_epoch != epoch || head >= applied) return true;
    halt("stream " + spec.stream + " ends at " + std::to_string(head) + " but " + spec.consumer +
         " applied up to " + std::to_string(applied) +
         " in the same epoch: the producer's data was restored from an older copy; check, " +
         "then run `ates events reset-consumer " + spec.consumer + " " + spec.stream + "`");
    return false;
  }

  void on_heartbeat(std::string_view bytes) {
    const auto beat = wire::unpack<wire::Heartbeat>(bytes);
    if (!beat || !check_epoch(beat->epoch) || !check_not_behind(beat->epoch, beat->head_seq)) return;
    if (!beat->replay.empty()) {
      replay_endpoint = beat->replay;
      replay_key = beat->server_key;
    }
    record_pair(beat->head_seq, beat->watermark);
  }

  void on_fetch_reply(std::vector<zmq::message_t>& frames) {
    fetch_inflight = false;
    if (frames.empty()) return;
    const auto reply = wire::unpack<wire::FetchReply>(frames[0].to_string_view());
    if (!reply || reply->stream != spec.stream) return;
    if (reply->status == "unknown") return;  // not produced there (yet); a heartbeat will say where
    if (!check_epoch(reply->epoch)) return;
    if (reply->status == "truncated") {
      halt("stream " + spec.stream + " keeps entries from " + std::to_string(reply->first_seq) + " on, but " +
           spec.consumer + " needs " + std::to_string(applied + 1) +
           " (TRUNCATED): events were deleted before this consumer applied them; never skipped silently");
      return;
    }
    if (!check_not_behind(reply->epoch, reply->head_seq)) return;
    record_pair(reply->head_seq, reply->watermark);
    for (std::size_t i = 1; i < frames.size(); ++i) {
      const std::uint64_t seq = reply->from + (i - 1);
      if (seq > applied) pending.insert_or_assign(seq, frames[i].to_string());  // the outbox is authoritative
    }
  }

  // Applies the run of pending events that follows the checkpoint, in one
  // transaction; returns false when it stalled.
  bool apply_ready() {
    while (!pending.empty() && pending.begin()->first <= applied) pending.erase(pending.begin());
    while (!pending.empty() && pending.begin()->first == applied + 1) {
      if (std::chrono::steady_clock::now() < retry_after) return false;
      std::vector<std::pair<std::uint64_t, std::string*>> run;
      for (auto it = pending.begin();
           it != pending.end() && it->first == applied + 1 + run.size() && run.size() < bus.options.batch;
           ++it) {
        run.emplace_back(it->first, &it->second);
      }
      // Almost every batch is accepted whole, so it first runs with its
      // events sharing the batch's transaction. The first refusal rolls it
      // back, and it runs again with each event isolated, so the refused
      // one leaves nothing but its dead letter. (An LMDB nested transaction
      // allocates its dirty list: one per event is most of a batch's cost.)
      std::string batch_epoch = epoch;
      Isolation isolation = Isolation::kShared;
      bool refused_while_shared = false;
      auto apply_run = [&](storage::WriteTxn& txn) -> Status {
        std::string adopted = batch_epoch;
        std::size_t index = 0;
        for (const auto& [seq, bytes] : run) {
          if (++index == run.size() / 2 + 1) storage::failpoint(kFailMidBatchApply);
          Envelope decoded;
          const Status applied_status = apply_one(txn, spec.handler, *bytes, isolation, &decoded);
          if (adopted.empty() && !decoded.stream_epoch.empty()) adopted = decoded.stream_epoch;
          if (applied_status) continue;
          if (!is_domain_error(applied_status)) return applied_status;  // ours, not the event's: stall
          if (isolation == Isolation::kShared) {
            refused_while_shared = true;
            return {Code::kConflict, "a refused event: the batch runs again, each event isolated"};
          }
          add_dead_letter(
              txn, dead_letters,
              {spec.consumer, spec.stream, seq, applied_status.message(), 0, decoded.time_us, *bytes, false});
        }
        batch_epoch = adopted;
        return txn.advance_checkpoint(spec.stream, adopted, run.back().first);
      };
      Status status = spec.env->run(apply_run);
      if (refused_while_shared) {
        isolation = Isolation::kEach;
        status = spec.env->run(apply_run);
      }
      if (!status) {
        backoff = std::min<std::chrono::milliseconds>(
            std::max<std::chrono::milliseconds>(backoff * 2, std::chrono::milliseconds(50)),
            std::chrono::milliseconds(5000));
        retry_after = std::chrono::steady_clock::now() + backoff;
        set_state(ConsumerState::kStalled, status.to_string());
        return false;
      }
      backoff = std::chrono::milliseconds(0);
      epoch = batch_epoch;
      applied = run.back().first;
      for (const auto& [seq, bytes] : run) pending.erase(seq);
      set_state(ConsumerState::kRunning);
    }
    return true;
  }

  bool needs_fetch() const {
    if (fetch_inflight) return std::chrono::steady_clock::now() - fetch_sent > std::chrono::seconds(2);
    if (fetch_wanted) return true;
    if (!pending.empty()) return pending.begin()->first > applied + 1;  // a gap
    return known_head > applied;                                        // a lost tail, or catching up
  }

  void run();
};

void Consumer::run() {
  try {
    // Where we stand: the checkpoint committed with our state.
    {
      storage::ReadTxn txn = spec.env->read();
      if (auto checkpoint = spec.env->checkpoint(txn, spec.stream)) {
        applied = checkpoint->applied_seq;
        epoch = checkpoint->epoch;
      }
    }
    std::vector<zmq::socket_t> subs;
    auto add_sub = [&](const std::string& endpoint, const std::string& server_key) {
      zmq::socket_t sub(bus.context, zmq::socket_type::sub);
      sub.set(zmq::sockopt::linger, 0);
      sub.set(zmq::sockopt::rcvhwm, 0);
      secure_client(sub, endpoint, server_key, bus.options.curve);
      sub.set(zmq::sockopt::subscribe, spec.stream);  // events and heartbeats of the stream
      sub.connect(endpoint);
      subs.push_back(std::move(sub));
    };
    // Subscribe first, then fetch (the clone pattern's order: nothing
    // published after the fetch's snapshot can fall between the two).
    add_sub(bus.bound_publish, bus.options.curve.public_key);
    for (const auto& peer : bus.options.peers) {
      const auto space = peer.find(' ');
      add_sub(peer.substr(0, space), space == std::string::npos ? std::string() : peer.substr(space + 1));
    }
    std::map<std::string, zmq::socket_t> dealers;
    auto dealer_for = [&](const std::string& endpoint, const std::string& key) -> zmq::socket_t& {
      auto it = dealers.find(endpoint);
      if (it == dealers.end()) {
        zmq::socket_t dealer(bus.context, zmq::socket_type::dealer);
        dealer.set(zmq::sockopt::linger, 0);
        secure_client(dealer, endpoint, key, bus.options.curve);
        dealer.connect(endpoint);
        it = dealers.emplace(endpoint, std::move(dealer)).first;
      }
      return it->second;
    };
    replay_endpoint = bus.bound_replay;
    replay_key = bus.options.curve.public_key;
    dealer_for(replay_endpoint, replay_key);
    set_state(ConsumerState::kRunning);

    while (!stop.load()) {
      std::vector<zmq::pollitem_t> items;
      for (auto& sub : subs) items.push_back({sub.handle(), 0, ZMQ_POLLIN, 0});
      std::vector<zmq::socket_t*> dealer_list;
      for (auto& [endpoint, dealer] : dealers) {
        items.push_back({dealer.handle(), 0, ZMQ_POLLIN, 0});
        dealer_list.push_back(&dealer);
      }
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(20));
      for (std::size_t i = 0; i < subs.size(); ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        for (int n = 0; n < 10000; ++n) {
          std::vector<zmq::message_t> frames;
          if (!zmq::recv_multipart(subs[i], std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
          if (frames.size() != 2) continue;
          const std::string_view topic = frames[0].to_string_view();
          if (topic.size() == spec.stream.size() + wire::kHeartbeatSuffix.size() &&
              topic.starts_with(spec.stream) && topic.ends_with(wire::kHeartbeatSuffix)) {
            on_heartbeat(frames[1].to_string_view());
          } else if (topic == spec.stream) {
            on_event(frames[1].to_string());
          }
        }
      }
      for (std::size_t i = 0; i < dealer_list.size(); ++i) {
        if (!(items[subs.size() + i].revents & ZMQ_POLLIN)) continue;
        std::vector<zmq::message_t> frames;
        while (zmq::recv_multipart(*dealer_list[i], std::back_inserter(frames), zmq::recv_flags::dontwait)) {
          on_fetch_reply(frames);
          frames.clear();
        }
      }
      if (halted()) continue;
      apply_ready();
      if (needs_fetch() && std::chrono::steady_clock::now() >= retry_after) {
        const wire::FetchRequest request{spec.stream, applied + 1, bus.options.batch, spec.consumer};
        dealer_for(replay_endpoint, replay_key)
            .send(zmq::buffer(wire::pack(request)), zmq::send_flags::dontwait);
        fetch_inflight = true;
        fetch_wanted = false;
        fetch_sent = std::chrono::steady_clock::now();
      }
    }
  } catch (const std::exception& e) {
    halt(std::string("consumer failed: ") + e.what());
  }
}

Status Bus::add_consumer(ConsumerSpec spec) {
  std::lock_guard lock(impl_->consumers_mutex);
  for (const auto& consumer : impl_->consumers) {
    if (consumer->spec.consumer == spec.consumer && consumer->spec.stream == spec.stream) {
      return {Code::kConflict, spec.consumer + " already consumes " + spec.stream};
    }
  }
  auto consumer = std::make_shared<Consumer>(std::move(spec), *impl_);
  Consumer* raw = consumer.get();
  consumer->thread = std::thread([raw] { raw->run(); });
  impl_->consumers.push_back(std::move(consumer));
  return Status::ok();
}

void Bus::remove_consumers(std::string_view name) {
  std::vector<std::shared_ptr<Consumer>> leaving;
  {
    std::lock_guard lock(impl_->consumers_mutex);
    for (auto it = impl_->consumers.begin(); it != impl_->consumers.end();) {
      if ((*it)->spec.consumer == name) {
        leaving.push_back(std::move(*it));
        it = impl_->consumers.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& consumer : leaving) consumer->stop = true;
  // A consumer stops between batches: its transaction is never cut short.
  for (auto& consumer : leaving) consumer->thread.join();
}

std::vector<ConsumerStatus> Bus::consumers() const {
  std::lock_guard lock(impl_->consumers_mutex);
  std::vector<ConsumerStatus> out;
  for (const auto& consumer : impl_->consumers) {
    std::lock_guard status_lock(consumer->status_mutex);
    out.push_back(consumer->status);
  }
  return out;
}

std::vector<storage::StreamHead> Bus::local_streams() const {
  std::lock_guard lock(impl_->streams_mutex);
  std::vector<storage::StreamHead> out;
  for (const auto& [name, stream] : impl_->streams) out.push_back(stream.head);
  return out;
}

std::string Bus::publish_endpoint() const { return impl_->bound_publish; }
std::string Bus::replay_endpoint() const { return impl_->bound_replay; }
std::uint64_t Bus::refused_connections() const { return impl_->refused.load(); }

Status Bus::hold(std::string_view stream, bool held) {
  std::lock_guard lock(impl_->streams_mutex);
  auto it = impl_->streams.find(stream);
  if (it == impl_->streams.end()) {
    return Status(Code::kNotFound, "no local stream " + std::string(stream) + " has committed anything yet");
  }
  if (held && !it->second.held) it->second.held = it->second.head;
  if (!held) it->second.held.reset();
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(impl_->wake_fd, &one, sizeof one);  // a release publishes at once
  return Status::ok();
}

bool Bus::complete_up_to(std::string_view consumer, std::string_view stream, std::int64_t time_us) const {
  std::lock_guard lock(impl_->consumers_mutex);
  for (const auto& c : impl_->consumers) {
    if (c->spec.consumer != consumer || c->spec.stream != stream) continue;
    std::lock_guard status_lock(c->status_mutex);
    for (const auto& [head, watermark] : c->pairs) {
      if (watermark >= time_us && c->status.applied_seq >= head) return true;
    }
  }
  return false;
}

// [SECTION] dead letters, redrive, reset ------------------------------------------------

std::vector<DeadLetter> dead_letters(storage::Environment& env, std::string_view consumer) {
  auto table = env.table<DeadLetterRecord>(kDeadLetterTable);
  storage::ReadTxn txn = env.read();
  std::vector<DeadLetter> out;
  table.scan(txn.handle(), {}, [&](std::string_view key, DeadLetterRecord record) {
    if (consumer.empty() || record.consumer == consumer)
      out.push_back(to_dead_letter(storage::decode_key_u64(key), record));
    return true;
  });
  return out;
}

Result<DeadLetter> Bus::redrive(std::string_view id) {
  const auto dash = id.rfind('-');
  if (dash == std::string_view::npos)
    return Status(Code::kInvalidArgument, "a dead letter id is <consumer>-<number>");
  const std::string consumer_name(id.substr(0, dash));
  std::uint64_t number = 0;
  for (char c : id.substr(dash + 1)) {
    if (c < '0' || c > '9') return Status(Code::kInvalidArgument, "a dead letter id is <consumer>-<number>");
    number = number * 10 + static_cast<std::uint64_t>(c - '0');
  }
  std::vector<std::shared_ptr<Consumer>> candidates;
  {
    std::lock_guard lock(impl_->consumers_mutex);
    for (const auto& c : impl_->consumers) {
      if (c->spec.consumer == consumer_name) candidates.push_back(c);
    }
  }
  if (candidates.empty()) return Status(Code::kNotFound, "no consumer " + consumer_name + " runs here");
  storage::Environment& env = *candidates.front()->spec.env;
  auto table = candidates.front()->dead_letters;
  DeadLetter result;
  const Status status = env.run([&](storage::WriteTxn& txn) -> Status {
    auto record = table.get(txn.handle(), storage::key_u64(number));
    if (!record) return {Code::kNotFound, "no dead letter " + std::string(id)};
    if (record->resolved)
      return {Code::kConflict, "dead letter " + std::string(id) + " was re-driven already"};
    const auto consumer =
        std::find_if(candidates.begin(), candidates.end(),
                     [&](const std::shared_ptr<Consumer>& c) { return c->spec.stream == record->stream; });
    if (consumer == candidates.end())
      return {Code::kNotFound, consumer_name + " does not consume " + record->stream};
    if (Status applied =
            apply_one(txn, (*consumer)->spec.handler, record->envelope, Isolation::kShared, nullptr);
        !applied) {
      return {applied.code(), "re-drive of " + std::string(id) + " failed: " + applied.message()};
    }
    record->resolved = true;
    table.put(txn.handle(), storage::key_u64(number), *record);
    result = to_dead_letter(number, *record);
    return Status::ok();
  });
  if (!status) return status;
  return result;
}

Status reset_consumer(storage::Environment& env, std::string_view stream, std::uint64_t applied_seq) {
  return env.run([&](storage::WriteTxn& txn) {
    txn.reset_checkpoint(stream, applied_seq);
    return Status::ok();
  });
}

// [SECTION] CurveZMQ: keys and the ZAP handler ----------------------------------------------

std::pair<std::string, std::string> generate_curve_keys() {
  char public_key[41] = {};
  char secret_key[41] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    throw std::runtime_error("libzmq was built without CurveZMQ");
  return {public_key, secret_key};
}

void Bus::Impl::zap_loop(zmq::socket_t& handler) {
  // RFC 27 (ZAP): libzmq asks here for every connection to a Curve server.
  while (!stopping.load()) {
    zmq::pollitem_t item{handler.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    std::vector<zmq::message_t> request;
    if (!zmq::recv_multipart(handler, std::back_inserter(request))) continue;
    // version, request id, domain, address, identity, mechanism, credentials...
    std::string status = "400";
    std::string text = "refused";
    std::string user;
    if (request.size() >= 7 && request[5].to_string_view() == "CURVE" && request[6].size() == 32) {
      char z85[41] = {};
      zmq_z85_encode(z85, static_cast<const std::uint8_t*>(request[6].data()), 32);
      user = z85;
      const auto& allowed = options.curve.allowed_clients;
      // A host's own key is always allowed: its consumers read its streams.
      if (user == options.curve.public_key ||
          std::find(allowed.begin(), allowed.end(), user) != allowed.end()) {
        status = "200";
        text = "OK";
      }
    }
    if (status != "200") {
      ++refused;
      std::fprintf(stderr, "bus: refused a connection from %s (client key %s)\n",
                   request.size() > 3 ? request[3].to_string().c_str() : "?",
                   user.empty() ? "none" : user.c_str());
    }
    const std::string version = request.empty() ? "1.0" : request[0].to_string();
    const std::string id = request.size() > 1 ? request[1].to_string() : "";
    handler.send(zmq::buffer(version), zmq::send_flags::sndmore);
    handler.send(zmq::buffer(id), zmq::send_flags::sndmore);
    handler.send(zmq::buffer(status), zmq::send_flags::sndmore);
    handler.send(zmq::buffer(text), zmq::send_flags::sndmore);
    handler.send(zmq::buffer(user), zmq::send_flags::sndmore);
    handler.send(zmq::str_buffer(""), zmq::send_flags::none);
  }
}

// [SECTION] rpc ------------------------------------------------------------------------------

void Bus::Impl::rpc_loop() {
  std::unique_lock lock(rpc_mutex);
  while (!stopping.load()) {
    rpc_cv.wait_for(lock, std::chrono::milliseconds(100),
                    [&] { return stopping.load() || !rpc_requests.empty(); });
    if (rpc_requests.empty()) continue;
    RpcRequest request = std::move(rpc_requests.front());
    rpc_requests.pop_front();
    std::shared_ptr<Bus::RpcHandler> handler;
    if (auto it = rpc_handlers.find(request.service); it != rpc_handlers.end()) handler = it->second;
    rpc_running = request.service;
    lock.unlock();
    Result<std::string> answer = Status(Code::kUnavailable, "no service " + request.service + " here");
    if (handler) {
      try {
        answer = (*handler)(request.body);
      } catch (const std::exception& e) {
        answer = Status(Code::kInternal, std::string("rpc handler threw: ") + e.what());
      }
    }
    std::vector<zmq::message_t> reply;
    reply.push_back(std::move(request.identity));
    reply.emplace_back(wire::kRpcReply.data(), wire::kRpcReply.size());
    reply.emplace_back(request.call_id.data(), request.call_id.size());
    const std::string code = answer ? "ok" : std::string(protocol::to_string(answer.status().code()));
    const std::string body = answer ? *answer : answer.status().message();
    reply.emplace_back(code.data(), code.size());
    reply.emplace_back(body.data(), body.size());
    handler.reset();  // the handler's code may be unloaded once unserve returns
    lock.lock();
    rpc_running.clear();
    rpc_idle.notify_all();
    rpc_replies.push_back(std::move(reply));
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }
}

void Bus::Impl::send_rpc_replies(zmq::socket_t& router) {
  std::deque<std::vector<zmq::message_t>> replies;
  {
    std::lock_guard lock(rpc_mutex);
    replies.swap(rpc_replies);
  }
  for (auto& reply : replies) {
    for (std::size_t i = 0; i < reply.size(); ++i) {
      router.send(reply[i], i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
}

void Bus::serve(std::string service, RpcHandler handler) {
  std::lock_guard lock(impl_->rpc_mutex);
  impl_->rpc_handlers[std::move(service)] = std::make_shared<RpcHandler>(std::move(handler));
}

void Bus::unserve(std::string_view service) {
  std::unique_lock lock(impl_->rpc_mutex);
  if (auto it = impl_->rpc_handlers.find(service); it != impl_->rpc_handlers.end())
    impl_->rpc_handlers.erase(it);
  // A call already running finishes first (and drops its copy of the
  // handler): after this, no code of the handler runs, and its plugin may
  // be unloaded.
  impl_->rpc_idle.wait(lock, [&] { return impl_->rpc_running != service; });
}

Result<std::string> Bus::call(const std::string& peer, const std::string& service, std::string_view request,
                              std::chrono::milliseconds timeout) {
  std::shared_ptr<Impl::Caller> caller;
  {
    std::lock_guard lock(impl_->callers_mutex);
    auto& slot = impl_->callers[peer];
    if (!slot) slot = std::make_shared<Impl::Caller>();
    caller = slot;
  }
  std::lock_guard lock(caller->mutex);
  try {
    if (!caller->dealer) {
      const auto space = peer.find(' ');
      const std::string endpoint = peer.empty() ? impl_->bound_replay : peer.substr(0, space);
      const std::string key = peer.empty()                 ? impl_->options.curve.public_key
                              : space == std::string::npos ? std::string()
                                                           : peer.substr(space + 1);
      zmq::socket_t dealer(impl_->context, zmq::socket_type::dealer);
      dealer.set(zmq::sockopt::linger, 0);
      secure_client(dealer, endpoint, key, impl_->options.curve);
      dealer.connect(endpoint);
      caller->dealer = std::move(dealer);
    }
    const std::string call_id = std::to_string(++caller->next_id);
    // A peer that stays away fills the send queue; then a send waits at
    // most the call's timeout instead of blocking its caller for good.
    caller->dealer->set(zmq::sockopt::sndtimeo, static_cast<int>(timeout.count()));
    if (!caller->dealer->send(zmq::buffer(wire::kRpcRequest), zmq::send_flags::sndmore)) {
      return Status(Code::kUnavailable,
                    "rpc " + service + ": cannot send to " + (peer.empty() ? "this host" : peer));
    }
    caller->dealer->send(zmq::buffer(service), zmq::send_flags::sndmore);
    caller->dealer->send(zmq::buffer(call_id), zmq::send_flags::sndmore);
    caller->dealer->send(zmq::buffer(request.data(), request.size()), zmq::send_flags::none);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      zmq::pollitem_t item{caller->dealer->handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, left);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(*caller->dealer, std::back_inserter(frames), zmq::recv_flags::dontwait))
        continue;
      if (frames.size() != 4 || frames[0].to_string_view() != wire::kRpcReply) continue;
      if (frames[1].to_string_view() != call_id) continue;  // the late answer of an earlier call
      if (frames[2].to_string_view() == "ok") return frames[3].to_string();
      return Status(protocol::code_from_string(frames[2].to_string_view()), frames[3].to_string());
    }
  } catch (const std::exception& e) {
    caller->dealer.reset();
    return Status(Code::kUnavailable, std::string("rpc ") + service + ": " + e.what());
  }
  return Status(Code::kUnavailable,
                "rpc " + service + ": no answer within " + std::to_string(timeout.count()) + " ms");
}

// [SECTION] start and stop ------------------------------------------------------------------

Bus::Bus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Bus>> Bus::start(BusOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  Impl* raw = impl.get();
  if (raw->options.curve.enabled()) {
    // Bound before any Curve socket exists: with no handler bound, libzmq
    // would admit any client that knows our public key.
    auto handler = std::make_shared<zmq::socket_t>(raw->context, zmq::socket_type::rep);
    handler->set(zmq::sockopt::linger, 0);
    handler->bind("inproc://zeromq.zap.01");
    raw->zap = std::thread([raw, handler] { raw->zap_loop(*handler); });
  }
  // Bind on this thread so errors (a port in use, missing keys) are values;
  // then hand the sockets to the publisher thread, which alone uses them.
  auto pub = std::make_shared<zmq::socket_t>(raw->context, zmq::socket_type::pub);
  auto router = std::make_shared<zmq::socket_t>(raw->context, zmq::socket_type::router);
  try {
    for (auto* socket : {pub.get(), router.get()}) socket->set(zmq::sockopt::linger, 0);
    pub->set(zmq::sockopt::sndhwm, raw->options.send_hwm);
    router->set(zmq::sockopt::router_mandatory, 0);
    raw->secure_server(*pub, raw->options.publish);
    raw->secure_server(*router, raw->options.replay);
    pub->bind(raw->options.publish);
    router->bind(raw->options.replay);
    raw->bound_publish = pub->get(zmq::sockopt::last_endpoint);
    raw->bound_replay = router->get(zmq::sockopt::last_endpoint);
  } catch (const std::exception& e) {
    raw->stopping = true;
    if (raw->zap.joinable()) raw->zap.join();
    ::close(raw->wake_fd);
    return Status(Code::kUnavailable, std::string("bus: ") + e.what());
  }
  raw->publisher = std::thread([raw, pub, router] { raw->publisher_loop(*pub, *router); });
  raw->rpc_thread = std::thread([raw] { raw->rpc_loop(); });
  return std::unique_ptr<Bus>(new Bus(std::move(impl)));
}

Bus::~Bus() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(impl_->consumers_mutex);
    for (const auto& c : impl_->consumers) names.push_back(c->spec.consumer);
  }
  for (const auto& name : names) remove_consumers(name);
  std::vector<std::unique_ptr<Impl::ProducerObserver>> observers;
  {
    std::lock_guard lock(impl_->streams_mutex);
    observers.swap(impl_->observers);
  }
  for (auto& observer : observers) observer->env.remove_observer(observer.get());
  impl_->stopping = true;
  impl_->rpc_cv.notify_all();
  if (impl_->rpc_thread.joinable()) impl_->rpc_thread.join();
  if (impl_->publisher.joinable()) impl_->publisher.join();
  if (impl_->zap.joinable()) impl_->zap.join();
  {
    std::lock_guard lock(impl_->callers_mutex);
    impl_->callers.clear();  // their sockets close before the context
  }
  ::close(impl_->wake_fd);
}

}  // namespace ates::bus
