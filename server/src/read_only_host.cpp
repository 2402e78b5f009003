#include "read_only_host.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <spdlog/spdlog.h>

#include "audit.hpp"
#include "host_setup.hpp"
#include "metrics.hpp"
#include "plugin_context.hpp"
#include "plugin_loader.hpp"
#include "router.hpp"

namespace ates::server {

using base::Code;
using base::Status;

struct ReadOnlyHost::Impl {
  struct Loaded {
    std::string name;
    PluginLibrary library;
    std::unique_ptr<storage::Environment> env;
    std::unique_ptr<PluginContext> context;
    void* instance = nullptr;
  };

  std::filesystem::path copies;  // a temporary folder for the loaded copies
  Settings settings;
  std::unique_ptr<base::Clock> clock;
  MetricsRegistry metrics;
  RouteTable routes;  // what a constructor registers; never served
  std::unique_ptr<PluginLoader> loader;
  std::vector<std::unique_ptr<Loaded>> loaded;
  std::map<std::string, storage::Environment*, std::less<>> envs;
  std::vector<std::string> notes;
  std::vector<std::string> errors;

  ~Impl() {
    for (auto it = loaded.rbegin(); it != loaded.rend(); ++it) {
      Loaded& plugin = **it;
      if (plugin.instance != nullptr) plugin.library.entry->destroy(plugin.instance);
      plugin.instance = nullptr;
    }
    // What a constructor registered holds the plugin's code (its routes'
    // handlers, in the route table; its commands, in its context): gone
    // before the library is.
    for (auto& plugin : loaded) {
      routes.remove_owner(plugin->name);
      plugin->context.reset();
      plugin->env.reset();
      if (plugin->library.handle != nullptr) unload(plugin->library);
    }
    loader.reset();
    std::error_code ignored;
    if (!copies.empty()) std::filesystem::remove_all(copies, ignored);
  }

  void unload(PluginLibrary& library) {
    if (Status unloaded = loader->unload(library); !unloaded) spdlog::warn("{}", unloaded.message());
  }

  Loaded* find(const std::string& name) const {
    for (const auto& plugin : loaded) {
      if (plugin->name == name && plugin->instance != nullptr) return plugin.get();
    }
    return nullptr;
  }
};

namespace {

base::Result<std::filesystem::path> make_temporary_folder() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ates-read-only-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status(Code::kInternal, "cannot make a temporary folder for the plugin files: " +
                                       std::string(std::strerror(errno)));
  }
  return std::filesystem::path(pattern);
}

}  // namespace

ReadOnlyHost::ReadOnlyHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReadOnlyHost::~ReadOnlyHost() = default;

base::Result<std::unique_ptr<ReadOnlyHost>> ReadOnlyHost::open(const ConfigSources& sources,
                                                               const std::filesystem::path& exe) {
  auto impl = std::make_unique<Impl>();
  Impl& host = *impl;
  auto first = load_settings(host_keys(), sources, /*allow_unknown=*/true);
  if (!first) return first.status();
  const auto data_dir = std::filesystem::absolute(first->get_string("data"));
  if (!std::filesystem::is_directory(data_dir)) {
    return Status(Code::kNotFound, "no data directory " + data_dir.string());
  }
  auto copies = make_temporary_folder();
  if (!copies) return copies.status();
  host.copies = *copies;
  host.loader = std::make_unique<PluginLoader>(host.copies);

  std::vector<std::string> not_loaded;
  auto wanted = wanted_plugins(*first, std::filesystem::absolute(exe).parent_path(), not_loaded);
  if (!wanted) return wanted.status();
  std::vector<KeySpec> keys = host_keys();
  for (const auto& wanted_plugin : *wanted) {
    const std::string& name = wanted_plugin.first;  // not a binding: the lambda below captures it
    const std::filesystem::path& file = wanted_plugin.second;
    const auto leave_out = [&](std::vector<std::string>& list, const std::string& why) {
      list.push_back(name + ": " + why);
      not_loaded.push_back(name);
    };
    if (!std::filesystem::exists(data_dir / name / "data.mdb")) {
      leave_out(host.notes, "no storage in " + data_dir.string());
      continue;
    }
    auto library = host.loader->load(file);
    if (!library) {
      leave_out(host.errors, library.status().message());
      continue;
    }
    if (library->name != name) {
      leave_out(host.errors, "the file names itself '" + library->name + "'");
      host.unload(*library);
      continue;
    }
    add_plugin_keys(name, *library->entry, keys);
    auto plugin = std::make_unique<Impl::Loaded>();
    plugin->name = name;
    plugin->library = std::move(library).value();
    host.loaded.push_back(std::move(plugin));
  }
  auto settings = load_settings(keys, sources, /*allow_unknown=*/false, not_loaded);
  if (!settings) return settings.status();
  host.settings = std::move(settings).value();
  if (const std::string fake = host.settings.get_string("fake_clock"); !fake.empty()) {
    host.clock = std::make_unique<base::ManualClock>(*parse_utc_time(fake));
  } else {
    host.clock = std::make_unique<base::SystemClock>();
  }

  // Every storage first, so a plugin's constructor may read any producer.
  for (auto& plugin : host.loaded) {
    auto options =
        environment_options(host.settings, data_dir / plugin->name, plugin->name, host.clock.get());
    options.read_only = true;
    auto env = storage::Environment::open(std::move(options));
    if (!env) {
      host.errors.push_back(plugin->name + ": " + env.status().message());
      continue;
    }
    plugin->env = std::move(env).value();
    host.envs.emplace(plugin->name, plugin->env.get());
  }
  const ContextServices services{.routes = host.routes,
                                 .settings = host.settings,
                                 .clock = *host.clock,
                                 .metrics = host.metrics,
                                 .bus = nullptr,
                                 .data_dir = data_dir,
                                 .mode = plugin_api::RunMode::kReadOnly,
                                 .producers = [&host](std::string_view name) -> storage::Environment* {
                                   const auto it = host.envs.find(name);
                                   return it == host.envs.end() ? nullptr : it->second;
                                 }};
  for (auto& plugin : host.loaded) {
    if (!plugin->env) continue;
    plugin->context = std::make_unique<PluginContext>(plugin->name, *plugin->env, services);
    char error[512] = {};
    plugin->instance = plugin->library.entry->create(plugin->context.get(), error, sizeof error);
    if (plugin->instance == nullptr) host.errors.push_back(plugin->name + ": create failed: " + error);
  }
  return std::unique_ptr<ReadOnlyHost>(new ReadOnlyHost(std::move(impl)));
}

std::vector<std::string> ReadOnlyHost::plugins() const {
  std::vector<std::string> names;
  for (const auto& plugin : impl_->loaded) {
    if (plugin->instance != nullptr) names.push_back(plugin->name);
  }
  return names;
}

const std::vector<std::string>& ReadOnlyHost::notes() const { return impl_->notes; }
const std::vector<std::string>& ReadOnlyHost::errors() const { return impl_->errors; }

bool ReadOnlyHost::has_command(const std::string& plugin, const std::string& name) const {
  const auto* loaded = impl_->find(plugin);
  return loaded != nullptr && loaded->context->has_command(name);
}

base::Result<nlohmann::json> ReadOnlyHost::run_command(const std::string& plugin, const std::string& name,
                                                       const nlohmann::json& args) {
  auto* loaded = impl_->find(plugin);
  if (loaded == nullptr) return Status(Code::kNotFound, "plugin " + plugin + " is not loaded");
  return loaded->context->run_command(name, args);
}

nlohmann::json ReadOnlyHost::audit() {
  std::vector<AuditSubject> subjects;
  for (const auto& name : plugins())
    subjects.push_back({.plugin = name, .has_audit = has_command(name, "audit")});
  auto gathered = gather_audit(subjects, [this](const std::string& plugin) {
    return run_command(plugin, "audit", nlohmann::json::object());
  });
  for (const auto& note : impl_->notes) gathered["notes"].push_back(note + " (not loaded)");
  for (const auto& error : impl_->errors) {
    const auto colon = error.find(": ");
    gathered["audited"].push_back({{"plugin", error.substr(0, colon)}, {"error", error.substr(colon + 2)}});
  }
  return gathered;
}

}  // namespace ates::server
