#include "plugin_context.hpp"

#include <spdlog/spdlog.h>

#include "secret_file.hpp"

namespace ates::server {

using protocol::Code;
using protocol::Status;

void PluginLogger::log(plugin_api::LogLevel level, std::string_view message, std::string_view request_id) {
  const auto spd_level = level == plugin_api::LogLevel::kDebug  ? spdlog::level::debug
                         : level == plugin_api::LogLevel::kInfo ? spdlog::level::info
                         : level == plugin_api::LogLevel::kWarn ? spdlog::level::warn
                                                                : spdlog::level::err;
  if (request_id.empty()) {
    spdlog::log(spd_level, "[{}] {}", plugin_, message);
  } else {
    spdlog::log(spd_level, "[{}] [{}] {}", plugin_, request_id, message);
  }
}

protocol::Result<std::string> PluginContext::hand_over_secret(std::string_view file_name,
                                                              std::string_view secret,
                                                              std::string_view line) {
  auto handed = server::hand_over_secret(data_dir_, file_name, secret, line);
  if (!handed) return handed.status();
  return handed->string();
}

void PluginContext::add_route(plugin_api::Route route) {
  std::string full = "/api/v1/" + name_ + route.pattern;
  if (!routes_.add(name_, full, std::move(route)))
    spdlog::error("[{}] route {} registered twice", name_, full);
}

plugin_api::StreamProgress PluginContext::stream_progress(std::string_view stream) const {
  for (const auto& c : bus_.consumers()) {
    if (c.consumer != name_ || c.stream != stream) continue;
    return {c.applied_seq, c.head_seq, c.watermark, std::string(bus::to_string(c.state))};
  }
  return {};
}

protocol::Result<std::vector<plugin_api::OpenDeadLetter>> PluginContext::open_dead_letters(
    std::string_view stream) const {
  std::vector<plugin_api::OpenDeadLetter> open;
  try {
    for (const auto& letter : bus::dead_letters(env_, name_)) {
      if (!letter.resolved && letter.stream == stream)
        open.push_back({letter.id, letter.seq, letter.event_time_us});
    }
  } catch (const std::exception& e) {
    return Status(Code::kInternal, "reading the dead letters of " + name_ + ": " + e.what());
  }
  return open;
}

}  // namespace ates::server
