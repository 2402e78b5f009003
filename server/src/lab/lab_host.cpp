#include "lab_host.hpp"

#include <stdlib.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace ates::lab {

ScratchDir::ScratchDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern + " failed");
  path_ = buffer.data();
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

LabHost::LabHost(const std::filesystem::path& data, const LabHostOptions& options) : data_(data) {
  server::ConfigSources sources;
  // Defaults first; what the lab names wins.
  sources.environment = options.environment;
  sources.environment.emplace("ATES_AUTH_FIRST_ADMIN", "false");
  sources.environment.emplace("ATES_AUTH_PASSWORD_HASH", "min");  // log-ins are set-up, not the subject
  sources.environment.emplace("ATES_BUS_HEARTBEAT_MS", "50");
  sources.environment.emplace("ATES_TRACKER_RANDOM_SEED", "42");
  sources.environment.emplace("ATES_ACCOUNTING_PRICE_KEY", std::string(64, '7'));
  // A run that crosses midnight must not pay out in one mode and not the other.
  sources.environment.emplace("ATES_ACCOUNTING_AUTO_CLOSE", "false");
  sources.environment.emplace("ATES_LOG_LEVEL", "error");
  sources.flags = options.flags;
  sources.flags["data"] = data.string();
  sources.flags["plugins"] = options.plugins;
  sources.flags["http.listen"] = "127.0.0.1:0";
  sources.flags["ui.dir"] = (data / "no-ui").string();
  auto started = server::Host::start(sources, std::filesystem::read_symlink("/proc/self/exe"));
  if (!started) throw std::runtime_error("the host did not start: " + started.status().to_string());
  host_ = std::move(started).value();
  base_ = "http://127.0.0.1:" + std::to_string(host_->port());
}

LabHost::~LabHost() {
  if (host_) host_->shutdown();
}

std::string LabHost::add_user(const std::string& name, const std::string& role) {
  const auto added = host_->run_command(
      "auth", "user-add", {{"username", name}, {"role", role}, {"password", "password-" + name}});
  if (!added) throw std::runtime_error("user-add " + name + ": " + added.status().to_string());
  return login(name);
}

std::string LabHost::login(const std::string& name) {
  HttpDriver http(base_);
  const auto login =
      http.post_expect("/api/v1/auth/login", "",
                       nlohmann::json{{"username", name}, {"password", "password-" + name}}.dump(), 200);
  tokens_[name] = login["token"];
  ids_[name] = login["user"]["id"];
  if (login["user"]["role"] == "admin" && admin_token_.empty()) admin_token_ = tokens_[name];
  return tokens_[name];
}

void copy_data(const std::filesystem::path& from, const std::filesystem::path& to) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(from)) {
    const auto target = to / std::filesystem::relative(entry.path(), from);
    if (entry.is_directory()) {
      std::filesystem::create_directories(target);
    } else if (entry.is_regular_file()) {
      std::filesystem::create_directories(target.parent_path());
      std::filesystem::copy_file(entry.path(), target);
    }
  }
  std::filesystem::permissions(to, std::filesystem::perms::owner_all);
}

std::string LabHost::name_of(const std::string& user_id) const {
  for (const auto& [name, id] : ids_) {
    if (id == user_id) return name;
  }
  throw std::runtime_error("no user " + user_id);
}

LabHost::Position LabHost::position(HttpDriver& http, const std::string& stream,
                                    const std::string& plugin) const {
  const auto answer = http.get("/api/v1/events/streams", admin_token_);
  Position p;
  if (answer.status != 200) return p;
  const auto body = answer.json();
  for (const auto& s : body["streams"]) {
    if (s["name"] != stream) continue;
    if (s["head_seq"].is_number()) p.head = s["head_seq"];
    for (const auto& consumer : s["consumers"]) {
      // A consumer that is starting has not read its checkpoint yet.
      if (consumer["plugin"] == plugin && consumer.value("state", "") != "starting")
        p.applied = consumer["applied_seq"];
    }
  }
  return p;
}

void LabHost::sync(const std::string& stream, const std::string& plugin,
                   std::chrono::milliseconds timeout) const {
  HttpDriver http(base_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const Position p = position(http, stream, plugin);
    if (p.applied >= p.head && p.applied >= 0) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(plugin + " did not apply " + stream + " within " +
                               std::to_string(timeout.count()) + " ms (applied " + std::to_string(p.applied) +
                               " of " + std::to_string(p.head) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace ates::lab
