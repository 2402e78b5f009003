#include "ates/storage/lock_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <sys/stat.h>

#include "ates/testing/temp_dir.hpp"

namespace ates::storage {
namespace {

BOOST_AUTO_TEST_SUITE(lock_file)

BOOST_AUTO_TEST_CASE(one_owner_at_a_time_and_the_second_is_told_who) {
  testing::TempDir dir;
  const auto data = dir / "data";
  BOOST_TEST(!DataDirLock::is_held(data));
  {
    auto first = DataDirLock::acquire(data);
    BOOST_TEST_REQUIRE(first.has_value(), first.status().to_string());
    BOOST_TEST(DataDirLock::is_held(data));
    struct stat info {};
    BOOST_TEST_REQUIRE(::stat(data.c_str(), &info) == 0);
    BOOST_TEST((info.st_mode & 0777) == 0700u);

    auto second = DataDirLock::acquire(data);
    BOOST_TEST_REQUIRE(!second.has_value());
    BOOST_TEST(second.status().code() == base::Code::kConflict);
    BOOST_TEST(second.status().message().find("in use by process " + std::to_string(::getpid())) !=
               std::string::npos);
  }
  BOOST_TEST(!DataDirLock::is_held(data));
  BOOST_TEST(DataDirLock::acquire(data).has_value());
}

BOOST_AUTO_TEST_CASE(a_directory_others_can_write_to_is_refused_with_what_to_do) {
  testing::TempDir dir;
  const auto data = dir / "data";
  BOOST_TEST_REQUIRE(::mkdir(data.c_str(), 0700) == 0);
  for (const mode_t mode : {0777, 0770, 0702, 0720}) {
    BOOST_TEST_REQUIRE(::chmod(data.c_str(), mode) == 0);
    const auto refused = DataDirLock::acquire(data);
    BOOST_TEST_REQUIRE(!refused.has_value(), mode);
    BOOST_TEST(refused.status().message().find("writable by its group or by others") != std::string::npos,
               refused.status().message());
    BOOST_TEST(refused.status().message().find("chmod 700 " + data.string()) != std::string::npos);
    BOOST_TEST(!std::filesystem::exists(data / "ates.lock"));  // nothing made in it
  }
  // Readable by others is not a danger to ates: used as it is, not changed.
  BOOST_TEST_REQUIRE(::chmod(data.c_str(), 0755) == 0);
  BOOST_TEST(DataDirLock::acquire(data).has_value());
  struct stat info {};
  BOOST_TEST_REQUIRE(::stat(data.c_str(), &info) == 0);
  BOOST_TEST((info.st_mode & 0777) == 0755u);
}

BOOST_AUTO_TEST_CASE(a_symbolic_link_planted_as_the_lock_file_is_refused) {
  testing::TempDir dir;
  const auto data = dir / "data";
  BOOST_TEST_REQUIRE(::mkdir(data.c_str(), 0700) == 0);
  const auto target = dir / "precious";
  BOOST_TEST_REQUIRE(::close(::open(target.c_str(), O_CREAT | O_WRONLY, 0600)) == 0);
  std::filesystem::create_symlink(target, data / "ates.lock");
  const auto refused = DataDirLock::acquire(data);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.status().message().find("is a symbolic link") != std::string::npos,
             refused.status().message());
  BOOST_TEST(std::filesystem::file_size(target) == 0u);  // not truncated, no pid written
  BOOST_TEST(!DataDirLock::is_held(data));
  // A dangling link neither creates its target.
  std::filesystem::remove(data / "ates.lock");
  std::filesystem::create_symlink(dir / "made-through-the-link", data / "ates.lock");
  BOOST_TEST(!DataDirLock::acquire(data).has_value());
  BOOST_TEST(!std::filesystem::exists(dir / "made-through-the-link"));
  // Nor anything but a regular file (a FIFO would block or mislead).
  std::filesystem::remove(data / "ates.lock");
  BOOST_TEST_REQUIRE(::mkfifo((data / "ates.lock").c_str(), 0600) == 0);
  const auto fifo = DataDirLock::acquire(data);
  BOOST_TEST_REQUIRE(!fifo.has_value());
  BOOST_TEST(fifo.status().message().find("not a regular file") != std::string::npos,
             fifo.status().message());
}

BOOST_AUTO_TEST_CASE(a_directory_of_another_user_is_refused) {
  testing::TempDir dir;
  const auto data = dir / "data";
  BOOST_TEST_REQUIRE(::mkdir(data.c_str(), 0700) == 0);
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("not root: cannot give a directory to another user; skipped");
    return;
  }
  constexpr uid_t kNobody = 65534;
  BOOST_TEST_REQUIRE(::chown(data.c_str(), kNobody, kNobody) == 0);
  const auto refused = DataDirLock::acquire(data);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(
      refused.status().message().find("belongs to uid 65534, not to this user (uid 0)") != std::string::npos,
      refused.status().message());
  BOOST_TEST(!std::filesystem::exists(data / "ates.lock"));
}

BOOST_AUTO_TEST_CASE(a_file_is_no_data_directory) {
  testing::TempDir dir;
  const auto file = dir / "file";
  BOOST_TEST_REQUIRE(::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0600)) == 0);
  const auto refused = DataDirLock::acquire(file);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.status().message().find("is not a directory") != std::string::npos,
             refused.status().message());
}

BOOST_AUTO_TEST_CASE(a_new_directory_is_0700_whatever_the_umask) {
  testing::TempDir dir;
  const auto data = dir / "parent" / "data";
  const mode_t before = ::umask(0);  // the most permissive umask: mkdir alone would give 0700 anyway...
  auto lock = DataDirLock::acquire(data);
  ::umask(0277);  // ...and one that would leave the owner unable to write
  auto other = DataDirLock::acquire(dir / "other");
  ::umask(before);
  BOOST_TEST_REQUIRE(lock.has_value(), lock.status().to_string());
  BOOST_TEST_REQUIRE(other.has_value(), other.status().to_string());
  for (const auto& path : {data, dir / "other"}) {
    struct stat info {};
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &info) == 0);
    BOOST_TEST((info.st_mode & 0777) == 0700u, path);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::storage
