// rpc between hosts on the replay ROUTER: the rpc thread runs each
// request's handler off the publisher thread and queues the reply for it;
// call() is the client, a DEALER per peer.
#include <zmq_addon.hpp>

#include "bus_impl.hpp"
#include "wire.hpp"

namespace ates::bus {

using base::Code;

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
    const std::string code = answer ? "ok" : std::string(base::to_string(answer.status().code()));
    const std::string body = answer ? *answer : answer.status().message();
    reply.emplace_back(code.data(), code.size());
    reply.emplace_back(body.data(), body.size());
    handler.reset();  // the handler's code may be unloaded once unserve returns
    lock.lock();
    rpc_running.clear();
    rpc_idle.notify_all();
    rpc_replies.emplace_back(request.router, std::move(reply));
    wake();
  }
}

void Bus::Impl::send_rpc_replies(const std::vector<zmq::socket_t*>& routers) {
  std::deque<std::pair<std::size_t, std::vector<zmq::message_t>>> replies;
  {
    std::lock_guard lock(rpc_mutex);
    replies.swap(rpc_replies);
  }
  for (auto& [index, reply] : replies) {
    zmq::socket_t& router = *routers.at(index);  // the ROUTER the request came on: only it knows the caller
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
      limit_messages(dealer);
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
      return Status(base::code_from_string(frames[2].to_string_view()), frames[3].to_string());
    }
  } catch (const std::exception& e) {
    caller->dealer.reset();
    return Status(Code::kUnavailable, std::string("rpc ") + service + ": " + e.what());
  }
  return Status(Code::kUnavailable,
                "rpc " + service + ": no answer within " + std::to_string(timeout.count()) + " ms");
}

}  // namespace ates::bus
