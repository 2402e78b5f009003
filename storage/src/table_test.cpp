#include "ates/storage/table.hpp"

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

namespace ates::storage {

using base::SystemClock;

namespace {

struct Row {
  std::string name;
  std::int64_t cents = 0;
  MSGPACK_DEFINE(name, cents)
};

BOOST_AUTO_TEST_SUITE(table)

BOOST_AUTO_TEST_CASE(u64_keys_sort_numerically) {
  BOOST_TEST(key_u64(2) < key_u64(10));
  BOOST_TEST(key_u64(255) < key_u64(256));
  BOOST_TEST(decode_key_u64(key_u64(0x0102030405060708)) == 0x0102030405060708u);
}

BOOST_AUTO_TEST_CASE(typed_rows_round_trip_and_scan_in_key_order) {
  testing::TempDir dir;
  SystemClock clock;
  base::SeededRandom random(31);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  auto rows = env->table<Row>("rows");
  BOOST_TEST_REQUIRE(
      env->run([&](WriteTxn& txn) {
           for (std::uint64_t n : {30, 10, 20})
             rows.put(txn.handle(), key_u64(n), Row{"r" + std::to_string(n), static_cast<std::int64_t>(n)});
           BOOST_TEST(!rows.put(txn.handle(), key_u64(10), Row{"dup", 0}, MDB_NOOVERWRITE));
           return Status::ok();
         })
          .is_ok());
  ReadTxn txn = env->read();
  BOOST_TEST(rows.get(txn.handle(), key_u64(20))->cents == 20);
  BOOST_TEST(!rows.get(txn.handle(), key_u64(40)).has_value());
  std::vector<std::string> names;
  rows.scan(txn.handle(), key_u64(15), [&](std::string_view, Row row) {
    names.push_back(row.name);
    return true;
  });
  BOOST_TEST((names == std::vector<std::string>{"r20", "r30"}));
}

// Keys from requests (an id in a path, a cursor) may be empty or longer
// than LMDB stores: looking them up finds nothing instead of throwing.
BOOST_AUTO_TEST_CASE(lookups_by_keys_lmdb_cannot_hold_find_nothing) {
  testing::TempDir dir;
  SystemClock clock;
  base::SeededRandom random(32);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  auto rows = env->raw_table("rows");
  const std::string longest(kMaxKeyBytes, 'k');
  BOOST_TEST_REQUIRE(env->run([&](WriteTxn& txn) {
                          BOOST_TEST(mdb_env_get_maxkeysize(mdb_txn_env(txn.handle())) ==
                                     static_cast<int>(kMaxKeyBytes));
                          rows.put(txn.handle(), "a", "1");
                          rows.put(txn.handle(), longest, "2");
                          rows.put(txn.handle(), "l", "3");
                          BOOST_TEST(!rows.erase(txn.handle(), std::string(kMaxKeyBytes + 1, 'k')));
                          BOOST_TEST(!rows.erase(txn.handle(), ""));
                          return Status::ok();
                        })
                         .is_ok());
  ReadTxn txn = env->read();
  BOOST_TEST(!rows.get(txn.handle(), "").has_value());
  BOOST_TEST(!rows.get(txn.handle(), std::string(100'000, 'a')).has_value());
  BOOST_TEST(*rows.get(txn.handle(), longest) == "2");
  RawLookup lookup(txn.handle(), rows);
  BOOST_TEST(!lookup.get(std::string(kMaxKeyBytes + 1, 'k')).has_value());
  BOOST_TEST(*lookup.get("l") == "3");
  // A scan from a key longer than any: the keys after it, as for any other.
  std::vector<std::string> after;
  rows.scan(txn.handle(), longest + "k", [&](std::string_view key, std::string_view) {
    after.emplace_back(key);
    return true;
  });
  BOOST_TEST((after == std::vector<std::string>{"l"}));
  after.clear();
  rows.scan(txn.handle(), std::string(kMaxKeyBytes + 5, 'a'), [&](std::string_view key, std::string_view) {
    after.emplace_back(key);
    return true;
  });
  BOOST_TEST((after == std::vector<std::string>{longest, "l"}));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::storage
