#include "dev_watcher.hpp"

#include <fstream>
#include <mutex>

#include <boost/test/unit_test.hpp>

#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

namespace ates::server {
namespace {

using testing::wait_until;

struct Watched {
  testing::TempDir dir;
  std::mutex mutex;
  std::vector<std::filesystem::path> files;
  int ui_changes = 0;
  std::unique_ptr<DevWatcher> watcher;

  Watched() {
    std::filesystem::create_directories(dir / "plugins");
    std::filesystem::create_directories(dir / "ui" / "assets");
    watcher = std::make_unique<DevWatcher>(
        std::vector<std::filesystem::path>{dir / "plugins" / "libates_plugin_tracker.so"}, dir / "ui",
        [this](const std::filesystem::path& file) {
          std::lock_guard lock(mutex);
          files.push_back(file);
        },
        [this] {
          std::lock_guard lock(mutex);
          ++ui_changes;
        });
    BOOST_TEST_REQUIRE(wait_until([&] { return watcher->watching(); }));
  }
  std::size_t file_count() {
    std::lock_guard lock(mutex);
    return files.size();
  }
  int ui_count() {
    std::lock_guard lock(mutex);
    return ui_changes;
  }
};

BOOST_AUTO_TEST_SUITE(dev_watcher)

BOOST_AUTO_TEST_CASE(a_plugin_file_written_or_moved_into_place_is_reported) {
  Watched w;
  { std::ofstream(w.dir / "plugins" / "libates_plugin_tracker.so") << "new code"; }
  BOOST_TEST_REQUIRE(wait_until([&] { return w.file_count() >= 1; }));
  BOOST_TEST(w.files.front() == w.dir / "plugins" / "libates_plugin_tracker.so");
  { std::ofstream(w.dir / "plugins" / "tmp") << "newer code"; }
  std::filesystem::rename(w.dir / "plugins" / "tmp", w.dir / "plugins" / "libates_plugin_tracker.so");
  BOOST_TEST(wait_until([&] { return w.file_count() >= 2; }));
}

BOOST_AUTO_TEST_CASE(other_files_beside_a_plugin_are_not_reported) {
  Watched w;
  { std::ofstream(w.dir / "plugins" / "libates_plugin_other.so") << "not watched"; }
  { std::ofstream(w.dir / "ui" / "index.html") << "<html>"; }  // a marker that the batch was read
  BOOST_TEST_REQUIRE(wait_until([&] { return w.ui_count() >= 1; }));
  BOOST_TEST(w.file_count() == 0u);
}

BOOST_AUTO_TEST_CASE(a_change_below_the_ui_folder_is_reported) {
  Watched w;
  { std::ofstream(w.dir / "ui" / "assets" / "app.wasm") << "wasm"; }
  BOOST_TEST(wait_until([&] { return w.ui_count() >= 1; }));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
