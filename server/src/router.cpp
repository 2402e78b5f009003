#include "router.hpp"

#include <mutex>

namespace ates::server {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    const auto end = std::min(path.find('/', start), path.size());
    segments.emplace_back(path.substr(start, end - start));
    start = end;
  }
  return segments;
}

namespace {

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool segments_match(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
                    std::map<std::string, std::string>* params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (is_param(pattern[i])) {
      if (params != nullptr) (*params)[pattern[i].substr(1, pattern[i].size() - 2)] = path[i];
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool RouteTable::add(std::string owner, const std::string& full_pattern, plugin_api::Route route) {
  std::unique_lock lock(mutex_);
  for (const auto& entry : entries_) {
    if (entry.pattern == full_pattern && entry.route.method == route.method) return false;
  }
  if (full_pattern.starts_with("/api/v1/" + owner + "/") || full_pattern == "/api/v1/" + owner) {
    prefixes_[owner] = "/api/v1/" + owner;
  }
  auto contract = std::make_shared<const plugin_api::Contract>(std::move(route.contract));
  Entry entry{std::move(owner), full_pattern, split_path(full_pattern), std::move(route),
              std::move(contract)};
  // Literal segments win over parameters: /tasks/mine before /tasks/{id}.
  const auto literal_count = [](const Entry& e) {
    return std::count_if(e.segments.begin(), e.segments.end(),
                         [](const std::string& s) { return !is_param(s); });
  };
  const auto position = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.segments.size() == entry.segments.size() && literal_count(e) < literal_count(entry);
  });
  entries_.insert(position, std::move(entry));
  return true;
}

void RouteTable::remove_owner(std::string_view owner) {
  std::unique_lock lock(mutex_);
  std::erase_if(entries_, [&](const Entry& e) { return e.owner == owner; });
}

void RouteTable::set_reloading(std::string_view owner, bool reloading) {
  std::unique_lock lock(mutex_);
  if (reloading) {
    reloading_.emplace(owner);
    prefixes_.try_emplace(std::string(owner), "/api/v1/" + std::string(owner));
  } else if (auto it = reloading_.find(owner); it != reloading_.end()) {
    reloading_.erase(it);
  }
}

RouteMatch RouteTable::match(plugin_api::Method method, std::string_view path) const {
  const std::vector<std::string> segments = split_path(path);
  std::shared_lock lock(mutex_);
  for (const auto& owner : reloading_) {
    const auto prefix = prefixes_.find(owner);
    if (prefix != prefixes_.end() && (path == prefix->second || path.starts_with(prefix->second + "/"))) {
      return RouteMatch{.kind = RouteMatch::Kind::kReloading, .owner = owner};
    }
  }
  bool path_known = false;
  for (const auto& entry : entries_) {
    RouteMatch match;
    if (!segments_match(entry.segments, segments, &match.params)) continue;
    if (entry.route.method != method) {
      path_known = true;
      continue;
    }
    match.kind = RouteMatch::Kind::kFound;
    match.owner = entry.owner;
    match.pattern = entry.pattern;
    match.access = entry.route.access;
    match.handler = entry.route.handler;
    match.contract = entry.contract;
    return match;
  }
  return RouteMatch{.kind = path_known ? RouteMatch::Kind::kMethodNotAllowed : RouteMatch::Kind::kNotFound};
}

std::vector<RouteTable::Listed> RouteTable::list() const {
  std::shared_lock lock(mutex_);
  std::vector<Listed> out;
  for (const auto& entry : entries_) {
    out.push_back({entry.owner, entry.route.method, entry.pattern, entry.route.summary, entry.route.access,
                   entry.contract});
  }
  return out;
}

}  // namespace ates::server
