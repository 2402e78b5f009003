// HttpServer and the plain-HTTP listener; the TLS one is in https_server.cpp.
#include "restinio_listener.hpp"

namespace ates::server {

namespace detail {

std::optional<plugin_api::Method> method_of(const restinio::http_method_id_t& method) {
  using plugin_api::Method;
  if (method == restinio::http_method_get()) return Method::kGet;
  if (method == restinio::http_method_post()) return Method::kPost;
  if (method == restinio::http_method_patch()) return Method::kPatch;
  if (method == restinio::http_method_put()) return Method::kPut;
  if (method == restinio::http_method_delete()) return Method::kDelete;
  return std::nullopt;
}

std::string lower_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace detail

struct HttpServer::Impl {
  HttpOptions options;
  Dispatch dispatch;
  std::unique_ptr<detail::Listener> listener;
};

HttpServer::HttpServer(HttpOptions options, Dispatch dispatch) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->dispatch = std::move(dispatch);
}

HttpServer::~HttpServer() { stop(); }

base::Result<std::uint16_t> HttpServer::start() {
  const HttpOptions& o = impl_->options;
  if (!o.tls_cert.empty() || !o.tls_key.empty()) {
    auto tls = detail::make_tls_listener(o, impl_->dispatch);
    if (!tls) return tls.status();
    impl_->listener = std::move(tls).value();
  } else {
    impl_->listener = std::make_unique<detail::RestinioListener<asio::ip::tcp::socket>>(
        o, impl_->dispatch, nullptr, /*hsts=*/false);
  }
  return impl_->listener->start();
}

void HttpServer::stop() {
  if (!impl_->listener) return;
  impl_->listener->stop();
  impl_->listener.reset();
}

}  // namespace ates::server
