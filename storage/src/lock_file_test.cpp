#include "ates/storage/lock_file.hpp"

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
    BOOST_TEST(second.status().code() == protocol::Code::kConflict);
    BOOST_TEST(second.status().message().find("in use by process " + std::to_string(::getpid())) !=
               std::string::npos);
  }
  BOOST_TEST(!DataDirLock::is_held(data));
  BOOST_TEST(DataDirLock::acquire(data).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::storage
