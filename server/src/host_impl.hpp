// Host::Impl: the parts of one host and how they are wired. Private to
// host.cpp (start-up, control commands, shutdown) and host_dispatch.cpp
// (the path of an HTTP request); host.cpp has the map of the parts.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/base/clock.hpp"
#include "ates/bus/bus.hpp"
#include "ates/storage/environment.hpp"
#include "ates/storage/lock_file.hpp"

#include "admin_routes.hpp"
#include "asyncapi.hpp"
#include "auth_gate.hpp"
#include "backup_schedule.hpp"
#include "config.hpp"
#include "control_server.hpp"
#include "dev_watcher.hpp"
#include "host.hpp"
#include "http_server.hpp"
#include "inflight.hpp"
#include "metrics.hpp"
#include "openapi.hpp"
#include "parking_lot.hpp"
#include "plugin_loader.hpp"
#include "plugin_manager.hpp"
#include "request_contract.hpp"
#include "router.hpp"
#include "ui_files.hpp"

namespace ates::server {

// At most this many requests wait for the replica of auth.users at once;
// more get 503 at once.
inline constexpr std::size_t kMaxParkedRequests = 1024;

// Tells a callback that an environment committed. Runs on the writer
// thread: only a notification.
class CommitNotice final : public storage::CommitObserver {
 public:
  explicit CommitNotice(std::function<void()> notify) : notify_(std::move(notify)) {}
  void on_commit(const storage::CommitInfo&) override { notify_(); }

 private:
  std::function<void()> notify_;
};

// Members are declared in the order they are made; shutdown() takes them
// down in the order the parts need, not the reverse of this list.
struct Host::Impl {
  Settings settings;
  std::filesystem::path exe_dir;
  std::filesystem::path data_dir;
  std::optional<storage::DataDirLock> lock;
  base::SystemClock real_clock;  // tokens and throttling
  std::unique_ptr<base::Clock> business_clock;
  base::ManualClock* fake_clock = nullptr;  // set with --fake-clock
  MetricsRegistry metrics;
  RouteTable routes;
  InflightWork inflight;
  std::unique_ptr<PluginLoader> loader;
  std::unique_ptr<PluginManager> plugins;
  // Each plugin's storage by name, for HostContext::read_stream; filled
  // before the plugins are created, fixed afterwards.
  std::map<std::string, storage::Environment*, std::less<>> producer_envs;
  std::unique_ptr<bus::Bus> bus;
  std::unique_ptr<EventsAdmin> events;
  // <data>/host/: the replica of auth.users that every token is checked against.
  std::unique_ptr<storage::Environment> host_env;
  std::unique_ptr<plugin_api::Idempotency> idempotency;  // the host's routes' answers, in host_env
  std::unique_ptr<AuthGate> auth;
  std::unique_ptr<ParkingLot> parking;
  std::unique_ptr<CommitNotice> replica_moved;
  // The UI's files, in memory; set before the HTTP server starts, reloaded
  // by --dev's watcher.
  std::unique_ptr<UiServer> ui = std::make_unique<UiServer>();
  std::unique_ptr<HttpServer> http;
  std::uint16_t port = 0;
  std::size_t body_limit = 65536;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_request{0};
  std::string request_prefix;
  std::unique_ptr<ControlServer> control;
  std::unique_ptr<DevWatcher> watcher;
  std::unique_ptr<BackupSchedule> backups;  // with backup.dir
  bool shut_down = false;

  ~Impl() { shutdown(); }
  void shutdown();

  base::Status load_plugins(const Settings& first, std::vector<std::string>& not_loaded);
  base::Status open_replica();
  // Answers every request exactly once, whatever any part of it throws.
  // `may_park`: false for a request routed again after waiting, which
  // must not wait twice.
  void dispatch(plugin_api::Request request, plugin_api::Responder respond, bool may_park = true);
  void route_request(plugin_api::Request request, plugin_api::Responder respond, bool may_park);
  void load_ui();  // reads the UI folder (again), logging what it left out
  nlohmann::json control_command(const nlohmann::json& command);
  nlohmann::json audit();
  base::Result<nlohmann::json> backup(const std::filesystem::path& dest);
  nlohmann::json status_json(PluginManager::Detail detail) const;
  bool ready() const;
  // Copies the bus's counters (refused connections, dropped frames) into
  // the registry, just before /metrics renders it.
  void record_bus_metrics();
};

}  // namespace ates::server
