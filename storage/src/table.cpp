#include "ates/storage/table.hpp"

#include <type_traits>

#include <lmdb++.h>

#include "ates/storage/environment.hpp"

namespace ates::storage {

static_assert(std::is_same_v<MDB_dbi, unsigned>, "RawTable keeps an MDB_dbi as unsigned");

namespace {

MDB_val value_of(std::string_view bytes) { return MDB_val{bytes.size(), const_cast<char*>(bytes.data())}; }
std::string_view view_of(const MDB_val& value) {
  return {static_cast<const char*>(value.mv_data), value.mv_size};
}

unsigned flags_of(Put mode) {
  switch (mode) {
    case Put::kOverwrite:
      return 0;
    case Put::kIfAbsent:
      return MDB_NOOVERWRITE;
    case Put::kAppend:
      return MDB_APPEND;
  }
  return 0;
}

// Closes a cursor however the scan ends.
struct CursorCloser {
  MDB_cursor* cursor;
  ~CursorCloser() { mdb_cursor_close(cursor); }
};

}  // namespace

void check_lmdb(int rc, const char* what) {
  if (rc != 0) lmdb::error::raise(what, rc);
}

ReadTxn::~ReadTxn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

std::optional<std::string_view> RawTable::get(const Txn& txn, std::string_view key) const {
  if (!is_storable_key(key)) return std::nullopt;
  MDB_val k = value_of(key);
  MDB_val v{};
  const int rc = mdb_get(txn.handle(), dbi_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check_lmdb(rc, "mdb_get");
  return view_of(v);
}

RawLookup::RawLookup(const Txn& txn, const RawTable& table) {
  check_lmdb(mdb_cursor_open(txn.handle(), table.dbi_, &cursor_), "mdb_cursor_open");
}

RawLookup::~RawLookup() { mdb_cursor_close(cursor_); }

std::optional<std::string_view> RawLookup::get(std::string_view key) {
  if (!is_storable_key(key)) return std::nullopt;
  MDB_val k = value_of(key);
  MDB_val v{};
  const int rc = mdb_cursor_get(cursor_, &k, &v, MDB_SET_KEY);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check_lmdb(rc, "mdb_cursor_get");
  return view_of(v);
}

bool RawTable::put(WriteTxn& txn, std::string_view key, std::string_view value, Put mode) const {
  MDB_val k = value_of(key);
  MDB_val v = value_of(value);
  const int rc = mdb_put(txn.handle(), dbi_, &k, &v, flags_of(mode));
  if (rc == MDB_KEYEXIST && mode != Put::kOverwrite) return false;
  check_lmdb(rc, "mdb_put");
  return true;
}

bool RawTable::erase(WriteTxn& txn, std::string_view key) const {
  if (!is_storable_key(key)) return false;
  MDB_val k = value_of(key);
  const int rc = mdb_del(txn.handle(), dbi_, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check_lmdb(rc, "mdb_del");
  return true;
}

void RawTable::clear(WriteTxn& txn) const { check_lmdb(mdb_drop(txn.handle(), dbi_, 0), "mdb_drop"); }

std::uint64_t RawTable::size(const Txn& txn) const {
  MDB_stat stat{};
  check_lmdb(mdb_stat(txn.handle(), dbi_, &stat), "mdb_stat");
  return stat.ms_entries;
}

std::optional<std::pair<std::string_view, std::string_view>> RawTable::last(const Txn& txn) const {
  MDB_cursor* cursor = nullptr;
  check_lmdb(mdb_cursor_open(txn.handle(), dbi_, &cursor), "mdb_cursor_open");
  const CursorCloser closer{cursor};
  MDB_val key{};
  MDB_val value{};
  const int rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check_lmdb(rc, "mdb_cursor_get");
  return std::pair{view_of(key), view_of(value)};
}

void RawTable::scan_entries(const Txn& txn, std::string_view from, detail::EntryVisitor visit) const {
  MDB_cursor* cursor = nullptr;
  check_lmdb(mdb_cursor_open(txn.handle(), dbi_, &cursor), "mdb_cursor_open");
  const CursorCloser closer{cursor};
  // A `from` longer than any key: position at its longest storable prefix,
  // then skip the keys that sort before `from` itself.
  const std::string_view seek = from.substr(0, kMaxKeyBytes);
  MDB_val key = value_of(seek);
  MDB_val value{};
  int rc = mdb_cursor_get(cursor, &key, &value, seek.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == 0 && from.size() > kMaxKeyBytes && view_of(key) < from) {
    rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
  }
  while (rc == 0) {
    if (!visit(view_of(key), view_of(value))) return;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
  }
  if (rc != MDB_NOTFOUND) check_lmdb(rc, "mdb_cursor_get");
}

}  // namespace ates::storage
