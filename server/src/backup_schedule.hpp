// Scheduled backups (backup.dir, backup.every, backup.keep): a thread of the
// host takes a backup (backup.hpp) into <dir>/ates-<UTC time> every `every`,
// keeps the newest `keep` of them, and reports the last good one's time as
// a metric. The schedule goes on from the newest backup found in the folder,
// so a server restarted more often than `every` still backs up on time.
// Times here are the real clock's: backups are operations, not business.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/base/clock.hpp"
#include "ates/base/status.hpp"

#include "metrics.hpp"

namespace ates::server {

// "90s", "30m", "6h", "1d": a positive whole number and a unit.
base::Result<std::chrono::seconds> parse_every(std::string_view text);

// The name of a scheduled backup taken at `time_us`: ates-YYYYMMDDTHHMMSSZ,
// which sorts as the times do; and back (nothing for another name).
std::string scheduled_backup_name(std::int64_t time_us);
std::optional<std::int64_t> scheduled_backup_time(std::string_view name);

// Removes all but the newest `keep` scheduled backups in `dir`, and what a
// cut-off one left (.ates-*.partial). Returns the names removed.
std::vector<std::string> prune_backups(const std::filesystem::path& dir, std::size_t keep);

class BackupSchedule {
 public:
  struct Options {
    std::filesystem::path dir;
    std::chrono::seconds every{86400};
    std::size_t keep = 7;
  };
  // `take` makes one backup at the path it is given (Host::Impl::backup).
  using Take = std::function<base::Result<nlohmann::json>(const std::filesystem::path&)>;
  BackupSchedule(Options options, Take take, base::Clock& clock, MetricsRegistry& metrics);
  // Stops the thread; a backup under way finishes first.
  ~BackupSchedule();
  BackupSchedule(const BackupSchedule&) = delete;
  BackupSchedule& operator=(const BackupSchedule&) = delete;

 private:
  void run();
  void take_one();

  Options options_;
  Take take_;
  base::Clock& clock_;
  MetricsRegistry& metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ates::server
