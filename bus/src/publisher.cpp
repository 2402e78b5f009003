// The PUB side of the bus, on the publisher thread: each local stream's
// new outbox entries as they commit, and a heartbeat per stream (epoch,
// head, watermark). Also hold(), which makes a stream look
// stopped to the world while its commits go on.
#include <algorithm>
#include <cstdio>

#include <zmq_addon.hpp>

#include "ates/base/failpoint.hpp"

#include "bus_impl.hpp"
#include "wire.hpp"

namespace ates::bus {

using base::Code;

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
  wake();
}

void Bus::Impl::publish_new(const std::vector<zmq::socket_t*>& pubs) {
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
      base::failpoint(kFailBeforePublish);
      for (const auto& bytes : entries) {
        // A full send queue drops the frame (PUB never blocks); the consumer
        // sees the gap and fetches it: a drop is never final.
        for (zmq::socket_t* pub : pubs) {
          pub->send(zmq::buffer(name), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
          pub->send(zmq::buffer(bytes), zmq::send_flags::dontwait);
        }
      }
      sent += entries.size();
    }
    std::lock_guard lock(streams_mutex);
    if (auto it = streams.find(name); it != streams.end())
      it->second.last_sent = std::max(it->second.last_sent, sent);
  }
}

void Bus::Impl::send_heartbeats(const std::vector<zmq::socket_t*>& pubs) {
  std::vector<storage::StreamHead> heads;
  {
    std::lock_guard lock(streams_mutex);
    for (const auto& [name, stream] : streams) heads.push_back(stream.visible());
  }
  for (const auto& head : heads) {
    std::string topic = head.stream;
    topic += wire::kHeartbeatSuffix;
    const wire::Heartbeat beat{head.epoch, head.first_seq, head.head_seq, head.watermark};
    const std::string packed = wire::pack(beat);
    for (zmq::socket_t* pub : pubs) {
      pub->send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      pub->send(zmq::buffer(packed), zmq::send_flags::dontwait);
    }
  }
}

std::vector<storage::StreamHead> Bus::local_streams() const {
  std::lock_guard lock(impl_->streams_mutex);
  std::vector<storage::StreamHead> out;
  for (const auto& [name, stream] : impl_->streams) out.push_back(stream.head);
  return out;
}

Status Bus::hold(std::string_view stream, bool held) {
  std::lock_guard lock(impl_->streams_mutex);
  auto it = impl_->streams.find(stream);
  if (it == impl_->streams.end()) {
    return Status(Code::kNotFound, "no local stream " + std::string(stream) + " has committed anything yet");
  }
  if (held && !it->second.held) it->second.held = it->second.head;
  if (!held) it->second.held.reset();
  impl_->wake();  // a release publishes at once
  return Status::ok();
}

void Bus::Impl::publisher_loop(const ServerSockets& sockets) {
  using Clock = std::chrono::steady_clock;
  std::vector<zmq::socket_t*> pubs, routers;
  for (const auto& pub : sockets.pubs) pubs.push_back(pub.get());
  for (const auto& router : sockets.routers) routers.push_back(router.get());
  const std::vector<std::string> bound_pubs = {bound_publish, bound_next_publish},
                                 bound_routers = {bound_replay, bound_next_replay};
  // Failed handshakes on our tcp endpoints (a plaintext peer, a bad Curve
  // key) never reach ZAP when the mechanisms differ: a socket monitor
  // reports them, so every refusal is logged and counted.
  constexpr int kHandshakeFailures = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  std::vector<zmq::socket_t> monitors;
  int monitor_count = 0;
  auto monitor = [&](zmq::socket_t& socket, const std::string& endpoint) {
    if (!is_tcp(endpoint)) return;
    const std::string address = "inproc://ates-monitor-" + std::to_string(++monitor_count) + "-" +
                                std::to_string(reinterpret_cast<std::uintptr_t>(this));
    zmq_socket_monitor(socket.handle(), address.c_str(), kHandshakeFailures);
    zmq::socket_t pair(context, zmq::socket_type::pair);
    pair.set(zmq::sockopt::linger, 0);
    pair.connect(address);
    monitors.push_back(std::move(pair));
  };
  for (std::size_t i = 0; i < pubs.size(); ++i) monitor(*pubs[i], bound_pubs[i]);
  for (std::size_t i = 0; i < routers.size(); ++i) monitor(*routers[i], bound_routers[i]);
  auto next_heartbeat = Clock::now();
  while (!stopping.load()) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_heartbeat - Clock::now());
    // The ROUTERs first, then the wake fd, then the monitors.
    std::vector<zmq::pollitem_t> items;
    for (zmq::socket_t* router : routers) items.push_back({router->handle(), 0, ZMQ_POLLIN, 0});
    const std::size_t wake_item = items.size();
    items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
    for (auto& m : monitors) items.push_back({m.handle(), 0, ZMQ_POLLIN, 0});
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(std::clamp<long>(wait.count(), 0, 100)));
    for (std::size_t i = 0; i < monitors.size(); ++i) {
      if (!(items[wake_item + 1 + i].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> event;
      if (!zmq::recv_multipart(monitors[i], std::back_inserter(event), zmq::recv_flags::dontwait)) continue;
      refuse("a connection to " + (event.size() > 1 ? event[1].to_string() : std::string("?")) +
             " (handshake failed: plaintext or wrong keys)");
    }
    if (items[wake_item].revents & ZMQ_POLLIN) {
      std::uint64_t count = 0;
      [[maybe_unused]] auto n = ::read(wake_fd, &count, sizeof count);
    }
    publish_new(pubs);  // cheap when nothing is due
    for (std::size_t i = 0; i < routers.size(); ++i) {
      if (items[i].revents & ZMQ_POLLIN) answer_fetch(*routers[i], i);
    }
    send_rpc_replies(routers);
    if (Clock::now() >= next_heartbeat) {
      send_heartbeats(pubs);
      next_heartbeat = Clock::now() + options.heartbeat;
    }
  }
}

}  // namespace ates::bus
