#include "plugin_context.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "ates/protocol/events.hpp"

#include "log_format.hpp"
#include "secret_file.hpp"

namespace ates::server {

using base::Code;
using base::Status;

namespace {

// The bus's view of a consumer, as the plugin API names it.
plugin_api::ConsumerState consumer_state(bus::ConsumerState state) {
  switch (state) {
    case bus::ConsumerState::kStarting:
      return plugin_api::ConsumerState::kStarting;
    case bus::ConsumerState::kRunning:
      return plugin_api::ConsumerState::kRunning;
    case bus::ConsumerState::kStalled:
      return plugin_api::ConsumerState::kStalled;
    case bus::ConsumerState::kHalted:
      return plugin_api::ConsumerState::kHalted;
  }
  return plugin_api::ConsumerState::kNone;
}

}  // namespace

void PluginLogger::log(plugin_api::LogLevel level, std::string_view message, std::string_view request_id) {
  const auto spd_level = level == plugin_api::LogLevel::kDebug  ? spdlog::level::debug
                         : level == plugin_api::LogLevel::kInfo ? spdlog::level::info
                         : level == plugin_api::LogLevel::kWarn ? spdlog::level::warn
                                                                : spdlog::level::err;
  // A line written while this thread handles a request names it, even when
  // the plugin did not pass its id.
  if (request_id.empty()) request_id = current_request_id();
  if (request_id.empty()) {
    spdlog::log(spd_level, "[{}] {}", plugin_, message);
  } else {
    spdlog::log(spd_level, "[{}] [{}] {}", plugin_, request_id, message);
  }
}

base::Result<std::string> PluginContext::hand_over_secret(std::string_view file_name, std::string_view secret,
                                                          std::string_view line) {
  if (mode_ == plugin_api::RunMode::kReadOnly)
    return Status(Code::kUnavailable, "the data directory is open read-only");
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
  if (bus_ == nullptr) return {};
  for (const auto& c : bus_->consumers()) {
    if (c.consumer != name_ || c.stream != stream) continue;
    return {c.applied_seq, c.head_seq, c.watermark, consumer_state(c.state)};
  }
  return {};
}

base::Result<std::vector<plugin_api::OpenDeadLetter>> PluginContext::open_dead_letters(
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

namespace ates::server {

base::Result<std::vector<protocol::Envelope>> read_stream_from(const storage::Environment& env,
                                                               std::string_view stream,
                                                               std::uint64_t from_seq, std::size_t max) {
  constexpr std::size_t kMaxPerCall = 4096;
  std::vector<protocol::Envelope> events;
  try {
    storage::ReadTxn txn = env.read();
    std::uint64_t seq = std::max<std::uint64_t>(from_seq, 1);
    for (const auto& bytes : env.read_outbox(txn, stream, seq, std::min(max, kMaxPerCall))) {
      auto event = protocol::decode_event(bytes);
      if (!event) {
        return Status(Code::kInternal, std::string(stream) + " seq " + std::to_string(seq) +
                                           " does not decode: " + event.status().message());
      }
      // A caller pages on by the sequences it got: one that is not where
      // it is stored would send it back, or round and round.
      if (event->seq != seq) {
        return Status(Code::kInternal, std::string(stream) + " seq " + std::to_string(seq) + " holds seq " +
                                           std::to_string(event->seq));
      }
      events.push_back(std::move(event).value());
      ++seq;
    }
  } catch (const std::exception& e) {
    return Status(Code::kInternal, "reading " + std::string(stream) + ": " + e.what());
  }
  return events;
}

base::Result<std::vector<protocol::Envelope>> PluginContext::read_stream(std::string_view stream,
                                                                         std::uint64_t from_seq,
                                                                         std::size_t max) const {
  const auto* spec = protocol::Registry::instance().find_stream(stream);
  if (spec == nullptr) return Status(Code::kNotFound, "unknown stream " + std::string(stream));
  storage::Environment* producer = producers_ ? producers_(spec->producer) : nullptr;
  if (producer == nullptr) {
    return Status(Code::kUnavailable, std::string(stream) + " is produced by " + std::string(spec->producer) +
                                          ", whose storage is not in this host");
  }
  return read_stream_from(*producer, stream, from_seq, max);
}

}  // namespace ates::server
