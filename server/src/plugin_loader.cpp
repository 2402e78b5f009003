#include "plugin_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstring>

namespace ates::server {

using protocol::Code;
using protocol::Status;

std::string plugin_file_name(std::string_view name) { return "libates_plugin_" + std::string(name) + ".so"; }

std::vector<std::pair<std::string, std::filesystem::path>> find_plugins(
    const std::vector<std::filesystem::path>& dirs) {
  constexpr std::string_view kPrefix = "libates_plugin_";
  constexpr std::string_view kSuffix = ".so";
  for (const auto& dir : dirs) {
    std::vector<std::pair<std::string, std::filesystem::path>> found;
    std::error_code error;
    for (const auto& item : std::filesystem::recursive_directory_iterator(dir, error)) {
      const std::string file = item.path().filename().string();
      if (!item.is_regular_file() || !file.starts_with(kPrefix) || !file.ends_with(kSuffix)) continue;
      found.emplace_back(file.substr(kPrefix.size(), file.size() - kPrefix.size() - kSuffix.size()),
                         item.path());
    }
    if (!found.empty()) {
      std::sort(found.begin(), found.end());
      return found;
    }
  }
  return {};
}

PluginLoader::PluginLoader(std::filesystem::path copies_dir) : copies_dir_(std::move(copies_dir)) {
  std::error_code ignored;
  std::filesystem::remove_all(copies_dir_, ignored);
  std::filesystem::create_directories(copies_dir_, ignored);
}

protocol::Result<PluginLibrary> PluginLoader::load(const std::filesystem::path& file) {
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
  auto fail = [&](const std::string& message) -> protocol::Result<PluginLibrary> {
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
  if (entry->abi_version != plugin_api::kAbiVersion) {
    return fail("its ABI version is " + std::to_string(entry->abi_version) + ", the host's is " +
                std::to_string(plugin_api::kAbiVersion) + "; rebuild the plugin against this host");
  }
  if (entry->struct_size != sizeof(plugin_api::PluginEntry)) {
    return fail("its entry struct has " + std::to_string(entry->struct_size) + " bytes, the host's " +
                std::to_string(sizeof(plugin_api::PluginEntry)));
  }
  if (std::strcmp(entry->build_id, plugin_api::kBuildId) != 0) {
    return fail(std::string("it was built against plugin API ") + entry->build_id + ", the host has " +
                plugin_api::kBuildId + "; rebuild the plugin against this host");
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
