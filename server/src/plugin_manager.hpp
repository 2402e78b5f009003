// The plugins of one host: a slot per plugin, and the moves between its
// states.
//
//   loaded ──start──▶ running ──stop_plugin──▶ stopped ──start_plugin──▶ running
//     │                  │  ▲                                              │
//     │                  └──┴── reload (reloading, then running or failed) ◀┘
//     └──start fails──▶ failed (its library unloaded; a reload tries again)
//
// A slot keeps its storage and its context across every move: only the
// library and the instance come and go. Stopping a plugin takes its routes
// away first (503 + Retry-After meanwhile), then its consumers, services
// and commands, waits for its work in flight, stops and destroys it, drains
// its storage writer, and unloads its library. Starting it again loads its
// file anew: the new code is what runs.
//
// Thread-safety: reload, stop_plugin, start_plugin, run_command, status and
// environments may run on any thread; one mutex serialises the moves.
// add(), the fields of a slot before start_all(), and the close at
// shutdown belong to the thread that starts and stops the host.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/bus/bus.hpp"
#include "ates/storage/environment.hpp"

#include "admin_routes.hpp"
#include "inflight.hpp"
#include "metrics.hpp"
#include "plugin_context.hpp"
#include "plugin_loader.hpp"
#include "router.hpp"

namespace ates::server {

enum class PluginState { kLoaded, kRunning, kFailed, kReloading, kStopped };
std::string_view to_string(PluginState state);

struct PluginSlot {
  std::string name;
  std::filesystem::path file;
  PluginLibrary library;
  void* instance = nullptr;
  std::unique_ptr<storage::Environment> env;
  std::unique_ptr<PluginContext> context;
  std::unique_ptr<StorageMetrics> storage_metrics;
  PluginState state = PluginState::kLoaded;
  std::string error;
};

class PluginManager {
 public:
  PluginManager(PluginLoader& loader, RouteTable& routes, InflightWork& inflight)
      : loader_(loader), routes_(routes), inflight_(inflight) {}

  // Loads `file` (to learn the keys it declares); the plugin runs nothing yet.
  base::Result<PluginSlot*> add(std::string name, std::filesystem::path file);
  // The slots in the order they were added, for start-up to give each its
  // storage and context.
  const std::vector<std::unique_ptr<PluginSlot>>& slots() const { return slots_; }

  // Consumers of started plugins join this bus; set before start_all(),
  // cleared before the bus goes.
  void set_bus(bus::Bus* bus) {
    std::lock_guard lock(mutex_);
    bus_ = bus;
  }

  // Starts every loaded plugin; one that fails is unloaded and reported,
  // and the others start anyway.
  void start_all();
  base::Status reload(const std::string& name);
  base::Status stop_plugin(const std::string& name);
  base::Status start_plugin(const std::string& name);
  // A command a running plugin registered; counted as its work in flight.
  base::Result<nlohmann::json> run_command(const std::string& plugin, const std::string& name,
                                           const nlohmann::json& args);

  // Whether `plugin` runs and has registered command `name`.
  bool has_command(const std::string& plugin, const std::string& name) const;

  // What status() shows of each plugin: the public part (/readyz), or also
  // its "api" version and "build_id", for operators (`ates status`); a
  // visitor is not told which build runs.
  enum class Detail { kPublic, kBuilds };
  // [{"name", "state", "error"?, "api"?, "build_id"?}] in order.
  nlohmann::json status(Detail detail = Detail::kPublic) const;
  // Each plugin's name and state, in order.
  std::vector<std::pair<std::string, PluginState>> states() const;
  bool all_running() const;
  ConsumerEnvironments environments() const;
  std::vector<std::filesystem::path> files() const;
  std::string name_of(const std::filesystem::path& file) const;  // "" when no slot has it

  // Shutdown, in two halves with the bus going between them: stop every
  // plugin (last added first), then close their storage and unload what is
  // still loaded.
  void stop_all();
  void close_all();

 private:
  PluginSlot* find(const std::string& name);  // with mutex_ held
  base::Status start(PluginSlot& slot);       // with mutex_ held
  void stop(PluginSlot& slot);                // with mutex_ held
  base::Status load_and_start(PluginSlot& slot);
  void drain(PluginSlot& slot);  // waits for every unit the plugin queued
  void unload(PluginLibrary& library);

  PluginLoader& loader_;
  RouteTable& routes_;
  InflightWork& inflight_;
  bus::Bus* bus_ = nullptr;
  mutable std::mutex mutex_;  // guards every slot's state, error, instance and library
  std::vector<std::unique_ptr<PluginSlot>> slots_;
};

}  // namespace ates::server
