// Loading and unloading plugin libraries.
//
// A plugin file is never loaded in place: it is copied under a fresh name
// first, so the build can replace the file while the old code runs and a
// reload loads new code even though the dynamic loader caches by path. The
// loader checks the plugin API version the plugin was built against
// (check_compatible) before the plugin is created: its entry point is the
// first of its functions called (dlopen ran its static initialisers). Unloading checks with RTLD_NOLOAD that
// the library really left the process.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ates/base/status.hpp"
#include "ates/plugin_api/plugin.hpp"

namespace ates::server {

struct PluginLibrary {
  std::string name;              // from the entry point
  std::filesystem::path source;  // the file that was asked for
  std::filesystem::path copy;    // the file actually loaded
  void* handle = nullptr;
  const plugin_api::PluginEntry* entry = nullptr;
  // Not empty when the plugin is compatible but was built against other
  // headers than the host's: says both build ids.
  std::string build_id_mismatch;
};

// Whether the host can run a plugin with this entry (docs/plugins.md,
// "Compatibility"): the same major version, a minor version no newer than
// the host's, and an entry struct as large as that minor version's. The
// error says what differs and what to do.
base::Status check_compatible(const plugin_api::PluginEntry& entry);

class PluginLoader {
 public:
  // Copies go to `copies_dir`, which is emptied first.
  explicit PluginLoader(std::filesystem::path copies_dir);

  base::Result<PluginLibrary> load(const std::filesystem::path& file);
  // dlclose, then the RTLD_NOLOAD check; an error if the library stayed.
  base::Status unload(PluginLibrary& library);

 private:
  std::filesystem::path copies_dir_;
  std::uint64_t generation_ = 0;
};

// A plugin's name is a path segment of its routes, a config section and a
// folder of the data directory: 1 to 64 of a-z, 0-9 and _, a letter first
// (what ates_add_plugin accepts too).
bool is_plugin_name(std::string_view name);

// The file name of plugin `name`: libates_plugin_<name>.so.
std::string plugin_file_name(std::string_view name);

// Plugin files (libates_plugin_*.so) in `dirs` and the folders below them,
// keyed by the plugin name taken from the file name and sorted by it. A
// name in an earlier folder of `dirs` hides the same name in a later one.
std::vector<std::pair<std::string, std::filesystem::path>> find_plugins(
    const std::vector<std::filesystem::path>& dirs);

}  // namespace ates::server
