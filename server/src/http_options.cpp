#include "http_options.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <sys/resource.h>

namespace ates::server {

using base::Status;

base::Result<HttpOptions> http_options(const Settings& s) {
  HttpOptions http;
  const std::string listen = s.get_string("http.listen");
  http.address = listen.substr(0, listen.rfind(':'));
  http.port = static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
  http.threads = static_cast<std::size_t>(std::max<std::int64_t>(1, s.get_int("http.threads")));
  http.body_limit = static_cast<std::size_t>(s.get_int("http.body_limit"));
  http.read_timeout = std::chrono::milliseconds(s.get_int("http.read_timeout_ms"));
  http.handle_timeout = std::chrono::milliseconds(s.get_int("http.handle_timeout_ms"));
  auto at_least = [&](std::string_view key, std::int64_t min) -> Status {
    if (s.get_int(key) >= min) return Status::ok();
    return base::invalid_argument("bad value for '" + std::string(key) + "' (" + s.source(key) +
                                  "): at least " + std::to_string(min) + ", got " +
                                  std::to_string(s.get_int(key)));
  };
  if (Status status = at_least("http.max_connections", 1); !status) return status;
  if (Status status = at_least("http.header_limit", 1024); !status) return status;
  http.max_connections = static_cast<std::size_t>(s.get_int("http.max_connections"));
  http.header_limit = static_cast<std::size_t>(s.get_int("http.header_limit"));
  http.tls_cert = s.get_string("http.tls_cert");
  http.tls_key = s.get_string("http.tls_key");
  auto trusted = TrustedProxies::parse(s.get_list("http.trusted_proxies"));
  if (!trusted) {
    return base::invalid_argument("bad value for 'http.trusted_proxies' (" +
                                  s.source("http.trusted_proxies") + "): " + trusted.status().message());
  }
  http.trusted_proxies = std::move(trusted).value();
  return http;
}

void ensure_descriptors(std::size_t connections) {
  constexpr rlim_t kReserve = 256;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(connections) + kReserve;
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    spdlog::warn(
        "http.max_connections is {} but only {} file descriptors are allowed (ulimit -n); lower it to {} or "
        "raise the limit",
        connections, limit.rlim_cur, limit.rlim_cur > kReserve ? limit.rlim_cur - kReserve : 1);
  }
}

}  // namespace ates::server
