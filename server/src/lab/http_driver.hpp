// A keep-alive HTTP client for the lab and the whole-system benchmarks:
// one libcurl easy handle, one connection reused for every request, so the
// figures time ates and not a TCP handshake per request.
//
// Thread-safety: none; give each client thread its own HttpDriver.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace ates::lab {

struct Answer {
  long status = 0;  // 0: no answer (refused, dropped, timed out)
  std::string body;
  double ms = 0;  // from sending to the whole answer
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

class HttpDriver {
 public:
  explicit HttpDriver(std::string base_url);
  ~HttpDriver();
  HttpDriver(const HttpDriver&) = delete;
  HttpDriver& operator=(const HttpDriver&) = delete;

  // `token` empty: no Authorization header. `body` is JSON.
  Answer get(const std::string& path, const std::string& token = {});
  Answer post(const std::string& path, const std::string& token = {}, const std::string& body = {});
  // Like post(), but throws unless the answer has status `expect`.
  nlohmann::json post_expect(const std::string& path, const std::string& token, const std::string& body,
                             long expect);
  nlohmann::json get_expect(const std::string& path, const std::string& token, long expect = 200);
  const std::string& base() const { return base_; }

 private:
  Answer perform(const std::string& path, const std::string& token, const std::string* post_body);
  std::string base_;
  void* curl_;
};

// Calls curl_global_init once per process (it is not thread-safe).
void init_http();

}  // namespace ates::lab
