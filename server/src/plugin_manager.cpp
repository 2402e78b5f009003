#include "plugin_manager.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace ates::server {

using base::Code;
using base::Status;

std::string_view to_string(PluginState state) {
  switch (state) {
    case PluginState::kLoaded:
      return "loaded";
    case PluginState::kRunning:
      return "running";
    case PluginState::kFailed:
      return "failed";
    case PluginState::kReloading:
      return "reloading";
    case PluginState::kStopped:
      return "stopped";
  }
  return "unknown";
}

base::Result<PluginSlot*> PluginManager::add(std::string name, std::filesystem::path file) {
  if (!is_plugin_name(name)) {
    return Status(Code::kInvalidArgument, "plugin file " + file.string() + ": '" + name +
                                              "' is not a plugin name (a-z, 0-9 and _, a letter first)");
  }
  auto library = loader_.load(file);
  if (!library) return library.status();
  if (library->name != name) {
    Status wrong(Code::kInvalidArgument,
                 "plugin file " + file.string() + " names itself '" + library->name + "'");
    unload(*library);
    return wrong;
  }
  if (!library->build_id_mismatch.empty()) spdlog::warn("plugin {}: {}", name, library->build_id_mismatch);
  auto slot = std::make_unique<PluginSlot>();
  slot->name = std::move(name);
  slot->file = std::move(file);
  slot->library = std::move(library).value();
  std::lock_guard lock(mutex_);
  slots_.push_back(std::move(slot));
  return slots_.back().get();
}

void PluginManager::start_all() {
  std::lock_guard lock(mutex_);
  for (auto& slot : slots_) {
    if (Status status = start(*slot); !status)
      spdlog::error("plugin {} failed to start and was unloaded: {}", slot->name, status.message());
  }
}

Status PluginManager::start(PluginSlot& slot) {
  char error[512] = {};
  const auto* entry = slot.library.entry;
  // What a plugin registered before it failed goes with it.
  const auto forget = [&] {
    routes_.remove_owner(slot.name);
    slot.context->take_subscriptions();
    slot.context->clear_services();
  };
  slot.instance = entry->create(slot.context.get(), error, sizeof error);
  if (slot.instance == nullptr) {
    forget();
    slot.state = PluginState::kFailed;
    slot.error = std::string("create failed: ") + error;
    unload(slot.library);
    return Status(Code::kInternal, slot.error);
  }
  if (entry->start(slot.instance, error, sizeof error) != 0) {
    forget();
    entry->stop(slot.instance);
    entry->destroy(slot.instance);
    slot.instance = nullptr;
    slot.state = PluginState::kFailed;
    slot.error = std::string("start failed: ") + error;
    // Whatever the plugin queued must be done before its code goes.
    drain(slot);
    unload(slot.library);
    return Status(Code::kInternal, slot.error);
  }
  for (auto& subscription : slot.context->take_subscriptions()) {
    if (Status status = bus_->add_consumer(std::move(subscription)); !status)
      spdlog::error("[{}] {}", slot.name, status.message());
  }
  slot.state = PluginState::kRunning;
  slot.error.clear();
  spdlog::info("plugin {} started ({})", slot.name, slot.file.string());
  return Status::ok();
}

void PluginManager::stop(PluginSlot& slot) {
  if (slot.instance == nullptr) return;
  routes_.remove_owner(slot.name);
  // Consumers first: each stops between batches, so no plugin code runs
  // from the bus once this returns.
  if (bus_ != nullptr) bus_->remove_consumers(slot.name);
  slot.context->clear_services();
  slot.context->clear_commands();
  if (!inflight_.wait_idle(slot.name, std::chrono::seconds(10)))
    spdlog::warn("plugin {}: work still in flight after 10 s; stopping it anyway", slot.name);
  slot.library.entry->stop(slot.instance);
  drain(slot);
  slot.library.entry->destroy(slot.instance);
  slot.instance = nullptr;
  unload(slot.library);
  slot.state = PluginState::kStopped;
}

// A no-op unit completes after every unit the plugin queued before it, and
// its completion after theirs: no plugin code runs from storage after this.
void PluginManager::drain(PluginSlot& slot) {
  if (Status drained = slot.env->run([](storage::WriteTxn&) { return Status::ok(); }); !drained)
    spdlog::error("plugin {}: draining its storage writer: {}", slot.name, drained.message());
}

// A library that stays loaded is reported, not fatal: its next load is a
// fresh copy under another name.
void PluginManager::unload(PluginLibrary& library) {
  if (Status unloaded = loader_.unload(library); !unloaded) spdlog::error("{}", unloaded.message());
}

PluginSlot* PluginManager::find(const std::string& name) {
  auto it = std::find_if(slots_.begin(), slots_.end(), [&](const auto& slot) { return slot->name == name; });
  return it == slots_.end() ? nullptr : it->get();
}

// Loads the slot's file again and starts it; its routes answer again
// either way (404 when the library did not load, not an endless 503).
Status PluginManager::load_and_start(PluginSlot& slot) {
  auto library = loader_.load(slot.file);
  if (!library) {
    slot.state = PluginState::kFailed;
    slot.error = library.status().message();
    spdlog::error("plugin {}: {}", slot.name, slot.error);
    routes_.set_reloading(slot.name, false);
    return library.status();
  }
  if (!library->build_id_mismatch.empty()) {
    spdlog::warn("plugin {}: {}", slot.name, library->build_id_mismatch);
  }
  slot.library = std::move(library).value();
  Status status = start(slot);
  routes_.set_reloading(slot.name, false);
  return status;
}

Status PluginManager::reload(const std::string& name) {
  std::lock_guard lock(mutex_);
  PluginSlot* slot = find(name);
  if (slot == nullptr) return Status(Code::kNotFound, "no plugin named " + name);
  // A stopped plugin stays stopped until started (which loads its file
  // then); a reload, by hand or by --dev's watcher, must not start it.
  if (slot->state == PluginState::kStopped)
    return Status(Code::kConflict, "plugin " + name + " is stopped; start it");
  spdlog::info("plugin {}: reloading from {}", name, slot->file.string());
  routes_.set_reloading(name, true);
  slot->state = PluginState::kReloading;
  stop(*slot);
  slot->state = PluginState::kReloading;
  return load_and_start(*slot);
}

Status PluginManager::stop_plugin(const std::string& name) {
  std::lock_guard lock(mutex_);
  PluginSlot* slot = find(name);
  if (slot == nullptr) return Status(Code::kNotFound, "no plugin named " + name);
  if (slot->state != PluginState::kRunning)
    return Status(Code::kConflict, "plugin " + name + " is " + std::string(to_string(slot->state)));
  spdlog::info("plugin {}: stopping until started again", name);
  routes_.set_reloading(name, true);  // 503 + Retry-After meanwhile, as during a reload
  stop(*slot);
  return Status::ok();
}

Status PluginManager::start_plugin(const std::string& name) {
  std::lock_guard lock(mutex_);
  PluginSlot* slot = find(name);
  if (slot == nullptr) return Status(Code::kNotFound, "no plugin named " + name);
  if (slot->state != PluginState::kStopped)
    return Status(Code::kConflict, "plugin " + name + " is " + std::string(to_string(slot->state)));
  spdlog::info("plugin {}: starting again from {}", name, slot->file.string());
  return load_and_start(*slot);
}

base::Result<nlohmann::json> PluginManager::run_command(const std::string& plugin, const std::string& name,
                                                        const nlohmann::json& args) {
  PluginContext* context = nullptr;
  {
    std::lock_guard lock(mutex_);
    for (const auto& slot : slots_) {
      if (slot->name == plugin && slot->state == PluginState::kRunning) context = slot->context.get();
    }
  }
  if (context == nullptr) return Status(Code::kNotFound, "plugin " + plugin + " does not run here");
  InflightWork::Scope running(inflight_, plugin);  // a reload waits for a running command
  return context->run_command(name, args);
}

bool PluginManager::has_command(const std::string& plugin, const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& slot : slots_) {
    if (slot->name == plugin && slot->state == PluginState::kRunning) return slot->context->has_command(name);
  }
  return false;
}

nlohmann::json PluginManager::status(Detail detail) const {
  nlohmann::json plugins = nlohmann::json::array();
  std::lock_guard lock(mutex_);
  for (const auto& slot : slots_) {
    nlohmann::json item = {{"name", slot->name}, {"state", std::string(to_string(slot->state))}};
    if (!slot->error.empty()) item["error"] = slot->error;
    if (const auto* entry = slot->library.entry; detail == Detail::kBuilds && entry != nullptr) {
      item["api"] = std::to_string(entry->api_major) + "." + std::to_string(entry->api_minor);
      item["build_id"] = entry->build_id;
    }
    plugins.push_back(std::move(item));
  }
  return plugins;
}

std::vector<std::pair<std::string, PluginState>> PluginManager::states() const {
  std::vector<std::pair<std::string, PluginState>> states;
  std::lock_guard lock(mutex_);
  for (const auto& slot : slots_) states.emplace_back(slot->name, slot->state);
  return states;
}

bool PluginManager::all_running() const {
  std::lock_guard lock(mutex_);
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const auto& slot) { return slot->state == PluginState::kRunning; });
}

ConsumerEnvironments PluginManager::environments() const {
  ConsumerEnvironments environments;
  std::lock_guard lock(mutex_);
  for (const auto& slot : slots_) {
    if (slot->env) environments.emplace_back(slot->name, slot->env.get());
  }
  return environments;
}

std::vector<std::filesystem::path> PluginManager::files() const {
  std::vector<std::filesystem::path> files;
  std::lock_guard lock(mutex_);
  for (const auto& slot : slots_) files.push_back(slot->file);
  return files;
}

std::string PluginManager::name_of(const std::filesystem::path& file) const {
  std::lock_guard lock(mutex_);
  for (const auto& slot : slots_) {
    if (slot->file == file) return slot->name;
  }
  return {};
}

void PluginManager::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) stop(**it);
}

void PluginManager::close_all() {
  std::lock_guard lock(mutex_);
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
    PluginSlot& slot = **it;
    if (slot.env && slot.storage_metrics) slot.env->remove_observer(slot.storage_metrics.get());
    slot.context.reset();
    slot.env.reset();                                          // closes LMDB after its writer drained
    if (slot.library.handle != nullptr) unload(slot.library);  // loaded, never created
  }
}

}  // namespace ates::server
