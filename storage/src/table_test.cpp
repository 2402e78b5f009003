#include "ates/storage/table.hpp"

#include <lmdb.h>

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
             rows.put(txn, key_u64(n), Row{"r" + std::to_string(n), static_cast<std::int64_t>(n)});
           BOOST_TEST(!rows.put(txn, key_u64(10), Row{"dup", 0}, storage::Put::kIfAbsent));
           return Status::ok();
         })
          .is_ok());
  ReadTxn txn = env->read();
  BOOST_TEST(rows.get(txn, key_u64(20))->cents == 20);
  BOOST_TEST(!rows.get(txn, key_u64(40)).has_value());
  std::vector<std::string> names;
  rows.scan(txn, key_u64(15), [&](std::string_view, Row row) {
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
  // kMaxKeyBytes is the key size the linked LMDB was built with.
  MDB_env* lmdb_env = nullptr;
  BOOST_TEST_REQUIRE(mdb_env_create(&lmdb_env) == 0);
  BOOST_TEST(mdb_env_get_maxkeysize(lmdb_env) == static_cast<int>(kMaxKeyBytes));
  mdb_env_close(lmdb_env);
  BOOST_TEST_REQUIRE(env->run([&](WriteTxn& txn) {
                          rows.put(txn, "a", "1");
                          rows.put(txn, longest, "2");
                          rows.put(txn, "l", "3");
                          BOOST_TEST(!rows.erase(txn, std::string(kMaxKeyBytes + 1, 'k')));
                          BOOST_TEST(!rows.erase(txn, ""));
                          return Status::ok();
                        })
                         .is_ok());
  ReadTxn txn = env->read();
  BOOST_TEST(!rows.get(txn, "").has_value());
  BOOST_TEST(!rows.get(txn, std::string(100'000, 'a')).has_value());
  BOOST_TEST(*rows.get(txn, longest) == "2");
  RawLookup lookup(txn, rows);
  BOOST_TEST(!lookup.get(std::string(kMaxKeyBytes + 1, 'k')).has_value());
  BOOST_TEST(*lookup.get("l") == "3");
  // A scan from a key longer than any: the keys after it, as for any other.
  std::vector<std::string> after;
  rows.scan(txn, longest + "k", [&](std::string_view key, std::string_view) {
    after.emplace_back(key);
    return true;
  });
  BOOST_TEST((after == std::vector<std::string>{"l"}));
  after.clear();
  rows.scan(txn, std::string(kMaxKeyBytes + 5, 'a'), [&](std::string_view key, std::string_view) {
    after.emplace_back(key);
    return true;
  });
  BOOST_TEST((after == std::vector<std::string>{longest, "l"}));
}

// Put's modes: kIfAbsent keeps what is there, kAppend takes only keys after
// every key (an outbox's sequence); last() finds the greatest key; a write
// rolled back with its unit leaves nothing.
BOOST_AUTO_TEST_CASE(put_modes_keep_or_refuse_and_last_finds_the_greatest_key) {
  testing::TempDir dir;
  SystemClock clock;
  base::SeededRandom random(33);
  auto env = test::open_tracker(dir.path(), &clock, &random);
  auto log = env->raw_table("log");
  {
    const ReadTxn empty = env->read();
    BOOST_TEST(!log.last(empty).has_value());
    BOOST_TEST(log.size(empty) == 0u);
  }
  BOOST_TEST_REQUIRE(env->run([&](WriteTxn& txn) {
                          BOOST_TEST(log.put(txn, key_u64(1), "one", Put::kAppend));
                          BOOST_TEST(log.put(txn, key_u64(2), "two", Put::kAppend));
                          BOOST_TEST(!log.put(txn, key_u64(2), "again", Put::kAppend));  // not after 2
                          BOOST_TEST(!log.put(txn, key_u64(1), "before", Put::kAppend));
                          BOOST_TEST(!log.put(txn, key_u64(1), "kept?", Put::kIfAbsent));
                          BOOST_TEST(log.put(txn, key_u64(9), "nine", Put::kIfAbsent));
                          BOOST_TEST(log.put(txn, key_u64(1), "uno"));  // kOverwrite
                          return Status::ok();
                        })
                         .is_ok());
  BOOST_TEST(!env->run([&](WriteTxn& txn) {
                   log.put(txn, key_u64(10), "rolled back", Put::kAppend);
                   return base::Status(base::Code::kConflict, "refused after the write");
                 })
                  .is_ok());
  const ReadTxn txn = env->read();
  BOOST_TEST(*log.get(txn, key_u64(1)) == "uno");
  BOOST_TEST(*log.get(txn, key_u64(2)) == "two");
  const auto last = log.last(txn);
  BOOST_TEST_REQUIRE(last.has_value());
  BOOST_TEST(decode_key_u64(last->first) == 9u);
  BOOST_TEST(last->second == "nine");
  BOOST_TEST(log.size(txn) == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::storage
