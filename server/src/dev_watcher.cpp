#include "dev_watcher.hpp"

#include <unistd.h>

#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>
#include <sys/inotify.h>

namespace ates::server {

namespace {

// The folders a UI change can happen in: the UI folder and the folders
// below it (symlinked ones are not followed, as the UI's loader does not).
std::vector<std::filesystem::path> ui_folders(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> folders;
  if (dir.empty()) return folders;
  folders.push_back(dir);
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, std::filesystem::directory_options::none, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) folders.push_back(it->path());
  }
  return folders;
}

}  // namespace

DevWatcher::DevWatcher(std::vector<std::filesystem::path> plugin_files, std::filesystem::path ui_dir,
                       FileChanged on_plugin_file, FolderChanged on_ui)
    : plugin_files_(std::move(plugin_files)),
      ui_dir_(std::move(ui_dir)),
      on_plugin_file_(std::move(on_plugin_file)),
      on_ui_(std::move(on_ui)),
      thread_([this] { loop(); }) {}

DevWatcher::~DevWatcher() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void DevWatcher::loop() {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    spdlog::error("--dev: inotify unavailable; plugins and the UI will not reload");
    return;
  }
  // One mask for every watch: a folder watched twice (a plugin folder that
  // is also the UI folder) keeps one mask, and each event is filtered below.
  constexpr std::uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE;
  std::map<int, std::filesystem::path> watched;
  std::set<int> ui_watches;
  std::set<std::filesystem::path> plugin_dirs;
  for (const auto& file : plugin_files_) {
    const auto dir = file.parent_path();
    const int wd = ::inotify_add_watch(fd, dir.c_str(), kMask);
    if (wd < 0) continue;
    watched[wd] = dir;
    plugin_dirs.insert(dir);
  }
  auto watch_ui = [&] {
    for (const auto& folder : ui_folders(ui_dir_)) {
      const int wd = ::inotify_add_watch(fd, folder.c_str(), kMask);
      if (wd < 0) continue;
      watched.emplace(wd, folder);
      ui_watches.insert(wd);
    }
  };
  watch_ui();
  spdlog::info("--dev: watching {} plugin directories and {} UI folders", plugin_dirs.size(),
               ui_watches.size());
  watching_ = true;
  const std::set<std::filesystem::path> files(plugin_files_.begin(), plugin_files_.end());
  alignas(inotify_event) char buffer[8192];
  while (!stop_.load()) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // poll the stop flag
      continue;
    }
    std::set<std::filesystem::path> changed;
    bool ui_changed = false;
    for (char* p = buffer; p < buffer + n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(p);
      if (ui_watches.contains(event->wd)) ui_changed = true;
      // A plugin file counts once it is complete.
      if (event->len > 0 && (event->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0) {
        if (auto it = watched.find(event->wd); it != watched.end()) {
          const auto path = it->second / event->name;
          if (files.contains(path)) changed.insert(path);
        }
      }
      p += sizeof(inotify_event) + event->len;
    }
    for (const auto& file : changed) on_plugin_file_(file);
    if (ui_changed) {
      on_ui_();
      watch_ui();
    }
  }
  ::close(fd);
}

}  // namespace ates::server
