// A host for one lab run: a fresh temporary data directory (removed at the
// end), every plugin of the build in this process, HTTP on a free loopback
// port, settings for a demonstration (argon2id's minimum limits, 50 ms
// heartbeats, seeded assignments, a fixed price key, no scheduled close),
// users added through auth's command and logged in over HTTP.
//
// Thread-safety: the helpers that take a driver are safe from any thread
// with its own driver; add_user() and the plugin controls from one thread.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "host.hpp"
#include "http_driver.hpp"

namespace ates::lab {

// A failed expectation: what a lab set out to show did not hold (it then
// exits 1).
struct Failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void expect(bool holds, const std::string& what) {
  if (!holds) throw Failed(what);
}

// Copies the regular files under `from` to `to` (LMDB environments of a
// stopped host; sockets and the like are left behind).
void copy_data(const std::filesystem::path& from, const std::filesystem::path& to);

// A directory made with mkdtemp, removed with its contents at destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct LabHostOptions {
  std::string plugins = "auth,tracker,accounting,analytics";
  std::map<std::string, std::string> environment;  // ATES_* keys, over the lab's defaults
  std::map<std::string, std::string> flags;        // e.g. {"fake_clock", "..."}
};

class LabHost {
 public:
  LabHost(const std::filesystem::path& data, const LabHostOptions& options);
  ~LabHost();

  server::Host& host() { return *host_; }
  const std::string& base() const { return base_; }
  const std::filesystem::path& data() const { return data_; }

  // Adds a user and logs it in; returns its token. The password is
  // "password-<name>".
  std::string add_user(const std::string& name, const std::string& role);
  // Logs in a user that exists in the data already; returns its token.
  std::string login(const std::string& name);
  const std::string& token(const std::string& name) const { return tokens_.at(name); }
  const std::string& user_id(const std::string& name) const { return ids_.at(name); }
  std::string name_of(const std::string& user_id) const;

  // The number `plugin` has applied of `stream`, and the stream's head, as
  // GET /api/v1/events/streams shows them (applied: -1 while the consumer
  // is not running or still starting).
  struct Position {
    std::int64_t head = 0;
    std::int64_t applied = -1;
  };
  Position position(HttpDriver& http, const std::string& stream, const std::string& plugin) const;
  // Waits (polling, with a deadline) until `plugin` has applied all of
  // `stream` published so far; throws after `timeout`.
  void sync(const std::string& stream, const std::string& plugin,
            std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

 private:
  std::filesystem::path data_;
  std::unique_ptr<server::Host> host_;
  std::string base_;
  std::map<std::string, std::string> tokens_;
  std::map<std::string, std::string> ids_;
  std::string admin_token_;  // the first admin added: reads the event streams
};

}  // namespace ates::lab
