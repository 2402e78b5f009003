// The plugins of a data directory loaded read-only, for `ates audit` when
// no server runs (docs/operations.md, "Audit"): each plugin's storage is
// opened with MDB_RDONLY, each plugin is created in RunMode::kReadOnly and
// never started; there is no bus, no HTTP, no control socket, and the data
// directory's lock is not taken. No data file under it is written (LMDB
// registers each reader in the environment's lock.mdb, as for any reader;
// the loaded copies of the plugin files go to a temporary folder).
//
// A plugin is left out, with a note, when its folder holds no storage.
// A plugin whose constructor fails is left out with an error.
//
// Thread-safety: one thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/base/status.hpp"

#include "config.hpp"

namespace ates::server {

class ReadOnlyHost {
 public:
  // Reads the configuration as `ates serve` would (the environment and
  // flags of `sources`), then loads the plugins it names.
  static base::Result<std::unique_ptr<ReadOnlyHost>> open(const ConfigSources& sources,
                                                          const std::filesystem::path& exe);
  ~ReadOnlyHost();
  ReadOnlyHost(const ReadOnlyHost&) = delete;
  ReadOnlyHost& operator=(const ReadOnlyHost&) = delete;

  // The plugins created, in load order.
  std::vector<std::string> plugins() const;
  // Plugins left out, each "name: why".
  const std::vector<std::string>& notes() const;
  const std::vector<std::string>& errors() const;
  bool has_command(const std::string& plugin, const std::string& name) const;
  base::Result<nlohmann::json> run_command(const std::string& plugin, const std::string& name,
                                           const nlohmann::json& args);
  // `ates audit` of these plugins (audit.hpp's gathered form; the plugins
  // left out are among its notes, those that failed among its errors).
  nlohmann::json audit();

  struct Impl;

 private:
  explicit ReadOnlyHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ates::server
