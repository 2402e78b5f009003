// Plugins loaded read-only (`ates audit` with no server): a real host
// writes a data directory with the test plugins, then ReadOnlyHost loads
// them from it: commands run, reads reach the producer's outbox, writes
// are refused, a plugin of plugin API 2.0 is left out, and no data file
// under the data directory changes.
#include "read_only_host.hpp"

#include <fstream>
#include <iterator>

#include <boost/test/unit_test.hpp>

#include "ates/storage/environment.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/test_host.hpp"

#include "audit.hpp"

namespace ates {
namespace {

using testing::TempDir;

const std::filesystem::path kPlugins = ATES_TEST_PLUGINS_DIR;

std::filesystem::path plugin_dir(const TempDir& dir, std::initializer_list<std::string> builds) {
  return testing::plugin_dir_with(dir.path(), kPlugins, builds);
}

// Every regular file under `dir` with its bytes, but LMDB's lock files:
// every reader, read-only too, registers itself there.
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename() == "lock.mdb") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    files[std::filesystem::relative(entry.path(), dir).string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return files;
}

server::ConfigSources sources_for(const std::filesystem::path& data, const std::filesystem::path& plugins) {
  server::ConfigSources sources;
  sources.flags = {{"data", data.string()}, {"plugin_dir", plugins.string()}};
  return sources;
}

BOOST_AUTO_TEST_SUITE(read_only_host)

BOOST_AUTO_TEST_CASE(commands_read_the_data_a_server_left_and_write_nothing) {
  TempDir dir;
  const auto plugins = plugin_dir(dir, {"variant_a"});
  const auto data = dir / "data";
  {
    auto host = testing::start_host({.data = data, .plugin_dir = plugins});
    BOOST_TEST_REQUIRE(host.has_value(), host.status().to_string());
    for (int i = 0; i < 3; ++i) {
      const auto published =
          (*host)->run_command("tracker", "publish", {{"title", "task " + std::to_string(i)}});
      BOOST_TEST_REQUIRE(published.has_value(), published.status().to_string());
    }
    // Serving, read_stream reads the producer in this host.
    const auto counted = (*host)->run_command("tracker", "count", nlohmann::json::object());
    BOOST_TEST_REQUIRE(counted.has_value(), counted.status().to_string());
    BOOST_TEST((*counted)["events"] == 3);
    BOOST_TEST((*counted)["mode"] == "serve");
    (*host)->shutdown();
  }
  const auto before = snapshot(data);

  auto reader = server::ReadOnlyHost::open(sources_for(data, plugins), "/proc/self/exe");
  BOOST_TEST_REQUIRE(reader.has_value(), reader.status().to_string());
  BOOST_TEST((*reader)->plugins() == std::vector<std::string>{"tracker"});
  BOOST_TEST((*reader)->errors().empty());
  BOOST_TEST((*reader)->notes().empty());

  const auto counted = (*reader)->run_command("tracker", "count", nlohmann::json::object());
  BOOST_TEST_REQUIRE(counted.has_value(), counted.status().to_string());
  BOOST_TEST((*counted)["events"] == 3);
  BOOST_TEST((*counted)["mode"] == "read-only");
  // read_stream's edges: a page from the middle, an empty page, past the
  // head, an unknown stream, a producer that is not here.
  const auto count = [&](const nlohmann::json& args) {
    return (*reader)->run_command("tracker", "count", args);
  };
  BOOST_TEST((*count({{"from", 2}}))["events"] == 2);
  BOOST_TEST((*count({{"from", 2}, {"max", 1}}))["events"] == 1);
  BOOST_TEST((*count({{"max", 0}}))["events"] == 0);
  BOOST_TEST((*count({{"from", 99}}))["events"] == 0);
  BOOST_TEST((*count({{"from", UINT64_MAX}, {"max", SIZE_MAX}}))["events"] == 0);
  BOOST_TEST((*count({{"max", SIZE_MAX}}))["events"] == 3);  // capped, not trusted
  BOOST_TEST(count({{"stream", "tracker.nothing"}}).status().code() == base::Code::kNotFound);
  const auto elsewhere = count({{"stream", "auth.users"}});
  BOOST_TEST(elsewhere.status().code() == base::Code::kUnavailable);
  BOOST_TEST(elsewhere.status().message() ==
             "auth.users is produced by auth, whose storage is not in this host");

  const auto refused = (*reader)->run_command("tracker", "publish", nlohmann::json::object());
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.status().code() == base::Code::kUnavailable);
  BOOST_TEST(refused.status().message() == "storage is open read-only");
  BOOST_TEST(!(*reader)->run_command("auth", "count", nlohmann::json::object()).has_value());

  // No plugin here keeps an audit: nothing to reconcile.
  std::ostringstream printed;
  const auto verdict = server::print_audit((*reader)->audit(), data.string(), printed);
  BOOST_TEST(verdict.clean());
  BOOST_TEST(printed.str().find("audit: nothing to reconcile") != std::string::npos, printed.str());
  reader->reset();
  BOOST_TEST((snapshot(data) == before), "a file under the data directory changed");
}

BOOST_AUTO_TEST_CASE(a_plugin_without_storage_is_left_out_and_a_missing_data_directory_is_an_error) {
  TempDir dir;
  const auto plugins = plugin_dir(dir, {"variant_a"});
  std::filesystem::create_directories(dir / "data");
  auto reader = server::ReadOnlyHost::open(sources_for(dir / "data", plugins), "/proc/self/exe");
  BOOST_TEST_REQUIRE(reader.has_value(), reader.status().to_string());
  BOOST_TEST((*reader)->plugins().empty());
  BOOST_TEST_REQUIRE((*reader)->notes().size() == 1u);
  BOOST_TEST((*reader)->notes()[0].starts_with("tracker: no storage in "));
  BOOST_TEST(!std::filesystem::exists(dir / "data" / "tracker"), "nothing is created");

  const auto missing = server::ReadOnlyHost::open(sources_for(dir / "nowhere", plugins), "/proc/self/exe");
  BOOST_TEST_REQUIRE(!missing.has_value());
  BOOST_TEST(missing.status().code() == base::Code::kNotFound);
  BOOST_TEST(!std::filesystem::exists(dir / "nowhere"));
}

BOOST_AUTO_TEST_CASE(a_constructor_that_fails_read_only_is_an_error_of_the_audit) {
  TempDir dir;
  const auto plugins = plugin_dir(dir, {"variant_a"});
  const auto data = dir / "data";
  {
    // Storage with no tracker.tasks declared: the test plugin's constructor
    // cannot declare it read-only, so it fails, and the audit says so.
    auto env = storage::Environment::open({.dir = data / "tracker", .producer = "tracker"});
    BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
  }
  auto reader = server::ReadOnlyHost::open(sources_for(data, plugins), "/proc/self/exe");
  BOOST_TEST_REQUIRE(reader.has_value(), reader.status().to_string());
  BOOST_TEST((*reader)->plugins().empty());
  BOOST_TEST_REQUIRE((*reader)->errors().size() == 1u);
  BOOST_TEST((*reader)->errors()[0].starts_with("tracker: create failed: "), (*reader)->errors()[0]);
  std::ostringstream printed;
  const auto verdict = server::print_audit((*reader)->audit(), data.string(), printed);
  BOOST_TEST(verdict.errors == 1u);
  BOOST_TEST(printed.str().find("ERROR tracker: create failed: ") != std::string::npos, printed.str());
  BOOST_TEST(printed.str().find("audit: incomplete") != std::string::npos, printed.str());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
