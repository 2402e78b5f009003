// The only file that includes RESTinio (see http_server.hpp).
#include "http_server.hpp"

#include <utility>  // before RESTinio: GCC 12 + C++20 needs std::exchange declared

#include <atomic>
#include <charconv>
#include <future>

#include <restinio/all.hpp>

namespace ates::server {

namespace {

using plugin_api::Method;

std::optional<Method> method_of(const restinio::http_method_id_t& method) {
  if (method == restinio::http_method_get()) return Method::kGet;
  if (method == restinio::http_method_post()) return Method::kPost;
  if (method == restinio::http_method_patch()) return Method::kPatch;
  if (method == restinio::http_method_put()) return Method::kPut;
  if (method == restinio::http_method_delete()) return Method::kDelete;
  return std::nullopt;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

using Traits = restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t>;

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  Dispatch dispatch;
  restinio::running_server_handle_t<Traits> server;
  std::atomic<std::uint16_t> bound_port{0};

  restinio::request_handling_status_t handle(const restinio::request_handle_t& raw) {
    plugin_api::Request request;
    const auto method = method_of(raw->header().method());
    const std::string_view path = raw->header().path();
    request.path = std::string(path);
    for (const auto& field : raw->header()) request.headers[lower(field.name())] = field.value();
    request.body = raw->body();
    auto respond = [raw](plugin_api::Response response) {
      const restinio::http_status_line_t status_line{
          restinio::http_status_code_t{static_cast<std::uint16_t>(response.status)},
          std::string(plugin_api::status_title(response.status))};
      if (response.status == 304) {
        // No body, and the Content-Length the response names: the length
        // of the content the 304 stands for (RFC 9110 8.6). RESTinio's
        // usual builder would write that of the empty body, 0.
        auto builder = raw->create_response<restinio::user_controlled_output_t>(status_line);
        builder.append_header(restinio::http_field::content_type, response.content_type);
        for (auto& [name, value] : response.headers) {
          if (lower(name) != "content-length") {
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
      respond(plugin_api::Response::problem(400, "validation", std::string("malformed query string: ") + e.what()));
      return restinio::request_accepted();
    }
    auto once = std::make_shared<std::atomic<bool>>(false);
    dispatch(std::move(request), [respond, once](plugin_api::Response response) {
      if (once->exchange(true)) return;  // a second answer would be a bug; ignore it
      respond(std::move(response));
    });
    return restinio::request_accepted();
  }
};

HttpServer::HttpServer(HttpOptions options, Dispatch dispatch) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->dispatch = std::move(dispatch);
}

HttpServer::~HttpServer() { stop(); }

protocol::Result<std::uint16_t> HttpServer::start() {
  Impl* impl = impl_.get();
  const HttpOptions& o = impl->options;
  try {
    auto settings = restinio::server_settings_t<Traits>{}
                        .address(o.address)
                        .port(o.port)
                        .read_next_http_message_timelimit(o.read_timeout)
                        .handle_request_timeout(o.handle_timeout)
                        .write_http_response_timelimit(std::chrono::seconds(30))
                        .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                                      .max_url_size(8192)
                                                      .max_field_name_size(1024)
                                                      .max_field_value_size(16384)
                                                      .max_body_size(std::max<std::uint64_t>(1 << 20, 16 * o.body_limit)))
                        .acceptor_post_bind_hook([impl](asio::ip::tcp::acceptor& acceptor) {
                          impl->bound_port = acceptor.local_endpoint().port();
                        })
                        .request_handler([impl](const restinio::request_handle_t& request) { return impl->handle(request); });
    impl->server = restinio::run_async<Traits>(restinio::own_io_context(), std::move(settings), o.threads);
  } catch (const std::exception& e) {
    return protocol::Status(protocol::Code::kUnavailable,
                            "cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " + e.what());
  }
  return impl->bound_port.load();
}

void HttpServer::stop() {
  if (!impl_->server) return;
  impl_->server->stop();
  impl_->server->wait();
  impl_->server.reset();
}

}  // namespace ates::server
