// Backups of a data directory, restores, and checks of a backup.
//
// A backup holds a compacted copy of every environment (the host's and
// each plugin's), the mail spool, and a manifest written last. The
// environments are copied one after another while the server goes on
// writing, so the copy of each is a later state than the one before it. The
// order makes that harmless: every consumer is copied before the producers
// it reads, so in the backup a consumer's checkpoint is never above its
// producer's head (it may lag, and catches up from the producer's outbox
// after a restore). The order comes from the data itself, from which
// environment produces each stream and which keep a checkpoint of it, so
// a plugin added later is ordered too; a cycle is refused.
//
// A running server backs itself up with its own handles (LMDB must not
// open one environment twice in a process); with no server, `ates backup`
// opens the environments read-only itself. Either way the copy goes to a
// temporary sibling of the destination, which is renamed into place once
// the manifest is written: a backup that exists is complete. Directories
// are 0700 and files 0600: a backup holds the signing keys and password
// hashes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/base/status.hpp"
#include "ates/storage/environment.hpp"

namespace ates::server {

inline constexpr int kBackupFormat = 1;
inline constexpr std::string_view kManifestFile = "manifest.json";

// One environment of a data directory: "host", or a plugin's name (its
// folder under the data directory).
struct BackupSource {
  std::string name;
  const storage::Environment* env = nullptr;
};

// The names in the order to copy them: every environment that keeps a
// checkpoint of a stream comes before the one producing it. Ties in name
// order. A cycle is an error naming the environments in it.
base::Result<std::vector<std::string>> copy_order(const std::vector<BackupSource>& sources);

// Copies `sources` and `data_dir`'s mail spool into `dest`, which must not
// exist; `now_us` is the business clock's time, recorded in the manifest.
// Returns the manifest.
base::Result<nlohmann::json> write_backup(const std::vector<BackupSource>& sources,
                                          const std::filesystem::path& data_dir,
                                          const std::filesystem::path& dest, std::int64_t now_us);

// Checks a backup: its manifest, each file's size and SHA-256, and, in the
// copies, every checkpoint at or below its producer's head. The report is
// {ok, problems: [...], manifest}.
nlohmann::json verify_backup(const std::filesystem::path& backup);

// Puts a verified backup in place as the data directory `data_dir`, which
// must be absent or empty (and so not in use). Streams keep their epochs
// (docs/operations.md, "Restore").
base::Status restore_backup(const std::filesystem::path& backup, const std::filesystem::path& data_dir);

}  // namespace ates::server
