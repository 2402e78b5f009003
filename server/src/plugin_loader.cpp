#include "plugin_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

namespace ates::server {

using base::Code;
using base::Status;

namespace {

// The size of PluginEntry at each minor version of this major version: a
// plugin of minor version m fills at least kEntrySizeAtMinor[m] bytes.
// Every minor version adds its size here, the previous one's when only
// HostContext grew; appending a field to PluginEntry gives a larger one
// (the old entries stay as they were: 4.0's is 80 bytes on x86-64; 4.1
// added an event type only).
constexpr std::array<std::size_t, plugin_api::kApiMinor + 1> kEntrySizeAtMinor = {80, 80};

constexpr bool sizes_grow_to_the_current_entry() {
  for (std::size_t m = 0; m < kEntrySizeAtMinor.size(); ++m) {
    if (kEntrySizeAtMinor[m] == 0 || (m > 0 && kEntrySizeAtMinor[m] < kEntrySizeAtMinor[m - 1])) return false;
  }
  return kEntrySizeAtMinor.back() == sizeof(plugin_api::PluginEntry);
}
static_assert(sizes_grow_to_the_current_entry(),
              "kEntrySizeAtMinor needs one size per minor version, growing to sizeof(PluginEntry)");

}  // namespace

Status check_compatible(const plugin_api::PluginEntry& entry) {
  const std::string host_version =
      std::to_string(plugin_api::kApiMajor) + "." + std::to_string(plugin_api::kApiMinor);
  if (entry.api_major != plugin_api::kApiMajor) {
    return Status(Code::kInvalidArgument, "it was built against plugin API " +
                                              std::to_string(entry.api_major) + ".x, the host has " +
                                              host_version + "; rebuild the plugin against this host");
  }
  const std::string version = std::to_string(entry.api_major) + "." + std::to_string(entry.api_minor);
  if (entry.api_minor > plugin_api::kApiMinor) {
    return Status(Code::kInvalidArgument, "it was built against plugin API " + version +
                                              ", newer than the host's " + host_version +
                                              "; run it with a newer host");
  }
  if (entry.struct_size < kEntrySizeAtMinor[entry.api_minor]) {
    return Status(Code::kInvalidArgument, "its entry struct has " + std::to_string(entry.struct_size) +
                                              " bytes, plugin API " + version + " has " +
                                              std::to_string(kEntrySizeAtMinor[entry.api_minor]));
  }
  return Status::ok();
}

bool is_plugin_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() < 'a' || name.front() > 'z') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::string plugin_file_name(std::string_view name) { return "libates_plugin_" + std::string(name) + ".so"; }

std::vector<std::pair<std::string, std::filesystem::path>> find_plugins(
    const std::vector<std::filesystem::path>& dirs) {
  constexpr std::string_view kPrefix = "libates_plugin_";
  constexpr std::string_view kSuffix = ".so";
  std::map<std::string, std::filesystem::path> found;
  for (const auto& dir : dirs) {
    std::map<std::string, std::filesystem::path> in_dir;
    // A folder that cannot be read is skipped, not fatal: a plugin folder
    // may be a user's own tree (--plugin-dir).
    std::error_code error;
    std::filesystem::recursive_directory_iterator walk(
        dir, std::filesystem::directory_options::skip_permission_denied, error);
    for (; !error && walk != std::filesystem::recursive_directory_iterator(); walk.increment(error)) {
      const auto& item = *walk;
      const std::string file = item.path().filename().string();
      std::error_code not_regular;
      if (!item.is_regular_file(not_regular) || !file.starts_with(kPrefix) || !file.ends_with(kSuffix))
        continue;
      // Within a folder, the same name twice (two build trees below it)
      // would make the choice depend on the walk's order: the first path
      // by name is taken, every time.
      std::string name = file.substr(kPrefix.size(), file.size() - kPrefix.size() - kSuffix.size());
      auto [it, added] = in_dir.emplace(std::move(name), item.path());
      if (!added && item.path() < it->second) it->second = item.path();
    }
    for (auto& [name, path] : in_dir) found.emplace(name, std::move(path));  // an earlier folder wins
  }
  return {found.begin(), found.end()};
}

PluginLoader::PluginLoader(std::filesystem::path copies_dir) : copies_dir_(std::move(copies_dir)) {
  std::error_code ignored;
  std::filesystem::remove_all(copies_dir_, ignored);
  std::filesystem::create_directories(copies_dir_, ignored);
}

base::Result<PluginLibrary> PluginLoader::load(const std::filesystem::path& file) {
  PluginLibrary library;
  library.source = file;
  library.copy = copies_dir_ / (std::to_string(::getpid()) + "-" + std::to_string(++generation_) + "-" +
                                file.filename().string());
  std::error_code error;
  std::filesystem::copy_file(file, library.copy, std::filesystem::copy_options::overwrite_existing, error);
  if (error) return Status(Code::kNotFound, "cannot read plugin " + file.string() + ": " + error.message());

  library.handle = ::dlopen(library.copy.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library.handle == nullptr) {
    std::filesystem::remove(library.copy, error);
    return Status(Code::kInvalidArgument, "cannot load plugin " + file.string() + ": " + ::dlerror());
  }
  auto fail = [&](const std::string& message) -> base::Result<PluginLibrary> {
    ::dlclose(library.handle);
    std::filesystem::remove(library.copy, error);
    return Status(Code::kInvalidArgument, "plugin " + file.string() + " refused: " + message);
  };
  auto* entry_function =
      reinterpret_cast<plugin_api::EntryFunction>(::dlsym(library.handle, plugin_api::kEntrySymbol));
  // Appended rather than added: GCC 12 misreads `std::string(...) + literal`
  // here as writing past a short string (-Warray-bounds).
  if (entry_function == nullptr) return fail(std::string("no entry point ").append(plugin_api::kEntrySymbol));
  const plugin_api::PluginEntry* entry = entry_function();
  if (entry == nullptr) return fail("its entry point returned nothing");
  if (Status compatible = check_compatible(*entry); !compatible) return fail(compatible.message());
  if (std::string_view(entry->build_id) != plugin_api::kBuildId) {
    // Compatible by version; the headers differ (a comment, an appended
    // function, another msgpack): worth knowing when something misbehaves.
    library.build_id_mismatch = std::string("built against other plugin API headers (build id ") +
                                entry->build_id + ", the host's " + plugin_api::kBuildId + ")";
  }
  library.entry = entry;
  library.name = entry->name;
  return library;
}

Status PluginLoader::unload(PluginLibrary& library) {
  if (library.handle == nullptr) return Status::ok();
  ::dlclose(library.handle);
  library.handle = nullptr;
  library.entry = nullptr;
  // The library must really have left: a plugin that registered something
  // global (STB_GNU_UNIQUE symbols, atexit) stays mapped and would keep its
  // old code and state alive after a reload.
  void* still = ::dlopen(library.copy.c_str(), RTLD_NOW | RTLD_NOLOAD);
  std::error_code error;
  if (still != nullptr) {
    ::dlclose(still);
    return Status(Code::kInternal, "plugin " + library.name + " stayed loaded after dlclose (" +
                                       library.copy.string() + "); it must register nothing global");
  }
  std::filesystem::remove(library.copy, error);
  return Status::ok();
}

}  // namespace ates::server
