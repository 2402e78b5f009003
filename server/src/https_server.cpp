// HTTPS for HttpServer (http_server.hpp): RESTinio's TLS sockets over
// Asio's OpenSSL streams. The second file that includes RESTinio.
//
// TLS 1.2 and 1.3 only, TLS 1.2 with forward-secret AEAD suites only, no
// compression, no renegotiation. RESTinio 0.6.16 starts a connection's
// timers only once its TLS handshake is done, so a client that connects and
// never finishes one would hold its connection (and a slot of
// http.max_connections) for ever: the socket here brings a deadline for
// the handshake, http.read_timeout_ms.
#include <utility>  // before RESTinio: GCC 12 + C++20 needs std::exchange declared

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <restinio/all.hpp>  // before tls.hpp, which specialises its templates
#include <restinio/tls.hpp>

#include "restinio_listener.hpp"

namespace ates::server {

namespace detail {

// RESTinio's TLS socket plus the handshake's deadline.
class DeadlineTlsSocket : public restinio::tls_socket_t {
 public:
  DeadlineTlsSocket(asio::io_context& io_context, context_handle_t context,
                    std::chrono::milliseconds handshake_timeout)
      : tls_socket_t(io_context, std::move(context)), handshake_timeout_(handshake_timeout) {}
  std::chrono::milliseconds handshake_timeout() const { return handshake_timeout_; }

 private:
  std::chrono::milliseconds handshake_timeout_;
};

// Found by argument-dependent lookup from RESTinio's connection, in place of
// its own overload for tls_socket_t (a derived class matches better): the
// handshake, raced by a timer on one strand. The timer closes the socket,
// which fails the pending handshake, and RESTinio then closes the
// connection as after any failed handshake.
template <typename Connection, typename StartRead, typename Failed>
void prepare_connection_and_start_read(DeadlineTlsSocket& socket, Connection& connection,
                                       StartRead start_read, Failed failed) {
  auto strand = asio::make_strand(socket.get_executor());
  auto timer = std::make_shared<asio::steady_timer>(strand, socket.handshake_timeout());
  auto done = std::make_shared<bool>(false);  // touched on the strand only
  // The socket outlives a pending handshake: its handler holds the connection.
  timer->async_wait(asio::bind_executor(strand, [timer, done, &socket](const asio::error_code& ec) {
    if (ec || *done) return;
    asio::error_code ignored;
    socket.lowest_layer().close(ignored);
  }));
  socket.async_handshake(
      asio::ssl::stream_base::server,
      asio::bind_executor(strand,
                          [timer, done, start_read = std::move(start_read), failed = std::move(failed),
                           keep = connection.shared_from_this()](const asio::error_code& ec) {
                            *done = true;
                            timer->cancel();
                            if (!ec) {
                              start_read();
                            } else {
                              failed(ec);
                            }
                          }));
}

}  // namespace detail
}  // namespace ates::server

namespace restinio {

// The settings of a server on DeadlineTlsSocket: the TLS context and the
// handshake's deadline.
template <typename Settings>
class socket_type_dependent_settings_t<Settings, ates::server::detail::DeadlineTlsSocket> {
 protected:
  ~socket_type_dependent_settings_t() = default;

 public:
  socket_type_dependent_settings_t() = default;
  socket_type_dependent_settings_t(socket_type_dependent_settings_t&&) noexcept = default;

  Settings& tls_context(std::shared_ptr<asio::ssl::context> context) & {
    context_ = std::move(context);
    return static_cast<Settings&>(*this);
  }
  Settings& handshake_timeout(std::chrono::milliseconds timeout) & {
    handshake_timeout_ = timeout;
    return static_cast<Settings&>(*this);
  }
  std::shared_ptr<asio::ssl::context> giveaway_tls_context() { return std::move(context_); }
  std::chrono::milliseconds handshake_timeout() const { return handshake_timeout_; }

 private:
  std::shared_ptr<asio::ssl::context> context_;
  std::chrono::milliseconds handshake_timeout_{10000};
};

namespace impl {

// The acceptor's sockets, made with the context and the deadline.
template <>
class socket_supplier_t<ates::server::detail::DeadlineTlsSocket> {
  using Socket = ates::server::detail::DeadlineTlsSocket;

 protected:
  template <typename Settings>
  socket_supplier_t(Settings& settings, asio::io_context& io_context)
      : context_(settings.giveaway_tls_context()),
        timeout_(settings.handshake_timeout()),
        io_context_(io_context) {
    sockets_.reserve(settings.concurrent_accepts_count());
    while (sockets_.size() < settings.concurrent_accepts_count())
      sockets_.emplace_back(io_context_, context_, timeout_);
  }
  virtual ~socket_supplier_t() = default;

  Socket& socket(std::size_t index) { return sockets_.at(index); }
  Socket move_socket(std::size_t index) {
    Socket fresh{io_context_, context_, timeout_};
    std::swap(fresh, sockets_.at(index));
    return fresh;
  }
  std::size_t concurrent_accept_sockets_count() const { return sockets_.size(); }

 private:
  std::shared_ptr<asio::ssl::context> context_;
  std::chrono::milliseconds timeout_;
  asio::io_context& io_context_;
  std::vector<Socket> sockets_;
};

}  // namespace impl
}  // namespace restinio

namespace ates::server {

namespace {

// Forward secrecy and AEAD only for TLS 1.2 (TLS 1.3's suites all are).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string reason(const asio::error_code& ec) {
  ERR_clear_error();  // what OpenSSL queued is in `ec` already
  return ec.message();
}

base::Result<std::shared_ptr<asio::ssl::context>> make_context(const std::string& cert,
                                                               const std::string& key) {
  if (cert.empty() || key.empty()) {
    const std::string missing = cert.empty() ? "http.tls_cert" : "http.tls_key";
    const std::string given = cert.empty() ? "http.tls_key" : "http.tls_cert";
    return base::invalid_argument(missing + " is not set but " + given +
                                  " is: HTTPS needs both (or neither, for plain HTTP)");
  }
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression |
                       asio::ssl::context::single_dh_use);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    ERR_clear_error();
    return base::Status(base::Code::kInternal, "OpenSSL refuses the TLS 1.2 cipher list");
  }
  asio::error_code ec;
  context->use_certificate_chain_file(cert, ec);
  if (ec)
    return base::invalid_argument("http.tls_cert: cannot use " + cert +
                                  " as a PEM certificate chain: " + reason(ec));
  context->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec)
    return base::invalid_argument("http.tls_key: cannot use " + key + " as a PEM private key: " + reason(ec));
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return base::invalid_argument("http.tls_key: " + key + " is not the private key of the certificate in " +
                                  cert);
  }
  return context;
}

}  // namespace

base::Status check_tls_files(const std::string& cert, const std::string& key) {
  auto context = make_context(cert, key);
  return context ? base::Status::ok() : context.status();
}

namespace detail {

base::Result<std::unique_ptr<Listener>> make_tls_listener(const HttpOptions& options,
                                                          const Dispatch& dispatch) {
  auto context = make_context(options.tls_cert, options.tls_key);
  if (!context) return context.status();
  using Tls = RestinioListener<DeadlineTlsSocket>;
  auto configure = [context = *context, timeout = options.read_timeout](Tls::Settings& settings) {
    settings.tls_context(context);
    settings.handshake_timeout(timeout);
  };
  return std::unique_ptr<Listener>(std::make_unique<Tls>(options, dispatch, configure, /*hsts=*/true));
}

}  // namespace detail
}  // namespace ates::server
