#include "http_driver.hpp"

#include <mutex>
#include <stdexcept>

#include <curl/curl.h>

namespace ates::lab {

namespace {

std::size_t append(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

void init_http() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpDriver::HttpDriver(std::string base_url) : base_(std::move(base_url)), curl_(nullptr) {
  init_http();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw std::runtime_error("libcurl: no easy handle");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &append);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
  curl_ = curl;
}

HttpDriver::~HttpDriver() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Answer HttpDriver::perform(const std::string& path, const std::string& token, const std::string* post_body) {
  CURL* curl = static_cast<CURL*>(curl_);
  Answer answer;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  const std::string url = base_ + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (post_body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
    curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, post_body->c_str());
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }
  const auto start = std::chrono::steady_clock::now();
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  answer.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  return answer;
}

Answer HttpDriver::get(const std::string& path, const std::string& token) {
  return perform(path, token, nullptr);
}

Answer HttpDriver::post(const std::string& path, const std::string& token, const std::string& body) {
  return perform(path, token, &body);
}

nlohmann::json HttpDriver::post_expect(const std::string& path, const std::string& token,
                                       const std::string& body, long expect) {
  const Answer answer = post(path, token, body);
  if (answer.status != expect) {
    throw std::runtime_error("POST " + path + " answered " + std::to_string(answer.status) + " instead of " +
                             std::to_string(expect) + ": " + answer.body);
  }
  return answer.json();
}

nlohmann::json HttpDriver::get_expect(const std::string& path, const std::string& token, long expect) {
  const Answer answer = get(path, token);
  if (answer.status != expect) {
    throw std::runtime_error("GET " + path + " answered " + std::to_string(answer.status) + " instead of " +
                             std::to_string(expect) + ": " + answer.body);
  }
  return answer.json();
}

}  // namespace ates::lab
