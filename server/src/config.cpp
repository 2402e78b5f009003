#include "config.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <toml++/toml.h>

#include "ates/protocol/schema.hpp"

namespace ates::server {

using base::Status;

std::string_view to_string(KeyType type) {
  switch (type) {
    case KeyType::kString:
      return "string";
    case KeyType::kInt:
      return "integer";
    case KeyType::kBool:
      return "boolean";
    case KeyType::kListen:
      return "host:port";
    case KeyType::kTime:
      return "UTC time";
    case KeyType::kList:
      return "list";
  }
  return "?";
}

std::string env_name(std::string_view key) {
  std::string name = "ATES_";
  for (char c : key)
    name += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

const std::vector<KeySpec>& host_keys() {
  static const std::vector<KeySpec> keys = {
      {"data", KeyType::kString, "./ates-data", "--data",
       "data directory: one LMDB environment per plugin, the lock file, the control socket"},
      {"plugins", KeyType::kList, "", "--plugins",
       "plugins to load, comma-separated; empty: every plugin found"},
      {"plugin_dir", KeyType::kList, "", "--plugin-dir",
       "folders plugins are looked for in, comma-separated, the first one's file winning when two have "
       "one name; empty: beside the binary, then the build tree"},
      {"dev", KeyType::kBool, "false", "--dev", "development mode: reload a plugin when its file changes"},
      {"fake_clock", KeyType::kTime, "", "--fake-clock",
       "start the business clock at this UTC time and move it only through POST /api/v1/dev/clock"},
      {"log.format", KeyType::kString, "text", "",
       "text, or json: one JSON object per line (time, level, component, request_id, message)"},
      {"backup.dir", KeyType::kString, "", "",
       "scheduled backups go here, one ates-<UTC time> folder each (docs/operations.md); empty: none"},
      {"backup.every", KeyType::kString, "24h", "", "time between scheduled backups: 90s, 30m, 6h, 1d"},
      {"backup.keep", KeyType::kInt, "7", "", "scheduled backups kept; older ones are removed"},
      {"http.listen", KeyType::kListen, "127.0.0.1:8080", "--listen",
       "HTTP address; port 0 picks a free port"},
      {"http.threads", KeyType::kInt, "2", "", "HTTP worker threads"},
      {"http.body_limit", KeyType::kInt, "65536", "",
       "largest request body in bytes, chunked ones too; larger gets 413"},
      {"http.header_limit", KeyType::kInt, "16384", "",
       "largest request line plus headers in bytes (at least 1024); larger closes the connection unanswered"},
      {"http.max_connections", KeyType::kInt, "512", "",
       "concurrent HTTP connections (at least 1); more wait unanswered until one closes"},
      {"http.read_timeout_ms", KeyType::kInt, "10000", "",
       "time to read a request (and to finish a TLS handshake) before the connection is closed"},
      {"http.handle_timeout_ms", KeyType::kInt, "30000", "",
       "time a handler may take before the connection is closed"},
      {"http.tls_cert", KeyType::kString, "", "",
       "PEM certificate chain file: serve HTTPS only (with http.tls_key); empty: plain HTTP"},
      {"http.tls_key", KeyType::kString, "", "", "PEM private key file of http.tls_cert"},
      {"http.trusted_proxies", KeyType::kList, "", "",
       "reverse proxies (IP addresses or CIDR ranges) whose X-Forwarded-For names the client"},
      {"tokens.replica_wait_ms", KeyType::kInt, "2000", "",
       "how long a request whose token names a user this host has not learnt of yet waits for auth.users to "
       "reach it before 503 (no HTTP thread is held)"},
      {"storage.map_size_mb", KeyType::kInt, "65536", "",
       "LMDB map size per environment (only mapped, not allocated)"},
      {"storage.max_readers", KeyType::kInt, "1024", "", "LMDB reader slots per environment"},
      {"bus.publish", KeyType::kString, "inproc://ates-pub", "",
       "where this host's PUB socket binds (tcp:// needs the Curve keys)"},
      {"bus.replay", KeyType::kString, "inproc://ates-replay", "", "where this host answers FETCH"},
      {"bus.peers", KeyType::kList, "", "",
       "producers on other hosts, each \"publish=ENDPOINT replay=ENDPOINT key=KEY owns=STREAM+...\": their "
       "streams are taken from them alone"},
      {"bus.heartbeat_ms", KeyType::kInt, "1000", "", "interval of the streams' heartbeats"},
      {"bus.send_hwm", KeyType::kInt, "100000", "",
       "PUB send high-water mark; what it drops is fetched again"},
      {"bus.curve_public_key", KeyType::kString, "", "",
       "this host's CurveZMQ public key (Z85; `ates keys generate`)"},
      {"bus.curve_secret_key", KeyType::kString, "", "", "this host's CurveZMQ secret key (Z85)"},
      {"bus.curve_next_secret_key", KeyType::kString, "", "",
       "during a key rotation: the new CurveZMQ secret key, served on bus.next_publish and bus.next_replay "
       "beside the current one (docs/bus.md, \"Rotating a host's key\")"},
      {"bus.next_publish", KeyType::kString, "", "",
       "during a key rotation: where the new key's PUB binds (tcp)"},
      {"bus.next_replay", KeyType::kString, "", "",
       "during a key rotation: where the new key's ROUTER answers FETCH and rpc (tcp)"},
      {"bus.clients", KeyType::kList, "", "",
       "other hosts' keys allowed to connect, each \"key=KEY reads=STREAM+... calls=SERVICE+...\": what they "
       "may FETCH and call"},
      {"log.level", KeyType::kString, "info", "", "debug, info, warn or error"},
      {"ui.dir", KeyType::kString, "", "",
       "the UI's static files; empty: beside the binary, then the build tree"},
  };
  return keys;
}

std::string keys_table(const std::vector<KeySpec>& keys) {
  std::string out = "| key | type | default | environment | flag | meaning |\n|---|---|---|---|---|---|\n";
  for (const auto& key : keys) {
    out += "| `" + key.name + "` | " + std::string(to_string(key.type)) + " | " +
           (key.default_value.empty() ? "" : "`" + key.default_value + "`") + " | `" + env_name(key.name) +
           "` | " + (key.flag.empty() ? "" : "`" + key.flag + "`") + " | " + key.doc + " |\n";
  }
  return out;
}

std::optional<std::int64_t> parse_utc_time(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SSZ
  if (t.size() != 20 || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != 'Z') return std::nullopt;
  if (!protocol::is_day(t.substr(0, 10))) return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len, int max) -> std::optional<int> {
    int value = 0;
    auto [ptr, ec] = std::from_chars(t.data() + pos, t.data() + pos + len, value);
    if (ec != std::errc() || ptr != t.data() + pos + len || value > max) return std::nullopt;
    return value;
  };
  const auto year = number(0, 4, 9999), month = number(5, 2, 12), day = number(8, 2, 31);
  const auto hour = number(11, 2, 23), minute = number(14, 2, 59), second = number(17, 2, 59);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000;
}

Status check_value(KeyType type, std::string_view value) {
  switch (type) {
    case KeyType::kString:
    case KeyType::kList:
      return Status::ok();
    case KeyType::kInt: {
      std::int64_t number = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
        return base::invalid_argument("expected an integer, got '" + std::string(value) + "'");
      }
      if (number < 0)
        return base::invalid_argument("expected a non-negative integer, got " + std::string(value));
      return Status::ok();
    }
    case KeyType::kBool:
      if (value == "true" || value == "false" || value == "1" || value == "0") return Status::ok();
      return base::invalid_argument("expected true or false, got '" + std::string(value) + "'");
    case KeyType::kListen: {
      const auto colon = value.rfind(':');
      int port = -1;
      if (colon != std::string_view::npos && colon > 0) {
        auto [ptr, ec] = std::from_chars(value.data() + colon + 1, value.data() + value.size(), port);
        if (ec != std::errc() || ptr != value.data() + value.size()) port = -1;
      }
      if (port < 0 || port > 65535) {
        return base::invalid_argument("expected host:port with a port 0..65535, got '" + std::string(value) +
                                      "'");
      }
      return Status::ok();
    }
    case KeyType::kTime:
      if (value.empty() || parse_utc_time(value)) return Status::ok();
      return base::invalid_argument("expected a UTC time like 2026-03-03T09:00:00Z, got '" +
                                    std::string(value) + "'");
  }
  return Status::ok();
}

bool is_reserved_environment_variable(std::string_view name) {
  static constexpr std::string_view kReserved[] = {"ATES_FAILPOINT", "ATES_KEEP_TEST_DATA", "ATES_IMGUI_SRC"};
  return std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved);
}

class ConfigLoader {
 public:
  ConfigLoader(const std::vector<KeySpec>& keys, bool allow_unknown, const std::vector<std::string>& ignored)
      : keys_(keys), allow_unknown_(allow_unknown), ignored_(ignored) {}

  bool ignored(std::string_view name) const {
    return std::any_of(ignored_.begin(), ignored_.end(),
                       [&](const std::string& section) { return name.starts_with(section + "."); });
  }

  const KeySpec* find(std::string_view name) const {
    for (const auto& key : keys_) {
      if (key.name == name) return &key;
    }
    return nullptr;
  }

  Status set(Settings& settings, std::string_view name, std::string value, const std::string& source) {
    const KeySpec* key = find(name);
    if (key == nullptr) {
      if (allow_unknown_ || ignored(name)) return Status::ok();
      return base::invalid_argument("unknown configuration key '" + std::string(name) + "' (" + source + ")");
    }
    if (Status status = check_value(key->type, value); !status) {
      return base::invalid_argument("bad value for '" + key->name + "' (" + source +
                                    "): " + status.message());
    }
    settings.values_[key->name] = {std::move(value), source};
    return Status::ok();
  }

  Status load_file(Settings& settings, const std::filesystem::path& file) {
    toml::table root;
    try {
      root = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
      std::string message = "cannot read config file " + file.string() + ": " + std::string(e.description());
      if (e.source().begin) message += " at line " + std::to_string(e.source().begin.line);
      return base::invalid_argument(message);
    }
    return load_table(settings, root, "", "file " + file.string());
  }

 private:
  Status load_table(Settings& settings, const toml::table& table, const std::string& prefix,
                    const std::string& source) {
    for (const auto& [raw_key, node] : table) {
      const std::string name = prefix + std::string(raw_key.str());
      if (const toml::table* nested = node.as_table()) {
        if (Status s = load_table(settings, *nested, name + ".", source); !s) return s;
        continue;
      }
      const KeySpec* key = find(name);
      if (key == nullptr) {
        if (allow_unknown_ || ignored(name)) continue;
        return base::invalid_argument("unknown configuration key '" + name + "' (" + source + ")");
      }
      std::string text;
      bool type_ok = true;
      switch (key->type) {
        case KeyType::kInt:
          if (auto v = node.value<std::int64_t>(); v && node.is_integer())
            text = std::to_string(*v);
          else
            type_ok = false;
          break;
        case KeyType::kBool:
          if (auto v = node.value<bool>(); v && node.is_boolean())
            text = *v ? "true" : "false";
          else
            type_ok = false;
          break;
        case KeyType::kList:
          if (const toml::array* array = node.as_array()) {
            for (const auto& item : *array) {
              auto v = item.value<std::string>();
              if (!v || !item.is_string()) {
                type_ok = false;
                break;
              }
              text += (text.empty() ? "" : ",") + *v;
            }
          } else if (auto v = node.value<std::string>(); v && node.is_string()) {
            text = *v;
          } else {
            type_ok = false;
          }
          break;
        default:
          if (auto v = node.value<std::string>(); v && node.is_string())
            text = *v;
          else
            type_ok = false;
      }
      if (!type_ok) {
        return base::invalid_argument("bad value for '" + name + "' (" + source + "): expected " +
                                      std::string(to_string(key->type)));
      }
      if (Status s = set(settings, name, std::move(text), source); !s) return s;
    }
    return Status::ok();
  }

  const std::vector<KeySpec>& keys_;
  bool allow_unknown_;
  const std::vector<std::string>& ignored_;
};

std::string Settings::get_string(std::string_view key) const {
  const auto it = values_.find(key);
  return it == values_.end() ? std::string() : it->second.text;
}

std::int64_t Settings::get_int(std::string_view key) const {
  const std::string text = get_string(key);
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

bool Settings::get_bool(std::string_view key) const {
  const std::string text = get_string(key);
  return text == "true" || text == "1";
}

std::vector<std::string> Settings::get_list(std::string_view key) const {
  std::vector<std::string> out;
  const std::string text = get_string(key);
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string Settings::source(std::string_view key) const {
  const auto it = values_.find(key);
  return it == values_.end() ? std::string() : it->second.source;
}

base::Result<Settings> load_settings(const std::vector<KeySpec>& keys, const ConfigSources& sources,
                                     bool allow_unknown, const std::vector<std::string>& ignored_sections) {
  ConfigLoader loader(keys, allow_unknown, ignored_sections);
  Settings settings;
  for (const auto& key : keys) settings.values_[key.name] = {key.default_value, "default"};
  if (sources.file) {
    if (Status s = loader.load_file(settings, *sources.file); !s) return s;
  }
  for (const auto& variable : sources.environment) {
    const std::string& name = variable.first;  // not a structured binding: lambdas below capture it
    const std::string& value = variable.second;
    if (!name.starts_with("ATES_") || is_reserved_environment_variable(name)) continue;
    const auto key =
        std::find_if(keys.begin(), keys.end(), [&](const KeySpec& k) { return env_name(k.name) == name; });
    if (key == keys.end()) {
      const bool of_ignored =
          std::any_of(ignored_sections.begin(), ignored_sections.end(),
                      [&](const std::string& section) { return name.starts_with(env_name(section) + "_"); });
      if (allow_unknown || of_ignored) continue;
      return base::invalid_argument("unknown configuration key in environment variable " + name);
    }
    if (Status s = loader.set(settings, key->name, value, "environment " + name); !s) return s;
  }
  for (const auto& [name, value] : sources.flags) {
    const KeySpec* key = loader.find(name);
    const std::string flag = key != nullptr && !key->flag.empty() ? key->flag : name;
    if (Status s = loader.set(settings, name, value, "flag " + flag); !s) return s;
  }
  return settings;
}

}  // namespace ates::server
