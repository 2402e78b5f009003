#include "control_server.hpp"

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace ates::server {

using base::Code;
using base::Status;

base::Result<std::unique_ptr<ControlServer>> ControlServer::start(const std::filesystem::path& path,
                                                                  Handler handler) {
  std::unique_ptr<ControlServer> server(new ControlServer(std::move(handler)));
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  try {
    server->socket_ = zmq::socket_t(server->context_, zmq::socket_type::rep);
    server->socket_.set(zmq::sockopt::linger, 0);
    server->socket_.bind("ipc://" + path.string());
  } catch (const zmq::error_t& e) {
    return Status(Code::kInternal, "cannot open the control socket " + path.string() + ": " + e.what());
  }
  // Only the owner of the data directory may command the server (the
  // directory, 0700 and ours, already keeps others out; this is the second
  // wall, so a socket that stays open to others is an error).
  if (::chmod(path.c_str(), 0600) != 0) {
    return Status(Code::kInternal, "cannot make the control socket " + path.string() +
                                       " owner-only (chmod 0600): " + std::strerror(errno));
  }
  ControlServer* raw = server.get();
  server->thread_ = std::thread([raw] { raw->loop(); });
  return server;
}

ControlServer::~ControlServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ControlServer::loop() {
  try {
    while (!stop_.load()) {
      zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(100));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      zmq::message_t message;
      if (!socket_.recv(message)) continue;
      nlohmann::json reply;
      try {
        reply = handler_(nlohmann::json::parse(message.to_string(), nullptr, false));
      } catch (const std::exception& e) {
        reply = {{"ok", false}, {"error", std::string("the command failed: ") + e.what()}};
      }
      // Text a plugin returned that is not UTF-8 is replaced, not thrown on.
      const std::string text = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      socket_.send(zmq::buffer(text), zmq::send_flags::none);
    }
  } catch (const std::exception& e) {
    spdlog::error("control socket: {}", e.what());
  }
}

}  // namespace ates::server
