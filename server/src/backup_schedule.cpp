#include "backup_schedule.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <spdlog/spdlog.h>

#include "ates/protocol/time.hpp"

namespace ates::server {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "ates-";
constexpr std::size_t kNameSize = 5 + 16;  // ates-YYYYMMDDTHHMMSSZ

}  // namespace

base::Result<std::chrono::seconds> parse_every(std::string_view text) {
  const auto wrong = [&] {
    return base::invalid_argument("backup.every: '" + std::string(text) +
                                  "' is not a duration like 90s, 30m, 6h or 1d");
  };
  if (text.size() < 2) return wrong();
  std::int64_t count = 0;
  const char* end = text.data() + text.size() - 1;
  const auto [stop, error] = std::from_chars(text.data(), end, count);
  if (error != std::errc() || stop != end || count <= 0) return wrong();
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return wrong();
  }
  if (count > std::int64_t{366} * 86400 / unit) return base::invalid_argument("backup.every: at most a year");
  return std::chrono::seconds(count * unit);
}

std::string scheduled_backup_name(std::int64_t time_us) {
  // "2026-03-03T09:00:00Z" without its separators, so the name is one word.
  std::string name(kPrefix);
  for (char c : protocol::format_utc(time_us)) {
    if (c != '-' && c != ':') name += c;
  }
  return name;
}

std::optional<std::int64_t> scheduled_backup_time(std::string_view name) {
  if (name.size() != kNameSize || !name.starts_with(kPrefix) || name[13] != 'T' || name.back() != 'Z')
    return std::nullopt;
  std::tm tm{};
  const std::string text(name);
  const char* end = strptime(text.c_str() + kPrefix.size(), "%Y%m%dT%H%M%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::int64_t{timegm(&tm)} * 1'000'000;
}

std::vector<std::string> prune_backups(const fs::path& dir, std::size_t keep) {
  std::vector<std::string> backups, removed;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory()) continue;
    if (scheduled_backup_time(name)) {
      backups.push_back(name);
    } else if (name.starts_with(".ates-") && name.ends_with(".partial")) {
      fs::remove_all(entry.path(), error);
      removed.push_back(name);
    }
  }
  std::sort(backups.begin(), backups.end());
  for (std::size_t i = 0; i + keep < backups.size(); ++i) {
    fs::remove_all(dir / backups[i], error);
    removed.push_back(backups[i]);
  }
  return removed;
}

BackupSchedule::BackupSchedule(Options options, Take take, base::Clock& clock, MetricsRegistry& metrics)
    : options_(std::move(options)), take_(std::move(take)), clock_(clock), metrics_(metrics) {
  thread_ = std::thread([this] { run(); });
}

BackupSchedule::~BackupSchedule() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void BackupSchedule::run() {
  // Due: the newest backup found plus `every`; at once when none is.
  std::int64_t last = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(options_.dir, error)) {
    if (auto time = scheduled_backup_time(entry.path().filename().string())) last = std::max(last, *time);
  }
  if (last > 0) {
    metrics_.set("ates_backup_last_success_timestamp_seconds", {}, static_cast<double>(last) / 1e6,
                 "the time of the newest scheduled backup (real clock)");
  }
  const std::int64_t every_us = std::chrono::duration_cast<std::chrono::microseconds>(options_.every).count();
  std::int64_t due = last > 0 ? last + every_us : clock_.now_us();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const std::int64_t now = clock_.now_us();
    if (now < due) {
      wake_.wait_for(lock, std::chrono::microseconds(due - now));
      continue;
    }
    lock.unlock();
    take_one();
    lock.lock();
    due = std::max(due + every_us, clock_.now_us());
  }
}

void BackupSchedule::take_one() {
  const std::int64_t now = clock_.now_us();
  const fs::path dest = options_.dir / scheduled_backup_name(now);
  auto manifest = take_(dest);
  if (!manifest) {
    metrics_.add("ates_backups_total", {{"result", "failed"}}, 1, "scheduled backups taken, by result");
    spdlog::error("scheduled backup to {} failed: {}", dest.string(), manifest.status().message());
    return;
  }
  metrics_.add("ates_backups_total", {{"result", "ok"}}, 1, "scheduled backups taken, by result");
  metrics_.set("ates_backup_last_success_timestamp_seconds", {}, static_cast<double>(now) / 1e6,
               "the time of the newest scheduled backup (real clock)");
  const auto removed = prune_backups(options_.dir, options_.keep);
  spdlog::info("scheduled backup: {} ({} older removed)", dest.string(), removed.size());
}

}  // namespace ates::server
