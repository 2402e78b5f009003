#include "config.hpp"

#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "ates/testing/temp_dir.hpp"

namespace ates::server {
namespace {

std::filesystem::path write_file(const testing::TempDir& dir, const std::string& text) {
  const auto path = dir / "ates.toml";
  std::ofstream(path) << text;
  return path;
}

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_need_no_file) {
  const auto settings = load_settings(host_keys(), {});
  BOOST_TEST_REQUIRE(settings.has_value());
  BOOST_TEST(settings->get_string("data") == "./ates-data");
  BOOST_TEST(settings->get_string("http.listen") == "127.0.0.1:8080");
  BOOST_TEST(settings->get_int("http.body_limit") == 65536);
  BOOST_TEST(settings->get_bool("dev") == false);
  BOOST_TEST(settings->source("http.listen") == "default");
}

BOOST_AUTO_TEST_CASE(file_then_environment_then_flag) {
  testing::TempDir dir;
  const auto file = write_file(dir, "data = \"/from/file\"\n[http]\nlisten = \"127.0.0.1:1\"\nthreads = 4\n");
  ConfigSources sources{.file = file};
  auto settings = load_settings(host_keys(), sources);
  BOOST_TEST_REQUIRE(settings.has_value(), settings.status().to_string());
  BOOST_TEST(settings->get_string("http.listen") == "127.0.0.1:1");
  BOOST_TEST(settings->get_int("http.threads") == 4);
  BOOST_TEST(settings->source("http.threads") == "file " + file.string());

  sources.environment = {{"ATES_HTTP_LISTEN", "127.0.0.1:2"}, {"ATES_DATA", "/from/env"}};
  settings = load_settings(host_keys(), sources);
  BOOST_TEST(settings->get_string("http.listen") == "127.0.0.1:2");
  BOOST_TEST(settings->get_string("data") == "/from/env");

  sources.flags = {{"http.listen", "127.0.0.1:3"}};
  settings = load_settings(host_keys(), sources);
  BOOST_TEST(settings->get_string("http.listen") == "127.0.0.1:3");
  BOOST_TEST(settings->get_string("data") == "/from/env");
  BOOST_TEST(settings->source("http.listen") == "flag --listen");
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_refused_by_name) {
  testing::TempDir dir;
  auto settings = load_settings(host_keys(), {.file = write_file(dir, "[http]\nlisten_on = \"x\"\n")});
  BOOST_TEST_REQUIRE(!settings.has_value());
  BOOST_TEST(settings.status().message().find("unknown configuration key 'http.listen_on'") !=
             std::string::npos);

  settings = load_settings(host_keys(), {.environment = {{"ATES_HTTP_LISTN", "x"}}});
  BOOST_TEST(settings.status().message() ==
             "unknown configuration key in environment variable ATES_HTTP_LISTN");
  // Test and debug hooks are not configuration.
  BOOST_TEST(load_settings(host_keys(), {.environment = {{"ATES_FAILPOINT", "x"}}}).has_value());
}

BOOST_AUTO_TEST_CASE(sections_of_plugins_not_loaded_are_skipped) {
  testing::TempDir dir;
  const auto file = write_file(dir, "[tracker]\nrandom_seed = 7\n");
  ConfigSources sources{.file = file, .environment = {{"ATES_TRACKER_SHUFFLE_BATCH", "5"}}};
  BOOST_TEST(load_settings(host_keys(), sources, false, {"tracker"}).has_value());
  BOOST_TEST(!load_settings(host_keys(), sources).has_value());
}

BOOST_AUTO_TEST_CASE(bad_values_are_refused_by_name) {
  testing::TempDir dir;
  auto settings = load_settings(host_keys(), {.file = write_file(dir, "[http]\nthreads = \"four\"\n")});
  BOOST_TEST(settings.status().message().find("bad value for 'http.threads'") != std::string::npos);
  BOOST_TEST(settings.status().message().find("expected integer") != std::string::npos);

  settings = load_settings(host_keys(), {.environment = {{"ATES_HTTP_LISTEN", "localhost"}}});
  BOOST_TEST(settings.status().message() ==
             "bad value for 'http.listen' (environment ATES_HTTP_LISTEN): expected host:port with a port "
             "0..65535, got "
             "'localhost'");
  settings = load_settings(host_keys(), {.flags = {{"fake_clock", "yesterday"}}});
  BOOST_TEST(settings.status().message().find("bad value for 'fake_clock' (flag --fake-clock)") !=
             std::string::npos);
  settings = load_settings(host_keys(), {.flags = {{"dev", "maybe"}}});
  BOOST_TEST(settings.status().message().find("expected true or false") != std::string::npos);
  settings = load_settings(host_keys(), {.file = write_file(dir, "this is not toml")});
  BOOST_TEST(settings.status().message().find("cannot read config file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(utc_times_parse) {
  BOOST_TEST(parse_utc_time("2026-03-03T09:00:00Z").value_or(0) == 1772528400000000);
  BOOST_TEST(!parse_utc_time("2026-03-03 09:00:00").has_value());
  BOOST_TEST(!parse_utc_time("2026-02-30T09:00:00Z").has_value());
}

BOOST_AUTO_TEST_CASE(readme_documents_every_key) {
  std::ifstream file(std::string(ATES_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << file.rdbuf();
  BOOST_TEST(text.str().find(keys_table(host_keys())) != std::string::npos,
             "README.md's configuration table differs from the code: paste `ates config keys` into it");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
