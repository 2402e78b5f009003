#include "log_format.hpp"

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include "ates/protocol/time.hpp"

namespace ates::server {

namespace {

thread_local std::string current_request;

// "[name] " at the front of `text`: the name, and `text` moved past it.
std::string_view take_bracketed(std::string_view& text) {
  if (text.size() < 3 || text.front() != '[') return {};
  const auto close = text.find("] ");
  if (close == std::string_view::npos || close == 1 ||
      text.substr(1, close - 1).find('[') != std::string_view::npos)
    return {};
  const std::string_view name = text.substr(1, close - 1);
  text.remove_prefix(close + 2);
  return name;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto time_us =
        std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string line =
        json_log_line(time_us, std::string_view(level.data(), level.size()),
                      std::string_view(msg.payload.data(), msg.payload.size()), current_request_id());
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

std::string json_log_line(std::int64_t time_us, std::string_view level, std::string_view text,
                          std::string_view request_id) {
  nlohmann::ordered_json line;
  // format_utc's second, and the microseconds within it.
  std::string when = protocol::format_utc(time_us);
  char micros[16];
  std::snprintf(micros, sizeof micros, ".%06lldZ", static_cast<long long>(time_us % 1'000'000));
  when.replace(when.size() - 1, 1, micros);
  line["time"] = when;
  line["level"] = level;
  // "[component] [request id] message", each part optional.
  std::string_view rest = text;
  const std::string_view component = take_bracketed(rest);
  std::string_view named_request = component.empty() ? std::string_view() : take_bracketed(rest);
  if (named_request.empty()) {
    named_request = request_id;
  }
  if (!component.empty()) line["component"] = component;
  if (!named_request.empty()) line["request_id"] = named_request;
  // Text is not always UTF-8 (a peer's bytes in a message): replaced, never
  // a broken line.
  line["message"] = rest;
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

base::Status use_log_format(std::string_view format) {
  if (format == "text") return base::Status::ok();
  if (format == "json") {
    spdlog::set_formatter(std::make_unique<JsonFormatter>());
    return base::Status::ok();
  }
  return base::invalid_argument("log.format: '" + std::string(format) + "' is neither text nor json");
}

std::string_view current_request_id() { return current_request; }

RequestScope::RequestScope(std::string request_id)
    : previous_(std::exchange(current_request, std::move(request_id))) {}

RequestScope::~RequestScope() { current_request = std::move(previous_); }

}  // namespace ates::server
