#include "host_setup.hpp"

#include <algorithm>

#include "plugin_loader.hpp"

namespace ates::server {

using base::Code;
using base::Status;

namespace {

std::string joined(const std::vector<std::filesystem::path>& dirs) {
  std::string text;
  for (const auto& dir : dirs) text += (text.empty() ? "" : ", ") + dir.string();
  return text;
}

}  // namespace

base::Result<std::vector<std::pair<std::string, std::filesystem::path>>> wanted_plugins(
    const Settings& first, const std::filesystem::path& exe_dir, std::vector<std::string>& not_loaded) {
  // Configured folders are searched all together; otherwise the built-in
  // plugins, beside the binary once installed, else in the build tree.
  const auto configured = first.get_list("plugin_dir");
  std::vector<std::filesystem::path> dirs(configured.begin(), configured.end());
  if (dirs.empty()) {
    for (const auto& dir : {exe_dir / "plugins", exe_dir.parent_path() / "plugins"}) {
      if (!find_plugins({dir}).empty()) {
        dirs.push_back(dir);
        break;
      }
    }
    if (dirs.empty()) dirs.push_back(exe_dir / "plugins");
  }
  auto found = find_plugins(dirs);
  const auto wanted = first.get_list("plugins");
  for (const auto& name : wanted) {
    if (std::none_of(found.begin(), found.end(), [&](const auto& f) { return f.first == name; }))
      return Status(Code::kNotFound, "plugin '" + name + "' (from 'plugins') is not in " + joined(dirs));
  }
  std::vector<std::pair<std::string, std::filesystem::path>> chosen;
  for (auto& [name, file] : found) {
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end()) {
      chosen.emplace_back(std::move(name), std::move(file));
    } else {
      not_loaded.push_back(std::move(name));
    }
  }
  return chosen;
}

void add_plugin_keys(const std::string& plugin, const plugin_api::PluginEntry& entry,
                     std::vector<KeySpec>& keys) {
  for (std::size_t i = 0; i < entry.config_key_count; ++i) {
    const auto& spec = entry.config_keys[i];
    const std::string type = spec.type;
    keys.push_back({plugin + "." + spec.name,
                    type == "int"    ? KeyType::kInt
                    : type == "bool" ? KeyType::kBool
                                     : KeyType::kString,
                    spec.default_value, "", spec.doc});
  }
}

storage::EnvironmentOptions environment_options(const Settings& settings, const std::filesystem::path& dir,
                                                const std::string& producer, base::Clock* clock) {
  return {.dir = dir,
          .producer = producer,
          .map_size = static_cast<std::size_t>(settings.get_int("storage.map_size_mb")) << 20,
          .max_readers = static_cast<unsigned>(settings.get_int("storage.max_readers")),
          .clock = clock};
}

}  // namespace ates::server
