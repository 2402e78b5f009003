// A consumer: one thread per (consumer, stream), with a SUB socket for this
// host's publisher and one for the stream's owner on another host (its
// configured peer, authenticated by its key), and a DEALER to the one replay
// server it fetches from: the owner's, or this host's.
// Events are buffered by sequence and applied in order, each batch in one
// transaction of the consumer's environment that also moves its checkpoint:
// exactly once in its own state. A gap, a lost tail or a restart is filled
// by FETCH from the owner's outbox. A changed epoch, a producer behind
// what was applied, or a truncated log halts the consumer: never a silent
// skip. Also the re-drive of a dead letter, which runs a consumer's handler.
// (Over 500 lines: the life of one stream's consumer, from the buffer
// through gaps, suspicion and halts, is one state machine, read top to
// bottom.)
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <deque>

#include <zmq_addon.hpp>

#include "ates/base/failpoint.hpp"
#include "ates/protocol/upcast.hpp"

#include "bus_impl.hpp"
#include "dead_letters.hpp"
#include "wire.hpp"

namespace ates::bus {

using base::Code;
using protocol::Envelope;

namespace {

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
  std::string replay_endpoint;  // where FETCH goes: the owner's configured replay=, or ours
  std::string replay_key;
  // Undecodable frames kept as dead letters per source in this minute.
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, std::size_t>> garbage_kept;
  std::size_t garbage_held = 0;  // our unresolved undecodable letters in the store (counted at start)
  bool fetch_inflight = false;
  std::chrono::steady_clock::time_point fetch_sent;
  std::chrono::steady_clock::time_point fetch_retry_after;  // a refused or doubtful FETCH asks again then
  std::chrono::steady_clock::time_point apply_retry_after;  // a stalled batch runs again then
  std::chrono::milliseconds backoff{0};                     // of the stalled batch

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

  // Where a claim about the stream came from: the live feed (an event or a
  // heartbeat on the owner's PUB) only makes the stream suspect; the owner's
  // replay server, answering our own FETCH, confirms it.
  enum class Word { kFeed, kReplay };

  // Doubts what the feed said, until the owner's replay server confirms
  // (and the consumer halts) or contradicts it (and the doubt goes).
  // Logged, and a FETCH asked for, only when the doubt begins: a flood of
  // bad frames costs one line and one FETCH per reply.
  void suspect(const std::string& why) {
    std::lock_guard lock(status_mutex);
    const bool began = status.suspect.empty();
    status.suspect = why;
    if (!began) return;
    fetch_wanted = true;  // ask the replay server now
    std::fprintf(stderr, "bus: %s on %s is suspect until its owner's replay server confirms: %s\n",
                 spec.consumer.c_str(), spec.stream.c_str(), why.c_str());
  }
  bool is_suspect() const {
    std::lock_guard lock(status_mutex);
    return !status.suspect.empty();
  }
  void clear_suspect() {
    std::lock_guard lock(status_mutex);
    status.suspect.clear();
  }

  // A different epoch means the producer's log was replaced: never apply
  // from it silently.
  bool check_epoch(const std::string& seen, Word word) {
    if (seen.empty() || epoch.empty() || seen == epoch) return true;
    if (word == Word::kFeed) {
      suspect("the feed names epoch " + seen + ", not " + epoch);
      return false;
    }
    halt("stream " + spec.stream + " changed epoch from " + epoch + " to " + seen +
         ": the producer's data was replaced or restored; check, then run `ates events reset-consumer " +
         spec.consumer + " " + spec.stream + "`");
    return false;
  }

  // `source` names the publisher the frame came from: a peer's key, or
  // "this host".
  void on_event(std::string bytes, const std::string& source) {
    if (halted()) return;  // nothing will be applied; do not buffer it
    auto envelope = protocol::decode_envelope(bytes);
    if (!envelope) {
      // Too broken to place in the stream: keep it for the operator; the
      // stream itself goes on (the outbox only holds valid events).
      record_garbage(std::move(bytes), envelope.status().message(), source);
      return;
    }
    if (envelope->stream != spec.stream) {
      bus.drop(source, "foreign_stream",
               "an event of " + envelope->stream + " under the topic of " + spec.stream);
      return;
    }
    if (!check_epoch(envelope->stream_epoch, Word::kFeed)) return;
    if (envelope->seq <= applied || pending.size() >= kMaxPending) return;
    pending.emplace(envelope->seq, std::move(bytes));
  }

  void record_garbage(std::string bytes, const std::string& reason, const std::string& source) {
    // Capped per source and minute: a peer sending garbage fills a counter,
    // not the disk. (An owner's in-sequence event that cannot be applied is
    // another matter: it stalls the consumer and is never dropped.)
    const auto now = std::chrono::steady_clock::now();
    auto& [window, kept_now] = garbage_kept[source];
    if (now - window >= std::chrono::minutes(1)) {
      window = now;
      kept_now = 0;
    }
    if (kept_now >= bus.options.garbage_letters_per_minute ||
        garbage_held >= bus.options.garbage_letters_kept) {
      bus.drop(source, "garbage_over_cap", "an undecodable frame on " + spec.stream + ": " + reason);
      return;
    }
    ++kept_now;
    ++garbage_held;
    std::string why = "undecodable frame: " + reason;
    if (bytes.size() > kGarbageBytesKept) {
      why += " (its first " + std::to_string(kGarbageBytesKept) + " of " + std::to_string(bytes.size()) +
             " bytes kept)";
      bytes.resize(kGarbageBytesKept);
    }
    // Not kept (a full disk), the frame is only logged: it has no place in
    // the stream to hold it back, and the outbox still has the real events.
    const Status kept = spec.env->run([&](storage::WriteTxn& txn) {
      add_dead_letter(txn, dead_letters,
                      {spec.consumer, spec.stream, 0, std::move(why), 0, 0, std::move(bytes), false});
      return Status::ok();
    });
    if (!kept) {
      std::fprintf(stderr, "bus: %s on %s: an undecodable frame was not kept: %s\n", spec.consumer.c_str(),
                   spec.stream.c_str(), kept.to_string().c_str());
    }
  }

  // A producer whose log ends below what we applied, in the same epoch,
  // was restored from an older copy: its next events would reuse sequence
  // numbers we already applied, and dropping them as duplicates would lose
  // them silently. Halt instead.
  // `applied_then`: what was applied when the news was sent. A FETCH reply
  // is compared with what was applied when we asked (its `from` - 1): live
  // events applied while it travelled are past the head it carries, and
  // must not look like a restored producer.
  bool check_not_behind(const std::string& seen_epoch, std::uint64_t head, std::uint64_t applied_then,
                        Word word) {
    if (epoch.empty() || seen_epoch != epoch || head >= applied_then) return true;
    if (word == Word::kFeed) {
      suspect("the feed says the stream ends at " + std::to_string(head) + ", below the applied " +
              std::to_string(applied_then));
      return false;
    }
    halt("stream " + spec.stream + " ends at " + std::to_string(head) + " but " + spec.consumer +
         " applied up to " + std::to_string(applied_then) +
         " in the same epoch: the producer's data was restored from an older copy; check, " +
         "then run `ates events reset-consumer " + spec.consumer + " " + spec.stream + "`");
    return false;
  }

  void on_heartbeat(std::string_view bytes) {
    const auto beat = wire::unpack<wire::Heartbeat>(bytes);
    if (!beat || !check_epoch(beat->epoch, Word::kFeed) ||
        !check_not_behind(beat->epoch, beat->head_seq, applied, Word::kFeed))
      return;
    record_pair(beat->head_seq, beat->watermark);
  }

  void on_fetch_reply(std::vector<zmq::message_t>& frames) {
    fetch_inflight = false;
    if (frames.empty()) return;
    const auto reply = wire::unpack<wire::FetchReply>(frames[0].to_string_view());
    if (!reply || reply->stream != spec.stream) return;
    if (reply->status == wire::FetchStatus::kUnknown) {
      // Not produced there (yet). A doubt waits for an answer: ask again.
      if (is_suspect()) {
        fetch_retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        fetch_wanted = true;
      }
      return;
    }
    if (reply->status == wire::FetchStatus::kDenied) {
      // Retried slowly: the owner's operator may grant it while we wait.
      fetch_retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      fetch_wanted = true;
      set_state(ConsumerState::kStalled, "the owner of " + spec.stream + " (" + replay_endpoint +
                                             ") refuses this host's key a FETCH of it: its bus.clients "
                                             "entry for this key must list reads=" +
                                             spec.stream);
      return;
    }
    if (!check_epoch(reply->epoch, Word::kReplay)) return;
    if (reply->status == wire::FetchStatus::kTruncated) {
      halt("stream " + spec.stream + " keeps entries from " + std::to_string(reply->first_seq) + " on, but " +
           spec.consumer + " needs " + std::to_string(applied + 1) +
           " (TRUNCATED): events were deleted before this consumer applied them; never skipped silently");
      return;
    }
    if (!check_not_behind(reply->epoch, reply->head_seq, reply->from > 0 ? reply->from - 1 : 0,
                          Word::kReplay))
      return;
    clear_suspect();  // the owner's replay server contradicts what the feed said
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
      if (std::chrono::steady_clock::now() < apply_retry_after) return false;
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
          if (++index == run.size() / 2 + 1) base::failpoint(kFailMidBatchApply);
          Envelope decoded;
          Status applied_status = apply_one(txn, spec.handler, *bytes, isolation, &decoded);
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
        apply_retry_after = std::chrono::steady_clock::now() + backoff;
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
      dead_letters.scan(txn, {}, [&](std::string_view, const DeadLetterRecord& letter) {
        if (letter.seq == 0 && !letter.resolved && letter.consumer == spec.consumer &&
            letter.stream == spec.stream)
          ++garbage_held;
        return true;
      });
    }
    // One SUB per publisher, so the socket names the sender: SUB sockets
    // never reveal one, and a frame on the owner's socket came through a
    // Curve handshake with the owner's key.
    std::vector<zmq::socket_t> subs;
    std::vector<std::string> sources;
    auto add_sub = [&](const std::string& endpoint, const std::string& server_key, std::string source) {
      zmq::socket_t sub(bus.context, zmq::socket_type::sub);
      sub.set(zmq::sockopt::linger, 0);
      // Bounded: what a full queue drops is a gap, which FETCH repairs.
      sub.set(zmq::sockopt::rcvhwm, bus.options.receive_hwm);
      limit_messages(sub);
      secure_client(sub, endpoint, server_key, bus.options.curve);
      sub.set(zmq::sockopt::subscribe, spec.stream);  // events and heartbeats of the stream
      sub.connect(endpoint);
      subs.push_back(std::move(sub));
      sources.push_back(std::move(source));
    };
    // Subscribe first, then fetch (the clone pattern's order: nothing
    // published after the fetch's snapshot can fall between the two).
    add_sub(bus.bound_publish, bus.options.curve.public_key, "this host");
    const Peer* owner = bus.owner_of(spec.stream);
    if (owner != nullptr)
      add_sub(owner->publish, owner->key, owner->key.empty() ? owner->publish : owner->key);
    std::map<std::string, zmq::socket_t> dealers;
    auto dealer_for = [&](const std::string& endpoint, const std::string& key) -> zmq::socket_t& {
      auto it = dealers.find(endpoint);
      if (it == dealers.end()) {
        zmq::socket_t dealer(bus.context, zmq::socket_type::dealer);
        dealer.set(zmq::sockopt::linger, 0);
        limit_messages(dealer);
        secure_client(dealer, endpoint, key, bus.options.curve);
        dealer.connect(endpoint);
        it = dealers.emplace(endpoint, std::move(dealer)).first;
      }
      return it->second;
    };
    replay_endpoint = owner != nullptr ? owner->replay : bus.bound_replay;
    replay_key = owner != nullptr ? owner->key : bus.options.curve.public_key;
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
            on_event(frames[1].to_string(), sources[i]);
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
      if (needs_fetch() && std::chrono::steady_clock::now() >= fetch_retry_after) {
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

void Bus::remove_consumers(std::string_view name) { impl_->remove_consumers(name); }

void Bus::Impl::remove_consumers(std::string_view name) {
  std::vector<std::shared_ptr<Consumer>> leaving;
  {
    std::lock_guard lock(consumers_mutex);
    for (auto it = consumers.begin(); it != consumers.end();) {
      if ((*it)->spec.consumer == name) {
        leaving.push_back(std::move(*it));
        it = consumers.erase(it);
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

Result<DeadLetter> Bus::redrive(std::string_view id) {
  const auto dash = id.rfind('-');
  if (dash == std::string_view::npos)
    return Status(Code::kInvalidArgument, "a dead letter id is <consumer>-<number>");
  const std::string consumer_name(id.substr(0, dash));
  // A number that does not fit would wrap around to another letter's.
  const std::string_view digits = id.substr(dash + 1);
  std::uint64_t number = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size())
    return Status(Code::kInvalidArgument, "a dead letter id is <consumer>-<number>");
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
    auto record = table.get(txn, storage::key_u64(number));
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
    table.put(txn, storage::key_u64(number), *record);
    result = to_dead_letter(number, *record);
    return Status::ok();
  });
  if (!status) return status;
  return result;
}

void Bus::Impl::stop_all_consumers() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(consumers_mutex);
    for (const auto& c : consumers) names.push_back(c->spec.consumer);
  }
  for (const auto& name : names) remove_consumers(name);
}

}  // namespace ates::bus
