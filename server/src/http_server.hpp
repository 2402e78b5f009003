// The HTTP server: RESTinio on its own thread pool. This header is
// RESTinio-free; http_server.cpp is the only file that includes RESTinio
// (it costs ~35 s to compile). Every request is turned into a
// plugin_api::Request and handed to `dispatch`, which answers through the
// Responder from any thread, exactly once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ates/plugin_api/http.hpp"
#include "ates/protocol/status.hpp"

namespace ates::server {

struct HttpOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port
  std::size_t threads = 2;
  // Bodies above this are refused by the dispatcher with 413; RESTinio
  // drops the connection only far above it (a hard cap against floods).
  std::size_t body_limit = 64 * 1024;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds handle_timeout{30000};
};

using Dispatch = std::function<void(plugin_api::Request, plugin_api::Responder)>;

class HttpServer {
 public:
  HttpServer(HttpOptions options, Dispatch dispatch);
  ~HttpServer();  // stops if running

  // Binds and starts serving; returns the bound port.
  protocol::Result<std::uint16_t> start();
  // Stops accepting, closes connections and joins the threads.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ates::server
