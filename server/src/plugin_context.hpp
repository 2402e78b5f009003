// The host's side of plugin_api::HostContext for one plugin: its storage,
// its routes (registered in the host's table under /api/v1/<plugin>), its
// config section, the business clock, logging and metrics. In
// RunMode::kReadOnly there is no bus: services are not served, calls
// answer unavailable and subscriptions are kept but never run.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "ates/bus/bus.hpp"
#include "ates/plugin_api/context.hpp"

#include "config.hpp"
#include "metrics.hpp"
#include "router.hpp"

namespace ates::server {

class PluginConfig final : public plugin_api::Config {
 public:
  PluginConfig(const Settings& settings, std::string plugin)
      : settings_(settings), prefix_(std::move(plugin) + ".") {}
  std::string get_string(std::string_view key) const override {
    return settings_.get_string(prefix_ + std::string(key));
  }
  std::int64_t get_int(std::string_view key) const override {
    return settings_.get_int(prefix_ + std::string(key));
  }
  bool get_bool(std::string_view key) const override {
    return settings_.get_bool(prefix_ + std::string(key));
  }

 private:
  const Settings& settings_;
  std::string prefix_;
};

class PluginLogger final : public plugin_api::Logger {
 public:
  explicit PluginLogger(std::string plugin) : plugin_(std::move(plugin)) {}
  void log(plugin_api::LogLevel level, std::string_view message, std::string_view request_id) override;

 private:
  std::string plugin_;
};

class PluginMetrics final : public plugin_api::Metrics {
 public:
  PluginMetrics(MetricsRegistry& registry, std::string plugin)
      : registry_(registry), plugin_(std::move(plugin)) {}
  void add(std::string_view counter, double value) override {
    registry_.add("ates_" + std::string(counter), {{"plugin", plugin_}}, value, "a plugin's counter");
  }
  void set(std::string_view gauge, double value) override {
    registry_.set("ates_" + std::string(gauge), {{"plugin", plugin_}}, value, "a plugin's gauge");
  }

 private:
  MetricsRegistry& registry_;
  std::string plugin_;
};

// Where read_stream() finds a stream's producer: the storage of the plugin
// named, or null when that plugin's storage is not in this host. Fixed
// once the host has opened every plugin's storage, so it takes no lock.
using ProducerLookup = std::function<storage::Environment*(std::string_view plugin)>;

// Reads `stream` from a producer's outbox (HostContext::read_stream): at
// most `max` (and 4096) events from `from_seq` on, upcast.
base::Result<std::vector<protocol::Envelope>> read_stream_from(const storage::Environment& env,
                                                               std::string_view stream,
                                                               std::uint64_t from_seq, std::size_t max);

// What every plugin's context shares with the host.
struct ContextServices {
  RouteTable& routes;
  const Settings& settings;
  base::Clock& clock;
  MetricsRegistry& metrics;
  bus::Bus* bus;                   // null in RunMode::kReadOnly
  std::filesystem::path data_dir;  // where secrets for the operator go when stdout is no terminal
  plugin_api::RunMode mode = plugin_api::RunMode::kServe;
  ProducerLookup producers;
};

class PluginContext final : public plugin_api::HostContext {
 public:
  PluginContext(std::string name, storage::Environment& env, const ContextServices& services)
      : bus_(services.bus),
        data_dir_(services.data_dir),
        mode_(services.mode),
        producers_(services.producers),
        name_(std::move(name)),
        env_(env),
        routes_(services.routes),
        config_(services.settings, name_),
        clock_(services.clock),
        logger_(name_),
        metrics_(services.metrics, name_) {}

  std::string_view plugin_name() const override { return name_; }
  storage::Environment& storage() override { return env_; }
  void add_route(plugin_api::Route route) override;
  const plugin_api::Config& config() const override { return config_; }
  base::Clock& business_clock() override { return clock_; }
  plugin_api::Logger& log() override { return logger_; }
  plugin_api::Metrics& metrics() override { return metrics_; }
  void subscribe(std::string stream, plugin_api::EventHandler handler) override {
    subscriptions_.push_back({name_, std::move(stream), &env_, std::move(handler)});
  }
  bool stream_complete_up_to(std::string_view stream, std::int64_t time_us) const override {
    return bus_ != nullptr && bus_->complete_up_to(name_, stream, time_us);
  }
  void serve(std::string service, plugin_api::RpcHandler handler) override {
    if (bus_ == nullptr) return;  // read-only: nothing is served
    {
      std::lock_guard lock(commands_mutex_);
      services_.push_back(service);
    }
    bus_->serve(std::move(service), std::move(handler));
  }
  base::Result<std::string> call(const std::string& peer, const std::string& service,
                                 std::string_view request, std::chrono::milliseconds timeout) override {
    if (bus_ == nullptr) return base::Status(base::Code::kUnavailable, "no bus: the plugin is read-only");
    return bus_->call(peer, service, request, timeout);
  }
  // Takes the plugin's services off the bus, after any call running now.
  void clear_services() {
    std::vector<std::string> services;
    {
      std::lock_guard lock(commands_mutex_);
      services.swap(services_);
    }
    for (const auto& service : services) bus_->unserve(service);
  }
  plugin_api::StreamProgress stream_progress(std::string_view stream) const override;
  base::Result<std::vector<plugin_api::OpenDeadLetter>> open_dead_letters(
      std::string_view stream) const override;

  void add_command(std::string name, plugin_api::CommandHandler handler) override {
    std::lock_guard lock(commands_mutex_);
    commands_[std::move(name)] = std::move(handler);
  }
  base::Result<std::string> hand_over_secret(std::string_view file_name, std::string_view secret,
                                             std::string_view line) override;
  plugin_api::RunMode mode() const override { return mode_; }
  base::Result<std::vector<protocol::Envelope>> read_stream(std::string_view stream, std::uint64_t from_seq,
                                                            std::size_t max) const override;

  base::Result<nlohmann::json> run_command(const std::string& name, const nlohmann::json& args) {
    plugin_api::CommandHandler handler;
    {
      std::lock_guard lock(commands_mutex_);
      auto it = commands_.find(name);
      if (it == commands_.end())
        return base::Status(base::Code::kNotFound, name_ + " has no command " + name);
      handler = it->second;
    }
    return handler(args);
  }
  bool has_command(const std::string& name) {
    std::lock_guard lock(commands_mutex_);
    return commands_.contains(name);
  }
  void clear_commands() {
    std::lock_guard lock(commands_mutex_);
    commands_.clear();
  }

  // The consumers the plugin asked for; the host starts them after the
  // plugin's start and forgets them when it stops.
  std::vector<bus::ConsumerSpec> take_subscriptions() { return std::exchange(subscriptions_, {}); }

 private:
  bus::Bus* bus_;  // null in RunMode::kReadOnly
  std::filesystem::path data_dir_;
  plugin_api::RunMode mode_;
  ProducerLookup producers_;
  std::vector<bus::ConsumerSpec> subscriptions_;
  std::mutex commands_mutex_;  // guards commands_ and services_
  std::map<std::string, plugin_api::CommandHandler> commands_;
  std::vector<std::string> services_;
  std::string name_;
  storage::Environment& env_;
  RouteTable& routes_;
  PluginConfig config_;
  base::Clock& clock_;
  PluginLogger logger_;
  PluginMetrics metrics_;
};

}  // namespace ates::server
