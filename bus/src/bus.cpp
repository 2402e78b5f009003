// The bus's start and stop; bus_impl.hpp has the map of the other files.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/eventfd.h>
#include <sys/stat.h>

#include "bus_impl.hpp"

namespace ates::bus {

using base::Code;

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

std::string Bus::publish_endpoint() const { return impl_->bound_publish; }
std::string Bus::replay_endpoint() const { return impl_->bound_replay; }
std::string Bus::next_publish_endpoint() const { return impl_->bound_next_publish; }
std::string Bus::next_replay_endpoint() const { return impl_->bound_next_replay; }
std::uint64_t Bus::refused_connections() const { return impl_->refused.load(); }

Bus::Bus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

// An ipc endpoint is a file, and a connection through it carries no key and
// is trusted as this machine: only this user may connect.
void restrict_ipc(const std::string& endpoint) {
  if (!endpoint.starts_with("ipc://") || endpoint.starts_with("ipc://@")) return;  // '@': abstract, no file
  const std::string path = endpoint.substr(6);
  if (::chmod(path.c_str(), 0600) != 0)
    throw std::runtime_error("cannot make " + path + " private to this user: " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<Bus>> Bus::start(BusOptions options) {
  if (Status valid = validate(options); !valid) return valid;
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
  // During a key rotation the new key gets a PUB and a ROUTER of its own.
  Impl::ServerSockets sockets;
  try {
    auto bind = [&](const std::string& publish, const std::string& replay, const std::string& secret_key,
                    std::string& bound_publish, std::string& bound_replay) {
      auto pub = std::make_shared<zmq::socket_t>(raw->context, zmq::socket_type::pub);
      auto router = std::make_shared<zmq::socket_t>(raw->context, zmq::socket_type::router);
      for (auto* socket : {pub.get(), router.get()}) {
        socket->set(zmq::sockopt::linger, 0);
        limit_messages(*socket);
      }
      pub->set(zmq::sockopt::sndhwm, raw->options.send_hwm);
      router->set(zmq::sockopt::router_mandatory, 0);
      // Per connection: a peer has a FETCH per consumer and one rpc call in
      // flight, so a short queue is plenty, and past it libzmq stops reading
      // from that connection (inbound) or drops the reply (a FETCH is retried).
      router->set(zmq::sockopt::rcvhwm, kRouterQueue);
      router->set(zmq::sockopt::sndhwm, kRouterQueue);
      raw->secure_server(*pub, publish, kPubDomain, secret_key);
      raw->secure_server(*router, replay, kReplayDomain, secret_key);
      pub->bind(publish);
      router->bind(replay);
      bound_publish = pub->get(zmq::sockopt::last_endpoint);
      bound_replay = router->get(zmq::sockopt::last_endpoint);
      restrict_ipc(bound_publish);
      restrict_ipc(bound_replay);
      sockets.pubs.push_back(std::move(pub));
      sockets.routers.push_back(std::move(router));
    };
    bind(raw->options.publish, raw->options.replay, raw->options.curve.secret_key, raw->bound_publish,
         raw->bound_replay);
    if (!raw->options.next_publish.empty()) {
      bind(raw->options.next_publish, raw->options.next_replay, raw->options.curve.next_secret_key,
           raw->bound_next_publish, raw->bound_next_replay);
    }
  } catch (const std::exception& e) {
    raw->stopping = true;
    if (raw->zap.joinable()) raw->zap.join();
    ::close(raw->wake_fd);
    return Status(Code::kUnavailable, std::string("bus: ") + e.what());
  }
  raw->publisher = std::thread([raw, sockets = std::move(sockets)] { raw->publisher_loop(sockets); });
  raw->rpc_thread = std::thread([raw] { raw->rpc_loop(); });
  return std::unique_ptr<Bus>(new Bus(std::move(impl)));
}

Bus::~Bus() {
  impl_->stop_all_consumers();
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
