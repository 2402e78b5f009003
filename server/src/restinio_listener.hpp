// The RESTinio half of HttpServer (http_server.hpp), shared by the plain
// (http_server.cpp) and the TLS (https_server.cpp) server. Include it from
// those two files only: it pulls in RESTinio, ~35 s of compiling per file.
//
// RestinioListener<Socket> runs one RESTinio server on its own thread pool
// and turns each request into a plugin_api::Request for the dispatcher.
// Thread-safety: start() and stop() from one thread; requests are handled
// on the pool's threads.
#pragma once

#include <atomic>
#include <charconv>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>  // before RESTinio: GCC 12 + C++20 needs std::exchange declared
#include <vector>

#include <restinio/all.hpp>

#include "http_server.hpp"

namespace ates::server::detail {

// What HttpServer runs: a RESTinio server of some socket type.
class Listener {
 public:
  virtual ~Listener() = default;
  // Binds and starts serving; returns the bound port.
  virtual base::Result<std::uint16_t> start() = 0;
  virtual void stop() = 0;
};

// https_server.cpp: an HTTPS listener, or an error naming http.tls_cert or
// http.tls_key when the files cannot be used.
base::Result<std::unique_ptr<Listener>> make_tls_listener(const HttpOptions& options,
                                                          const Dispatch& dispatch);

// The connection cap (http.max_connections). RESTinio's own limiter counts
// an accept() as in progress until a connection object is made for it, but
// an accepted socket that the peer has already reset never gets one (its
// remote_endpoint() throws, RESTinio logs and accepts again): every such
// socket would cost a slot for good, so resetting connections queued while
// the server is at its cap would shut it down. This limiter counts at most
// one accept in progress per accept slot: the next accept_next() of a slot
// ends the previous accept, whatever became of it.
//
// The limiter lives in RESTinio's acceptor, and on shutdown the io_context
// may destroy the acceptor before the last connections: the counts are
// shared with each connection's lease (ConnectionLease), and a lease that
// outlives the acceptor only counts down.
class ConnectionLimiter {
 public:
  using Acceptor = restinio::connection_count_limits::impl::acceptor_callback_iface_t;

  // What the limiter and the leases of its connections share.
  class Counts {
   public:
    Counts(Acceptor* acceptor, std::size_t max_connections, std::size_t accept_slots)
        : acceptor_(acceptor), max_connections_(max_connections), accepting_(accept_slots, false) {
      pending_.reserve(accept_slots);
    }

    // A connection object was made (called before the slot's next accept_next).
    void connection_opened() noexcept {
      std::lock_guard lock(mutex_);
      ++connections_;
    }

    // A connection object is gone: a waiting slot may accept again.
    void connection_closed() noexcept {
      std::lock_guard lock(mutex_);
      --connections_;
      if (acceptor_ != nullptr && has_room() && !pending_.empty()) {
        const std::size_t slot = pending_.back();
        pending_.pop_back();
        acceptor_->schedule_next_accept_attempt(slot);  // posts: never calls back in here
      }
    }

    void accept_next(std::size_t slot) noexcept {
      Acceptor* accept_now = nullptr;
      {
        std::lock_guard lock(mutex_);
        if (accepting_[slot]) {  // the previous accept of this slot is over
          accepting_[slot] = false;
          --accepts_;
        }
        if (has_room()) {
          accepting_[slot] = true;
          ++accepts_;
          accept_now = acceptor_;
        } else {
          pending_.push_back(slot);
        }
      }
      // Starts an async_accept; its completion runs later, on the strand.
      if (accept_now != nullptr) accept_now->call_accept_now(slot);
    }

    void acceptor_gone() noexcept {
      std::lock_guard lock(mutex_);
      acceptor_ = nullptr;
    }

   private:
    bool has_room() const { return accepts_ + connections_ < max_connections_; }

    std::mutex mutex_;
    Acceptor* acceptor_;  // null once the acceptor is destroyed
    const std::size_t max_connections_;
    std::size_t connections_ = 0;
    std::size_t accepts_ = 0;
    std::vector<bool> accepting_;       // per accept slot
    std::vector<std::size_t> pending_;  // slots waiting for room; capacity reserved
  };

  ConnectionLimiter(restinio::not_null_pointer_t<Acceptor> acceptor,
                    restinio::connection_count_limits::max_parallel_connections_t max_connections,
                    restinio::connection_count_limits::max_active_accepts_t accept_slots)
      : counts_(std::make_shared<Counts>(acceptor, max_connections.value(), accept_slots.value())) {}
  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter(ConnectionLimiter&&) = delete;
  ~ConnectionLimiter() { counts_->acceptor_gone(); }

  void accept_next(std::size_t slot) noexcept { counts_->accept_next(slot); }
  const std::shared_ptr<Counts>& counts() const { return counts_; }

 private:
  std::shared_ptr<Counts> counts_;
};

// RESTinio's connection lifetime monitor: counts a connection in while its
// object lives, through the shared counts rather than the limiter itself.
class ConnectionLease {
 public:
  explicit ConnectionLease(restinio::not_null_pointer_t<ConnectionLimiter> limiter) noexcept
      : counts_(limiter->counts()) {
    counts_->connection_opened();
  }
  ConnectionLease(ConnectionLease&& other) noexcept = default;
  ConnectionLease& operator=(ConnectionLease&& other) noexcept {
    ConnectionLease moved(std::move(other));
    std::swap(counts_, moved.counts_);
    return *this;
  }
  ConnectionLease(const ConnectionLease&) = delete;
  ConnectionLease& operator=(const ConnectionLease&) = delete;
  ~ConnectionLease() {
    if (counts_) counts_->connection_closed();
  }

 private:
  std::shared_ptr<ConnectionLimiter::Counts> counts_;
};

template <class Socket>
struct Traits : restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t,
                                   restinio::default_request_handler_t, restinio::default_strand_t, Socket> {
  // NOLINTNEXTLINE(readability-identifier-naming): the name RESTinio looks for
  static constexpr bool use_connection_count_limiter = true;
};

}  // namespace ates::server::detail

namespace restinio {
template <class Socket>
struct connection_count_limit_types<ates::server::detail::Traits<Socket>> {
  using limiter_t = ates::server::detail::ConnectionLimiter;
  using lifetime_monitor_t = ates::server::detail::ConnectionLease;
};
}  // namespace restinio

namespace ates::server::detail {

std::string lower_case(std::string_view text);
std::optional<plugin_api::Method> method_of(const restinio::http_method_id_t& method);

template <class Socket>
class RestinioListener final : public Listener {
 public:
  using Settings = restinio::server_settings_t<Traits<Socket>>;

  // `configure` adds what the socket type needs (the TLS context); `hsts`
  // adds Strict-Transport-Security to every answer.
  RestinioListener(HttpOptions options, Dispatch dispatch, std::function<void(Settings&)> configure,
                   bool hsts)
      : options_(std::move(options)),
        dispatch_(std::move(dispatch)),
        configure_(std::move(configure)),
        hsts_(hsts) {}
  ~RestinioListener() override { stop(); }

  base::Result<std::uint16_t> start() override {
    const HttpOptions& o = options_;
    try {
      Settings settings;
      settings.address(o.address)
          .port(o.port)
          .read_next_http_message_timelimit(o.read_timeout)
          .handle_request_timeout(o.handle_timeout)
          .write_http_response_timelimit(std::chrono::seconds(30))
          .max_parallel_connections(std::max<std::size_t>(1, o.max_connections))
          .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                        .max_url_size(kMaxUrl)
                                        .max_field_name_size(kMaxFieldName)
                                        .max_field_value_size(o.header_limit)
                                        .max_field_count(kMaxFields)
                                        .max_body_size(std::max<std::uint64_t>(1 << 20, 16 * o.body_limit)))
          .acceptor_post_bind_hook(
              [this](asio::ip::tcp::acceptor& acceptor) { bound_port_ = acceptor.local_endpoint().port(); })
          .request_handler([this](const restinio::request_handle_t& request) { return handle(request); });
      if (configure_) configure_(settings);
      // http_parser's cap on the request line plus headers is one value for
      // the process; every server of the process sets the same key.
      http_parser_set_max_header_size(
          static_cast<std::uint32_t>(std::min<std::size_t>(o.header_limit, UINT32_MAX)));
      server_ =
          restinio::run_async<Traits<Socket>>(restinio::own_io_context(), std::move(settings), o.threads);
    } catch (const std::exception& e) {
      return base::Status(base::Code::kUnavailable,
                          "cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " + e.what());
    }
    return bound_port_.load();
  }

  void stop() override {
    if (!server_) return;
    server_->stop();
    server_->wait();
    server_.reset();
  }

 private:
  static constexpr std::size_t kMaxUrl = std::size_t{8} * 1024;
  static constexpr std::size_t kMaxFieldName = 256;
  static constexpr std::size_t kMaxFields = 100;

  restinio::request_handling_status_t handle(const restinio::request_handle_t& raw) {
    plugin_api::Request request;
    const auto method = method_of(raw->header().method());
    request.path = std::string(raw->header().path());
    // X-Forwarded-For may come in several fields: together they are one list.
    std::string forwarded_for;
    for (const auto& field : raw->header()) {
      std::string name = lower_case(field.name());
      if (name == "x-forwarded-for") forwarded_for += (forwarded_for.empty() ? "" : ",") + field.value();
      request.headers[std::move(name)] = field.value();
    }
    request.client_address =
        client_address(raw->remote_endpoint().address().to_string(), forwarded_for, options_.trusted_proxies);
    request.body = raw->body();
    auto respond = [raw, hsts = hsts_](plugin_api::Response response) {
      const restinio::http_status_line_t status_line{
          restinio::http_status_code_t{static_cast<std::uint16_t>(response.status)},
          std::string(plugin_api::status_title(response.status))};
      if (response.status == 304) {
        // No body, and the Content-Length the response names: the length
        // of the content the 304 stands for (RFC 9110 8.6). RESTinio's
        // usual builder would write that of the empty body, 0.
        auto builder = raw->create_response<restinio::user_controlled_output_t>(status_line);
        builder.append_header(restinio::http_field::content_type, response.content_type);
        if (hsts) builder.append_header("Strict-Transport-Security", "max-age=31536000");
        for (auto& [name, value] : response.headers) {
          if (lower_case(name) != "content-length") {
            builder.append_header(name, value);
            continue;
          }
          std::size_t length = 0;
          const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
          if (error == std::errc() && end == value.data() + value.size()) builder.set_content_length(length);
        }
        builder.done();
        return;
      }
      auto builder = raw->create_response(status_line);
      builder.append_header(restinio::http_field::content_type, response.content_type);
      // Browsers that once saw this never try plain HTTP on this host again.
      if (hsts) builder.append_header("Strict-Transport-Security", "max-age=31536000");
      for (auto& [name, value] : response.headers) builder.append_header(name, value);
      builder.set_body(std::move(response.body));
      builder.done();
    };
    if (!method) {
      respond(plugin_api::Response::problem(405, "method-not-allowed", "this method is not supported"));
      return restinio::request_accepted();
    }
    request.method = *method;
    try {
      const auto query = restinio::parse_query(raw->header().query());
      for (const auto& [name, value] : query) request.query[std::string(name)] = std::string(value);
    } catch (const std::exception& e) {
      respond(plugin_api::Response::problem(400, "validation",
                                            std::string("malformed query string: ") + e.what()));
      return restinio::request_accepted();
    }
    auto once = std::make_shared<std::atomic<bool>>(false);
    dispatch_(std::move(request), [respond, once](plugin_api::Response response) {
      if (once->exchange(true)) return;  // a second answer would be a bug; ignore it
      respond(std::move(response));
    });
    return restinio::request_accepted();
  }

  HttpOptions options_;
  Dispatch dispatch_;
  std::function<void(Settings&)> configure_;
  bool hsts_ = false;
  restinio::running_server_handle_t<Traits<Socket>> server_;
  std::atomic<std::uint16_t> bound_port_{0};
};

}  // namespace ates::server::detail
