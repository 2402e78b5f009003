#include "plugin_loader.hpp"

#include <fstream>

#include <boost/test/unit_test.hpp>

#include "ates/testing/temp_dir.hpp"

namespace ates::server {
namespace {

using plugin_api::kApiMajor;
using plugin_api::kApiMinor;

plugin_api::PluginEntry entry_of(std::uint32_t major, std::uint32_t minor,
                                 std::uint32_t size = sizeof(plugin_api::PluginEntry)) {
  plugin_api::PluginEntry entry{};
  entry.api_major = major;
  entry.api_minor = minor;
  entry.struct_size = size;
  entry.name = "kudos";
  entry.build_id = "0123456789abcdef";
  return entry;
}

BOOST_AUTO_TEST_SUITE(plugin_loader)

BOOST_AUTO_TEST_CASE(the_hosts_own_version_is_compatible) {
  BOOST_TEST(check_compatible(entry_of(kApiMajor, kApiMinor)).is_ok());
}

BOOST_AUTO_TEST_CASE(an_older_or_newer_major_version_is_refused_with_both_versions_named) {
  for (const std::uint32_t major : {kApiMajor - 1, kApiMajor + 1, std::uint32_t{0}}) {
    const base::Status status = check_compatible(entry_of(major, 0));
    BOOST_TEST(!status.is_ok());
    BOOST_TEST(status.message() == "it was built against plugin API " + std::to_string(major) +
                                       ".x, the host has " + std::to_string(kApiMajor) + "." +
                                       std::to_string(kApiMinor) + "; rebuild the plugin against this host");
  }
}

BOOST_AUTO_TEST_CASE(a_newer_minor_version_is_refused) {
  const base::Status status = check_compatible(entry_of(kApiMajor, kApiMinor + 1));
  BOOST_TEST(!status.is_ok());
  BOOST_TEST(status.message().find("newer than the host's") != std::string::npos, status.message());
  // A huge minor version must not index past the host's table of sizes.
  BOOST_TEST(!check_compatible(entry_of(kApiMajor, 0xffffffffU)).is_ok());
}

BOOST_AUTO_TEST_CASE(an_entry_smaller_than_its_version_says_is_refused) {
  const base::Status status =
      check_compatible(entry_of(kApiMajor, kApiMinor, sizeof(plugin_api::PluginEntry) - 8));
  BOOST_TEST(!status.is_ok());
  BOOST_TEST(status.message().find("its entry struct has") != std::string::npos, status.message());
  BOOST_TEST(check_compatible(entry_of(kApiMajor, kApiMinor, 0)).is_ok() == false);
}

BOOST_AUTO_TEST_CASE(a_larger_entry_of_a_known_version_is_accepted) {
  // A plugin built later in this major version fills more; the host reads
  // only the fields it knows.
  BOOST_TEST(check_compatible(entry_of(kApiMajor, kApiMinor, sizeof(plugin_api::PluginEntry) + 64)).is_ok());
}

void touch(const std::filesystem::path& file) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << "not really a library";
}

BOOST_AUTO_TEST_CASE(plugins_are_found_in_every_folder_given_and_the_first_folder_wins_a_name) {
  testing::TempDir dir;
  touch(dir / "mine" / "libates_plugin_kudos.so");
  touch(dir / "mine" / "libates_plugin_tracker.so");
  touch(dir / "builtin" / "libates_plugin_tracker.so");
  touch(dir / "builtin" / "nested" / "libates_plugin_auth.so");
  touch(dir / "builtin" / "libates_plugin_.txt");
  touch(dir / "builtin" / "readme.so");
  const auto found = find_plugins({dir / "mine", dir / "missing", dir / "builtin"});
  BOOST_TEST_REQUIRE(found.size() == 3u);
  BOOST_TEST(found[0].first == "auth");
  BOOST_TEST(found[0].second == dir / "builtin" / "nested" / "libates_plugin_auth.so");
  BOOST_TEST(found[1].first == "kudos");
  BOOST_TEST(found[2].first == "tracker");
  BOOST_TEST(found[2].second == dir / "mine" / "libates_plugin_tracker.so");
}

BOOST_AUTO_TEST_CASE(one_name_twice_below_one_folder_is_chosen_the_same_way_every_time) {
  testing::TempDir dir;
  // Made in an order other than the one expected, so that the walk's
  // order cannot pass the test by chance.
  for (const char* sub : {"e", "b", "d", "a1", "c", "a0"}) touch(dir / sub / "libates_plugin_kudos.so");
  const auto found = find_plugins({dir.path()});
  BOOST_TEST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].second == dir / "a0" / "libates_plugin_kudos.so");
}

BOOST_AUTO_TEST_CASE(plugin_names_are_what_a_route_a_config_section_and_a_folder_can_hold) {
  for (const char* name : {"kudos", "a", "tracker_v2", "x9"}) BOOST_TEST(is_plugin_name(name), name);
  for (const char* name : {"", ".", "..", "Kudos", "9lives", "_x", "a-b", "a.b", "a/b", "a b", "é"})
    BOOST_TEST(!is_plugin_name(name), name);
  BOOST_TEST(is_plugin_name(std::string(64, 'a')));
  BOOST_TEST(!is_plugin_name(std::string(65, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
