// The ROUTER side of the bus, on the publisher thread: FETCH requests are
// answered from the outbox, up to the head the heartbeats carry, for the
// streams the caller's key may read; rpc requests the key may make are
// handed to the rpc thread (rpc.cpp), up to a bounded queue.
#include <algorithm>

#include <zmq_addon.hpp>

#include "bus_impl.hpp"
#include "wire.hpp"

namespace ates::bus {

namespace {
constexpr std::size_t kMaxConsumerName = 64;
}  // namespace

void Bus::Impl::answer_fetch(zmq::socket_t& router, std::size_t index) {
  for (;;) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(router, std::back_inserter(frames), zmq::recv_flags::dontwait)) return;
    const std::optional<std::string> key = client_key(frames.back());
    if (frames.size() == 5 && frames[1].to_string_view() == wire::kRpcRequest) {
      queue_rpc(router, index, frames, key);
      continue;
    }
    // Not a request of ours: ignored, and counted, since only a broken or
    // hostile peer sends one.
    if (frames.size() != 2) {
      drop(key.value_or("this machine"), "malformed_request",
           "a message of " + std::to_string(frames.size() - 1) + " frames, neither FETCH nor rpc");
      continue;
    }
    const auto request = wire::unpack<wire::FetchRequest>(frames[1].to_string_view());
    if (!request) {
      drop(key.value_or("this machine"), "malformed_request", "a FETCH that does not decode");
      continue;
    }
    wire::FetchReply reply{
        .stream = request->stream, .status = wire::FetchStatus::kUnknown, .from = request->from};
    if (!may_read(key, request->stream)) {
      drop(key.value_or("this machine"), "fetch_denied",
           "FETCH of " + request->stream + ", which this key may not read");
      reply.status = wire::FetchStatus::kDenied;
      router.send(frames[0], zmq::send_flags::sndmore);
      router.send(zmq::buffer(wire::pack(reply)), zmq::send_flags::none);
      continue;
    }
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
          reply.status = wire::FetchStatus::kTruncated;
        } else {
          reply.status = wire::FetchStatus::kOk;
          storage::ReadTxn txn = env->read();
          const std::uint64_t from = std::max<std::uint64_t>(request->from, 1);
          const std::uint64_t visible = head->head_seq >= from ? head->head_seq - from + 1 : 0;
          if (visible > 0) {
            entries = env->read_outbox(txn, request->stream, from,
                                       std::min<std::uint64_t>({request->max, options.batch, visible}));
          }
        }
        // What a consumer has applied, for retention. A remote caller's
        // names are its key's: one host cannot move another's checkpoint
        // and let retention delete what that one has not read, nor claim
        // more than the head.
        if (env->options().retention_keep_last && request->from > 1 && !request->consumer.empty() &&
            request->consumer.size() <= kMaxConsumerName) {
          env->submit(
              [stream = request->stream, consumer = key ? *key + "/" + request->consumer : request->consumer,
               seq = std::min(request->from - 1, head->head_seq)](storage::WriteTxn& txn) {
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

void Bus::Impl::queue_rpc(zmq::socket_t& router, std::size_t index, std::vector<zmq::message_t>& frames,
                          const std::optional<std::string>& key) {
  const std::string service = frames[2].to_string();
  std::string refusal;
  base::Code code = base::Code::kPermissionDenied;
  if (!may_call(key, service)) {
    drop(key.value_or("this machine"), "call_denied", "rpc " + service + ", which this key may not call");
    refusal = "this host's key may not call " + service;
  } else {
    std::lock_guard lock(rpc_mutex);
    const std::string caller = key.value_or("");
    const auto waiting = static_cast<std::size_t>(std::count_if(
        rpc_requests.begin(), rpc_requests.end(), [&](const RpcRequest& r) { return r.caller == caller; }));
    if (rpc_requests.size() < options.rpc_queue && waiting < options.rpc_queue_per_caller) {
      rpc_requests.push_back(
          {index, caller, std::move(frames[0]), service, frames[3].to_string(), frames[4].to_string()});
      rpc_cv.notify_one();
      return;
    }
    code = base::Code::kUnavailable;
    refusal = waiting >= options.rpc_queue_per_caller
                  ? "the rpc queue holds " + std::to_string(waiting) +
                        " requests of this caller, its share; try again"
                  : "the rpc queue is full (" + std::to_string(options.rpc_queue) + " waiting); try again";
  }
  if (code == base::Code::kUnavailable)
    drop(key.value_or("this machine"), "rpc_queue_full", "rpc " + service);
  const std::string code_name(base::to_string(code));
  router.send(frames[0], zmq::send_flags::sndmore);
  router.send(zmq::buffer(wire::kRpcReply), zmq::send_flags::sndmore);
  router.send(frames[3], zmq::send_flags::sndmore);
  router.send(zmq::buffer(code_name), zmq::send_flags::sndmore);
  router.send(zmq::buffer(refusal), zmq::send_flags::none);
}

}  // namespace ates::bus
