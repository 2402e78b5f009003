#include "ates/storage/table.hpp"

#include <lmdb++.h>

namespace ates::storage {

void check_lmdb(int rc, const char* what) {
  if (rc != 0) lmdb::error::raise(what, rc);
}

std::optional<std::string_view> RawTable::get(MDB_txn* txn, std::string_view key) const {
  if (!is_storable_key(key)) return std::nullopt;
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{};
  const int rc = mdb_get(txn, dbi_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check_lmdb(rc, "mdb_get");
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

RawLookup::RawLookup(MDB_txn* txn, const RawTable& table) {
  check_lmdb(mdb_cursor_open(txn, table.dbi(), &cursor_), "mdb_cursor_open");
}

RawLookup::~RawLookup() { mdb_cursor_close(cursor_); }

std::optional<std::string_view> RawLookup::get(std::string_view key) {
  if (!is_storable_key(key)) return std::nullopt;
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{};
  const int rc = mdb_cursor_get(cursor_, &k, &v, MDB_SET_KEY);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check_lmdb(rc, "mdb_cursor_get");
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

bool RawTable::put(MDB_txn* txn, std::string_view key, std::string_view value, unsigned flags) const {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  const int rc = mdb_put(txn, dbi_, &k, &v, flags);
  if (rc == MDB_KEYEXIST) return false;
  check_lmdb(rc, "mdb_put");
  return true;
}

bool RawTable::erase(MDB_txn* txn, std::string_view key) const {
  if (!is_storable_key(key)) return false;
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  const int rc = mdb_del(txn, dbi_, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check_lmdb(rc, "mdb_del");
  return true;
}

void RawTable::clear(MDB_txn* txn) const { check_lmdb(mdb_drop(txn, dbi_, 0), "mdb_drop"); }

std::uint64_t RawTable::size(MDB_txn* txn) const {
  MDB_stat stat{};
  check_lmdb(mdb_stat(txn, dbi_, &stat), "mdb_stat");
  return stat.ms_entries;
}

}  // namespace ates::storage
