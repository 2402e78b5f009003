// Loading and unloading plugin libraries.
//
// A plugin file is never loaded in place: it is copied under a fresh name
// first, so the build can replace the file while the old code runs and a
// reload loads new code even though the dynamic loader caches by path. The
// loader checks the entry point's ABI version, struct size and build id
// before anything of the plugin runs. Unloading checks with RTLD_NOLOAD that
// the library really left the process.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ates/plugin_api/plugin.hpp"
#include "ates/protocol/status.hpp"

namespace ates::server {

struct PluginLibrary {
  std::string name;              // from the entry point
  std::filesystem::path source;  // the file that was asked for
  std::filesystem::path copy;    // the file actually loaded
  void* handle = nullptr;
  const plugin_api::PluginEntry* entry = nullptr;
};

class PluginLoader {
 public:
  // Copies go to `copies_dir`, which is emptied first.
  explicit PluginLoader(std::filesystem::path copies_dir);

  protocol::Result<PluginLibrary> load(const std::filesystem::path& file);
  // dlclose, then the RTLD_NOLOAD check; an error if the library stayed.
  protocol::Status unload(PluginLibrary& library);

 private:
  std::filesystem::path copies_dir_;
  std::uint64_t generation_ = 0;
};

// The file name of plugin `name`: libates_plugin_<name>.so.
std::string plugin_file_name(std::string_view name);

// Plugin files (libates_plugin_*.so) in the first of `dirs` that has any,
// keyed by plugin name taken from the file name.
std::vector<std::pair<std::string, std::filesystem::path>> find_plugins(
    const std::vector<std::filesystem::path>& dirs);

}  // namespace ates::server
