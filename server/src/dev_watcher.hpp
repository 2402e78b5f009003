// What `ates serve --dev` watches: the plugins' files and the UI's folder.
// A plugin file that was written completely (closed after writing, or
// moved into place) is reported by its path; any change under the UI's
// folder is reported once per batch of changes, and folders made since are
// watched from then on.
//
// Thread-safety: one thread of its own reads inotify and runs the
// callbacks; the destructor stops it.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

namespace ates::server {

class DevWatcher {
 public:
  using FileChanged = std::function<void(const std::filesystem::path& file)>;
  using FolderChanged = std::function<void()>;

  // Watches the folders of `plugin_files` (reporting only those files) and
  // `ui_dir` with every folder below it (an empty path watches no UI).
  DevWatcher(std::vector<std::filesystem::path> plugin_files, std::filesystem::path ui_dir,
             FileChanged on_plugin_file, FolderChanged on_ui);
  ~DevWatcher();
  DevWatcher(const DevWatcher&) = delete;
  DevWatcher& operator=(const DevWatcher&) = delete;

  // True once the watches are in place: a change after it is reported.
  bool watching() const { return watching_.load(); }

 private:
  void loop();

  std::vector<std::filesystem::path> plugin_files_;
  std::filesystem::path ui_dir_;
  FileChanged on_plugin_file_;
  FolderChanged on_ui_;
  std::atomic<bool> watching_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ates::server
