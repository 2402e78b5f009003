// The host's route table: every plugin's routes under /api/v1/<plugin>/…
// and the host's own. Routes of one plugin can be removed at once (when it
// stops or reloads) and a plugin can be marked as reloading, so its routes
// answer 503 with Retry-After meanwhile. Thread-safe: matching takes a
// shared lock, changes an exclusive one.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ates/plugin_api/http.hpp"

namespace ates::server {

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed, kReloading };
  Kind kind = Kind::kNotFound;
  std::string owner;    // the plugin (or "host")
  std::string pattern;  // the full pattern, for metrics and logs
  plugin_api::Access access;
  plugin_api::Handler handler;
  std::shared_ptr<const plugin_api::Contract> contract;  // shared: not copied per request
  std::map<std::string, std::string> params;
};

class RouteTable {
 public:
  // `full_pattern` is the absolute path pattern ("/api/v1/tracker/tasks/{id}").
  // Returns false if the same method and pattern exist already.
  bool add(std::string owner, const std::string& full_pattern, plugin_api::Route route);
  void remove_owner(std::string_view owner);
  void set_reloading(std::string_view owner, bool reloading);

  RouteMatch match(plugin_api::Method method, std::string_view path) const;

  struct Listed {
    std::string owner;
    plugin_api::Method method;
    std::string pattern;
    std::string summary;
    plugin_api::Access access;
    std::shared_ptr<const plugin_api::Contract> contract;
  };
  std::vector<Listed> list() const;

 private:
  struct Entry {
    std::string owner;
    std::string pattern;
    std::vector<std::string> segments;
    plugin_api::Route route;  // its contract moved out, into `contract`
    std::shared_ptr<const plugin_api::Contract> contract;
  };
  mutable std::shared_mutex mutex_;  // guards entries_, reloading_, prefixes_
  std::vector<Entry> entries_;
  std::set<std::string, std::less<>> reloading_;
  std::map<std::string, std::string, std::less<>> prefixes_;  // owner -> /api/v1/<owner>
};

// Splits "/a/b/{c}" into {"a", "b", "{c}"}.
std::vector<std::string> split_path(std::string_view path);

}  // namespace ates::server
