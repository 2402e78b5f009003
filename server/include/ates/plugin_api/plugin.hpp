// The plugin ABI: one extern "C" entry point returning a plain struct. The
// host checks the plugin API version the plugin was built against before
// calling anything else (docs/plugins.md, "Compatibility"): the same major
// version, a minor version no newer than the host's, and an entry struct at
// least as large as that version's. A plugin that fails the check is
// refused with a message naming both sides. The build id (a hash of every
// header a plugin compiles against) is reported, not required to match.
//
// Every function in the struct is noexcept: ATES_DEFINE_PLUGIN wraps the
// plugin's constructor, start() and stop() so that no exception crosses the
// boundary; a failure comes back as an error message.
//
// A plugin keeps no thread_local with a destructor and registers nothing
// global (atexit, loggers), so that dlclose really unloads it (hot reload).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>

#include "ates/plugin_api/build_id.hpp"
#include "ates/plugin_api/context.hpp"

namespace ates::plugin_api {

// The plugin API's version. The major version changes with anything that
// breaks a built plugin: the layout of PluginEntry's first fields, a
// virtual function of HostContext or Plugin removed, moved or changed, a
// type the plugin shares with the host changed in layout or meaning. The
// minor version changes with additions a plugin built earlier cannot see:
// a field appended to PluginEntry, a virtual function appended to the end
// of HostContext. Version 1 had no minor version and an exact build id.
//
//   2.0  the versioned entry point
//   2.1  HostContext::mode() (read-only loading, RunMode) and read_stream(),
//        plugin_api/audit.hpp, protocol::dispatch (typed event handlers)
//   3.0  the base library: Status, Result, the clock, the random source and
//        the failpoints move to ates::base (ates/base/); tables take
//        storage transactions instead of LMDB handles; StreamProgress's
//        state is an enum
//   4.0  routes declare their contract (Route::contract: parameters, body
//        schema, answers), which the host enforces and documents;
//        plugin_api/json_schema.hpp
//   4.1  the event DayZoneSet (accounting.transactions);
//        storage::Environment::copy_to (backups)
inline constexpr std::uint32_t kApiMajor = 4;
inline constexpr std::uint32_t kApiMinor = 1;
inline constexpr const char* kEntrySymbol = "ates_plugin_entry";

// One configuration key a plugin accepts: `type` is "string", "int" or
// "bool"; `default_value` is its text form.
struct ConfigKeySpec {
  const char* name;
  const char* type;
  const char* default_value;
  const char* doc;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  // Called after every plugin was created: start consumers and threads.
  virtual base::Status start() = 0;
  // Drains: no new work, consumers stop at a transaction boundary, threads
  // joined. Routes are already gone when stop() is called.
  virtual void stop() = 0;
};

extern "C" {
// `api_major` stays the first field in every version, so any host can read
// it and refuse a plugin of another major version by name.
struct PluginEntry {
  std::uint32_t api_major;
  std::uint32_t api_minor;
  std::uint32_t struct_size;
  const char* name;
  const char* build_id;
  const ConfigKeySpec* config_keys;
  std::size_t config_key_count;
  // Each returns null / non-zero on failure with a message in `error`.
  void* (*create)(HostContext* context, char* error, std::size_t error_size) noexcept;
  int (*start)(void* plugin, char* error, std::size_t error_size) noexcept;
  void (*stop)(void* plugin) noexcept;
  void (*destroy)(void* plugin) noexcept;
};
}

using EntryFunction = const PluginEntry* (*)();

namespace detail {
inline void write_error(char* error, std::size_t size, const char* message) {
  if (size > 0) std::snprintf(error, size, "%s", message);
}
}  // namespace detail

}  // namespace ates::plugin_api

// Defines the entry point of a plugin: NAME is its name ("tracker"), CLASS
// its Plugin subclass constructed from HostContext&, KEYS an array of
// ConfigKeySpec (or nullptr) and COUNT its length.
#define ATES_DEFINE_PLUGIN(NAME, CLASS, KEYS, COUNT)                                                    \
  namespace {                                                                                           \
  void* ates_create(::ates::plugin_api::HostContext* context, char* error, std::size_t size) noexcept { \
    try {                                                                                               \
      return static_cast<::ates::plugin_api::Plugin*>(new CLASS(*context));                             \
    } catch (const std::exception& e) {                                                                 \
      ::ates::plugin_api::detail::write_error(error, size, e.what());                                   \
    } catch (...) {                                                                                     \
      ::ates::plugin_api::detail::write_error(error, size, "unknown exception");                        \
    }                                                                                                   \
    return nullptr;                                                                                     \
  }                                                                                                     \
  int ates_start(void* plugin, char* error, std::size_t size) noexcept {                                \
    try {                                                                                               \
      const ::ates::base::Status status = static_cast<::ates::plugin_api::Plugin*>(plugin)->start();    \
      if (status) return 0;                                                                             \
      ::ates::plugin_api::detail::write_error(error, size, status.to_string().c_str());                 \
    } catch (const std::exception& e) {                                                                 \
      ::ates::plugin_api::detail::write_error(error, size, e.what());                                   \
    } catch (...) {                                                                                     \
      ::ates::plugin_api::detail::write_error(error, size, "unknown exception");                        \
    }                                                                                                   \
    return 1;                                                                                           \
  }                                                                                                     \
  void ates_stop(void* plugin) noexcept {                                                               \
    try {                                                                                               \
      static_cast<::ates::plugin_api::Plugin*>(plugin)->stop();                                         \
    } catch (...) {                                                                                     \
    }                                                                                                   \
  }                                                                                                     \
  void ates_destroy(void* plugin) noexcept {                                                            \
    try {                                                                                               \
      delete static_cast<::ates::plugin_api::Plugin*>(plugin);                                          \
    } catch (...) {                                                                                     \
    }                                                                                                   \
  }                                                                                                     \
  }                                                                                                     \
  extern "C" __attribute__((visibility("default"))) const ::ates::plugin_api::PluginEntry*              \
  ates_plugin_entry() {                                                                                 \
    static const ::ates::plugin_api::PluginEntry entry{ATES_PLUGIN_API_MAJOR_FOR_TESTS,                 \
                                                       ATES_PLUGIN_API_MINOR_FOR_TESTS,                 \
                                                       sizeof(::ates::plugin_api::PluginEntry),         \
                                                       NAME,                                            \
                                                       ATES_PLUGIN_BUILD_ID_FOR_TESTS,                  \
                                                       KEYS,                                            \
                                                       COUNT,                                           \
                                                       &ates_create,                                    \
                                                       &ates_start,                                     \
                                                       &ates_stop,                                      \
                                                       &ates_destroy};                                  \
    return &entry;                                                                                      \
  }

// Tests build plugins of other versions and build ids, to prove the host
// refuses or accepts each as docs/plugins.md says.
#ifndef ATES_PLUGIN_API_MAJOR_FOR_TESTS
#define ATES_PLUGIN_API_MAJOR_FOR_TESTS ::ates::plugin_api::kApiMajor
#endif
#ifndef ATES_PLUGIN_API_MINOR_FOR_TESTS
#define ATES_PLUGIN_API_MINOR_FOR_TESTS ::ates::plugin_api::kApiMinor
#endif
#ifndef ATES_PLUGIN_BUILD_ID_FOR_TESTS
#define ATES_PLUGIN_BUILD_ID_FOR_TESTS ::ates::plugin_api::kBuildId
#endif
