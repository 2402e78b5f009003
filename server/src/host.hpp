// The host: what `ates serve` runs (README.md, docs/api.md, docs/operations.md).
//
// Start-up: take the data directory's lock, open each plugin's LMDB
// environment, load and create every plugin, then start them (a plugin
// whose start fails is unloaded and reported; the others keep serving),
// then listen for HTTP and for control commands. Shutdown is the reverse:
// stop accepting, drain in-flight requests, stop plugins in reverse order,
// close storage, release the lock.
//
// Tokens: the host verifies every bearer token itself against its replica
// of auth.users in <data>/host/ (keys, users, revocations). A request
// whose token names a user the replica has not learnt of yet is parked,
// holding no HTTP thread, until the replica catches up or
// tokens.replica_wait_ms passes; one thread of the host routes it again.
//
// Thread-safety: reload(), status_json() and the HTTP dispatch may run
// concurrently; start() and shutdown() are called by main only.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ates/base/status.hpp"

#include "config.hpp"

namespace ates::server {

class Host {
 public:
  // Reads the configuration (the host's keys and those the plugins found
  // declare) and starts. `exe` is the path of the running binary: plugins
  // and the UI are looked for beside it and in the build tree.
  static base::Result<std::unique_ptr<Host>> start(const ConfigSources& sources,
                                                   const std::filesystem::path& exe);
  const Settings& settings() const;
  ~Host();

  std::uint16_t port() const;
  // Stops everything; idempotent.
  void shutdown();
  // Takes a plugin's routes away (503 meanwhile), drains and unloads it,
  // loads its file anew and starts it. Its storage stays open.
  base::Status reload(const std::string& plugin);
  // The two halves of reload() with a pause of the caller's choosing
  // between them: an outage of one plugin, as `ates lab` shows it. While
  // stopped, its routes answer 503 + Retry-After, its rpc services answer
  // `unavailable` and its consumers apply nothing; its storage stays open.
  base::Status stop_plugin(const std::string& plugin);
  base::Status start_plugin(const std::string& plugin);
  // Runs a command a plugin registered (HostContext::add_command).
  base::Result<nlohmann::json> run_command(const std::string& plugin, const std::string& name,
                                           const nlohmann::json& args);
  // Applies a dead letter again through its consumer, once (what
  // `POST /events/dead-letters/{id}/redrive` does); the dead letter's JSON.
  base::Result<nlohmann::json> redrive(std::string_view id);
  // Backs the data directory up into `dest` (backup.hpp) with the
  // server's own handles, while it runs; the manifest.
  base::Result<nlohmann::json> backup(const std::filesystem::path& dest);
  // `ates audit` of this host: the "audit" command of every running plugin
  // that has one (audit.hpp's gathered form).
  nlohmann::json audit();
  // What `ates status` shows: /readyz's body, plus each plugin's API
  // version and build id.
  nlohmann::json status_json() const;

  struct Impl;

 private:
  explicit Host(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ates::server
