// Typed tables over LMDB named databases.
//
// A Table<V> maps byte-string keys to values of V stored as MessagePack (V
// needs MSGPACK_DEFINE or an adaptor). Keys sort bytewise: encode numbers
// with key_u64 so they sort numerically. Values in a table were written by
// ates itself, so a value that does not decode is corruption and throws.
// A Table is a cheap handle (the LMDB dbi); use it with any transaction of
// its environment, from any thread that owns that transaction.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace ates::storage {

// Big-endian, so integer keys sort in numeric order.
inline std::string key_u64(std::uint64_t value) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[static_cast<std::size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return key;
}

inline std::uint64_t decode_key_u64(std::string_view key) {
  std::uint64_t value = 0;
  for (char c : key.substr(0, 8)) value = (value << 8) | static_cast<unsigned char>(c);
  return value;
}

// Throws the lmdbxx exception for `rc` (map full, I/O...), which the writer
// turns into a Status for the unit that hit it.
void check_lmdb(int rc, const char* what);

// The longest key LMDB stores (its default MDB_MAXKEYSIZE). Keys often
// come from a request (an id in a path, a cursor): a lookup by an empty or
// longer key finds nothing, as no such key can have been written, instead
// of failing with MDB_BAD_VALSIZE. Writing one is still a bug and throws.
inline constexpr std::size_t kMaxKeyBytes = 511;
inline bool is_storable_key(std::string_view key) { return !key.empty() && key.size() <= kMaxKeyBytes; }

class RawTable {
 public:
  RawTable() = default;
  explicit RawTable(MDB_dbi dbi) : dbi_(dbi) {}
  MDB_dbi dbi() const { return dbi_; }

  std::optional<std::string_view> get(MDB_txn* txn, std::string_view key) const;
  // Returns false when `flags` has MDB_NOOVERWRITE and the key exists.
  bool put(MDB_txn* txn, std::string_view key, std::string_view value, unsigned flags = 0) const;
  bool erase(MDB_txn* txn, std::string_view key) const;
  // Empties the table (it stays open); in a write transaction.
  void clear(MDB_txn* txn) const;
  std::uint64_t size(MDB_txn* txn) const;

  // Calls fn(key, value) for keys >= from in order while fn returns true
  // (from the first key when `from` is empty; any length of `from` works).
  template <class F>
  void scan(MDB_txn* txn, std::string_view from, F&& fn) const;

 private:
  MDB_dbi dbi_ = 0;
};

// Gets keys of one table through one cursor, within one transaction. Asked
// for keys in ascending order (the ids an index's scan yields), LMDB finds a
// key that lies on the cursor's current page without descending from the
// root again.
class RawLookup {
 public:
  RawLookup(MDB_txn* txn, const RawTable& table);
  ~RawLookup();
  RawLookup(const RawLookup&) = delete;
  RawLookup& operator=(const RawLookup&) = delete;

  // Valid while the transaction is.
  std::optional<std::string_view> get(std::string_view key);

 private:
  MDB_cursor* cursor_ = nullptr;
};

template <class V>
class Table {
 public:
  Table() = default;
  explicit Table(MDB_dbi dbi) : raw_(dbi) {}
  const RawTable& raw() const { return raw_; }

  std::optional<V> get(MDB_txn* txn, std::string_view key) const {
    const auto bytes = raw_.get(txn, key);
    if (!bytes) return std::nullopt;
    return decode(*bytes);
  }
  bool put(MDB_txn* txn, std::string_view key, const V& value, unsigned flags = 0) const {
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, value);
    return raw_.put(txn, key, {buffer.data(), buffer.size()}, flags);
  }
  bool erase(MDB_txn* txn, std::string_view key) const { return raw_.erase(txn, key); }
  void clear(MDB_txn* txn) const { raw_.clear(txn); }

  template <class F>  // fn(std::string_view key, V value) -> bool (continue)
  void scan(MDB_txn* txn, std::string_view from, F&& fn) const {
    raw_.scan(txn, from,
              [&](std::string_view key, std::string_view bytes) { return fn(key, decode(bytes)); });
  }

  static V decode(std::string_view bytes) {
    const msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
    return handle.get().as<V>();
  }

 private:
  RawTable raw_;
};

template <class F>
void RawTable::scan(MDB_txn* txn, std::string_view from, F&& fn) const {
  MDB_cursor* cursor = nullptr;
  check_lmdb(mdb_cursor_open(txn, dbi_, &cursor), "mdb_cursor_open");
  struct Closer {
    MDB_cursor* c;
    ~Closer() { mdb_cursor_close(c); }
  } closer{cursor};
  // A `from` longer than any key: position at its longest storable prefix,
  // then skip the keys that sort before `from` itself.
  const std::string_view seek = from.substr(0, kMaxKeyBytes);
  MDB_val key{seek.size(), const_cast<char*>(seek.data())};
  MDB_val value{};
  int rc = mdb_cursor_get(cursor, &key, &value, seek.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == 0 && from.size() > kMaxKeyBytes &&
         std::string_view(static_cast<const char*>(key.mv_data), key.mv_size) < from) {
    rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
  }
  while (rc == 0) {
    if (!fn(std::string_view(static_cast<const char*>(key.mv_data), key.mv_size),
            std::string_view(static_cast<const char*>(value.mv_data), value.mv_size))) {
      return;
    }
    rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
  }
  if (rc != MDB_NOTFOUND) check_lmdb(rc, "mdb_cursor_get");
}

}  // namespace ates::storage
