#include "secret_file.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>
#include <sys/stat.h>

#include "ates/testing/temp_dir.hpp"

namespace ates::server {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

BOOST_AUTO_TEST_SUITE(secret_file)

BOOST_AUTO_TEST_CASE(a_secret_goes_into_a_new_file_only_its_owner_can_read) {
  testing::TempDir dir;
  const auto written = write_secret_file(dir.path(), "initial-admin-password", "s3cret");
  BOOST_TEST_REQUIRE(written.has_value(), written.status().to_string());
  BOOST_TEST(*written == dir / "initial-admin-password");
  BOOST_TEST(read_file(*written) == "s3cret\n");
  struct stat info {};
  BOOST_TEST_REQUIRE(::lstat(written->c_str(), &info) == 0);
  BOOST_TEST(S_ISREG(info.st_mode));
  BOOST_TEST((info.st_mode & 0777) == 0600u);

  // Never over an existing file: the first secret stays as it was.
  const auto again = write_secret_file(dir.path(), "initial-admin-password", "other");
  BOOST_TEST_REQUIRE(!again.has_value());
  BOOST_TEST(again.status().message().find("exists already") != std::string::npos, again.status().message());
  BOOST_TEST(read_file(*written) == "s3cret\n");
}

BOOST_AUTO_TEST_CASE(a_planted_symbolic_link_is_never_followed) {
  testing::TempDir dir;
  const auto target = dir / "elsewhere";
  { std::ofstream(target) << "precious\n"; }
  std::filesystem::create_symlink(target, dir / "initial-admin-password");
  const auto written = write_secret_file(dir.path(), "initial-admin-password", "s3cret");
  BOOST_TEST_REQUIRE(!written.has_value());
  BOOST_TEST(read_file(target) == "precious\n");
  // A dangling one neither: O_EXCL refuses to create through it.
  std::filesystem::create_symlink(dir / "nothing-yet", dir / "dangling");
  BOOST_TEST(!write_secret_file(dir.path(), "dangling", "s3cret").has_value());
  BOOST_TEST(!std::filesystem::exists(dir / "nothing-yet"));
}

BOOST_AUTO_TEST_CASE(only_a_plain_file_name) {
  testing::TempDir dir;
  for (const std::string name : {"", ".", "..", "../x", "a/b"}) {
    BOOST_TEST(!write_secret_file(dir.path(), name, "s3cret").has_value(), name);
  }
}

BOOST_AUTO_TEST_CASE(without_a_terminal_on_stdout_the_secret_goes_to_the_file) {
  if (::isatty(STDOUT_FILENO) == 1) return;  // run by hand in a terminal: the line would be printed
  testing::TempDir dir;
  const auto handed = hand_over_secret(dir.path(), "secret", "s3cret", "line with s3cret");
  BOOST_TEST_REQUIRE(handed.has_value(), handed.status().to_string());
  BOOST_TEST(*handed == dir / "secret");
  BOOST_TEST(read_file(*handed) == "s3cret\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
