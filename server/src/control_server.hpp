// The control socket: how `ates status`, `ates reload`, `ates dead-letters`
// and the plugin commands reach a running server. A ZeroMQ REP socket on
// ipc://<data>/control, owner-only (0600) inside the 0700 data directory.
//
// One request, one JSON object with a "command" field; one JSON reply.
// What each command does is the handler's business (the host's table in
// host.cpp); this part only binds, receives, answers and stops. A message
// that is not a JSON object reaches the handler as a discarded value, so
// the handler answers it as an unknown command.
//
// Thread-safety: one thread of its own serves the socket; the handler runs
// on it, one command at a time.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "ates/base/status.hpp"

namespace ates::server {

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& command)>;

  // Binds the socket at `path` (replacing a stale one) and starts serving.
  // Fails when it cannot be bound or made owner-only.
  static base::Result<std::unique_ptr<ControlServer>> start(const std::filesystem::path& path,
                                                            Handler handler);
  ~ControlServer();  // stops serving; a command running now finishes first
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  ControlServer(Handler handler) : handler_(std::move(handler)) {}
  void loop();

  Handler handler_;
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ates::server
