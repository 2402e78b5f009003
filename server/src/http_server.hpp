// The HTTP server: RESTinio on its own thread pool, plain HTTP or HTTPS.
// This header is RESTinio-free; http_server.cpp (plain) and
// https_server.cpp (TLS), through restinio_listener.hpp, are the only files
// that include RESTinio (each costs ~35 s to compile). Every request is
// turned into a plugin_api::Request and handed to `dispatch`, which answers
// through the Responder from any thread, exactly once.
//
// What RESTinio enforces itself closes the connection without an answer:
// a request line plus headers over `header_limit`, a URL over 8 KiB, more
// than 100 header fields, a field name over 256 bytes, a body (chunked or
// not) far over `body_limit`, a request not read within `read_timeout`, a
// TLS handshake not done within `read_timeout`. Connections beyond
// `max_connections` are not accepted until one closes: they wait in the
// kernel's listen backlog, unanswered.
//
// Thread-safety: start() and stop() from one thread; `dispatch` is called
// from the server's threads concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ates/base/status.hpp"
#include "ates/plugin_api/http.hpp"

#include "client_address.hpp"

namespace ates::server {

struct HttpOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port
  std::size_t threads = 2;
  // Bodies above this are refused by the dispatcher with 413; RESTinio
  // drops the connection only far above it (a hard cap against floods).
  std::size_t body_limit = std::size_t{64} * 1024;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds handle_timeout{30000};
  // The request line and headers together, in bytes.
  std::size_t header_limit = std::size_t{16} * 1024;
  std::size_t max_connections = 512;
  // PEM files; both set: HTTPS only, every answer with HSTS. Both empty:
  // plain HTTP.
  std::string tls_cert;
  std::string tls_key;
  // Whose X-Forwarded-For names the client (plugin_api::Request::client_address).
  TrustedProxies trusted_proxies;
};

// Loads `cert` and `key` as the HTTPS server would, to report a bad file
// before anything else starts; an error names http.tls_cert or http.tls_key.
base::Status check_tls_files(const std::string& cert, const std::string& key);

using Dispatch = std::function<void(plugin_api::Request, plugin_api::Responder)>;

class HttpServer {
 public:
  HttpServer(HttpOptions options, Dispatch dispatch);
  ~HttpServer();  // stops if running

  // Binds and starts serving; returns the bound port.
  base::Result<std::uint16_t> start();
  // Stops accepting, closes connections and joins the threads.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ates::server
