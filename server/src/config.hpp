// The host's configuration (README.md, "Configuration"): embedded defaults,
// overridden by a TOML file, then by ATES_* environment variables, then by
// command-line flags. Every key is declared (name, type, default,
// documentation); an unknown key or a value of the wrong shape stops start-up
// with a message naming the key and where it came from.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ates/base/status.hpp"

namespace ates::server {

enum class KeyType { kString, kInt, kBool, kListen, kTime, kList };
std::string_view to_string(KeyType type);

struct KeySpec {
  std::string name;  // dotted: "http.listen"; a plugin's keys are "<plugin>.<key>"
  KeyType type = KeyType::kString;
  std::string default_value;  // text form
  std::string flag;           // "--listen", or empty
  std::string doc;
};

// ATES_HTTP_LISTEN for http.listen.
std::string env_name(std::string_view key);

// Every key of the host.
const std::vector<KeySpec>& host_keys();

// A Markdown table of `keys` (the README's configuration table is this).
std::string keys_table(const std::vector<KeySpec>& keys);

class Settings {
 public:
  std::string get_string(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::vector<std::string> get_list(std::string_view key) const;
  // Where the value of `key` came from: "default", "file", "environment", "flag".
  std::string source(std::string_view key) const;

 private:
  friend class ConfigLoader;
  friend base::Result<Settings> load_settings(const std::vector<KeySpec>&, const struct ConfigSources&, bool,
                                              const std::vector<std::string>&);
  struct Value {
    std::string text;
    std::string source;
  };
  std::map<std::string, Value, std::less<>> values_;
};

struct ConfigSources {
  std::optional<std::filesystem::path> file;
  std::map<std::string, std::string> environment;  // every ATES_* variable
  std::map<std::string, std::string> flags;        // key name -> value
};

// Environment variables that are not configuration (test and debug hooks).
bool is_reserved_environment_variable(std::string_view name);

// With `allow_unknown`, keys not in `keys` are skipped instead of refused
// (the host's first pass, before it knows which keys its plugins declare).
// Keys under `ignored_sections` ("tracker" for tracker.*) are skipped: the
// sections of plugins that exist but are not loaded in this process.
base::Result<Settings> load_settings(const std::vector<KeySpec>& keys, const ConfigSources& sources,
                                     bool allow_unknown = false,
                                     const std::vector<std::string>& ignored_sections = {});

// Checks one value against a type; an error says what was expected.
base::Status check_value(KeyType type, std::string_view value);

// Parses an RFC 3339 UTC time "2026-03-03T09:00:00Z" into µs since the epoch.
std::optional<std::int64_t> parse_utc_time(std::string_view text);

}  // namespace ates::server
