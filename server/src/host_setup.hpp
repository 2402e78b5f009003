// What both kinds of host do before any plugin is created: find the plugin
// files they want, declare those plugins' configuration keys, and derive
// a plugin's storage options from the settings. Host::start (`ates serve`)
// and ReadOnlyHost::open (`ates audit` with no server) share these.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ates/plugin_api/plugin.hpp"
#include "ates/storage/environment.hpp"

#include "config.hpp"

namespace ates::server {

// The plugin files to load, by name: found in the configured `plugin_dir`
// folders, or else the built-in plugins (beside the binary once installed,
// else in the build tree); of them, those `plugins` names (all when it is
// empty). The names found but not wanted go to `not_loaded`: their
// configuration sections are not errors, since one configuration serves
// processes that run different plugins. kNotFound when `plugins` names a
// plugin no folder holds.
base::Result<std::vector<std::pair<std::string, std::filesystem::path>>> wanted_plugins(
    const Settings& first, const std::filesystem::path& exe_dir, std::vector<std::string>& not_loaded);

// The keys a plugin's entry point declares, under its section.
void add_plugin_keys(const std::string& plugin, const plugin_api::PluginEntry& entry,
                     std::vector<KeySpec>& keys);

// A plugin's storage in `dir` with the configured map size and readers.
storage::EnvironmentOptions environment_options(const Settings& settings, const std::filesystem::path& dir,
                                                const std::string& producer, base::Clock* clock);

}  // namespace ates::server
