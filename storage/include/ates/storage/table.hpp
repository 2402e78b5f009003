// Typed tables over LMDB named databases.
//
// A Table<V> maps byte-string keys to values of V stored as MessagePack (V
// needs MSGPACK_DEFINE or an adaptor). Keys sort bytewise: encode numbers
// with key_u64 so they sort numerically. Values in a table were written by
// ates itself, so a value that does not decode is corruption and throws.
// A Table is a cheap handle; use it with any transaction of its
// environment, from any thread that owns that transaction.
//
// Tables read through a Txn (a ReadTxn snapshot, or the WriteTxn a unit
// runs in) and write only through a WriteTxn, so a write outside the
// writer does not compile. LMDB's own handles stay inside storage: no
// header a plugin includes declares more of LMDB than two opaque names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <msgpack.hpp>

struct MDB_txn;
struct MDB_cursor;

namespace ates::storage {

class Environment;
class RawLookup;
class RawTable;
class WriteTxn;
namespace detail {
struct EnvironmentImpl;
}

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

// A transaction of one environment as tables see it: a read snapshot
// (ReadTxn) or the write transaction of a unit (WriteTxn).
class Txn {
 public:
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

 protected:
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  ~Txn() = default;
  MDB_txn* handle() const { return txn_; }
  MDB_txn* txn_;

 private:
  friend class RawTable;
  friend class RawLookup;
  friend class Environment;
  friend struct detail::EnvironmentImpl;
};

// How put() treats a key that is there already.
enum class Put : std::uint8_t {
  kOverwrite,  // replaces its value
  kIfAbsent,   // keeps it; put() answers false
  // The key sorts after every key of the table (a sequence): LMDB appends
  // without searching. A key that does not is refused: put() answers false.
  kAppend,
};

namespace detail {

// A non-owning reference to scan()'s callback, so a scan allocates nothing.
class EntryVisitor {
 public:
  template <class F>
  explicit EntryVisitor(F& fn)
      : object_(const_cast<void*>(static_cast<const void*>(&fn))),
        call_([](void* object, std::string_view key, std::string_view value) {
          return static_cast<bool>((*static_cast<F*>(object))(key, value));
        }) {}
  bool operator()(std::string_view key, std::string_view value) const { return call_(object_, key, value); }

 private:
  void* object_;
  bool (*call_)(void*, std::string_view, std::string_view);
};

}  // namespace detail

class RawTable {
 public:
  RawTable() = default;

  std::optional<std::string_view> get(const Txn& txn, std::string_view key) const;
  // False when `mode` refused the key (kIfAbsent: it exists; kAppend: it
  // does not sort after every key).
  bool put(WriteTxn& txn, std::string_view key, std::string_view value, Put mode = Put::kOverwrite) const;
  bool erase(WriteTxn& txn, std::string_view key) const;
  // Empties the table (it stays open).
  void clear(WriteTxn& txn) const;
  std::uint64_t size(const Txn& txn) const;
  // The entry with the greatest key; nothing when the table is empty.
  std::optional<std::pair<std::string_view, std::string_view>> last(const Txn& txn) const;

  // Calls fn(key, value) for keys >= from in order while fn returns true
  // (from the first key when `from` is empty; any length of `from` works).
  template <class F>
  void scan(const Txn& txn, std::string_view from, F&& fn) const {
    scan_entries(txn, from, detail::EntryVisitor(fn));
  }

 private:
  friend class Environment;
  friend class RawLookup;
  friend class WriteTxn;
  friend struct detail::EnvironmentImpl;
  template <class V>
  friend class Table;
  explicit RawTable(unsigned dbi) : dbi_(dbi) {}  // an LMDB dbi (MDB_dbi), open in its environment

  void scan_entries(const Txn& txn, std::string_view from, detail::EntryVisitor visit) const;
  unsigned dbi_ = 0;
};

// Gets keys of one table through one cursor, within one transaction. Asked
// for keys in ascending order (the ids an index's scan yields), LMDB finds a
// key that lies on the cursor's current page without descending from the
// root again.
class RawLookup {
 public:
  RawLookup(const Txn& txn, const RawTable& table);
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
  const RawTable& raw() const { return raw_; }

  std::optional<V> get(const Txn& txn, std::string_view key) const {
    const auto bytes = raw_.get(txn, key);
    if (!bytes) return std::nullopt;
    return decode(*bytes);
  }
  bool put(WriteTxn& txn, std::string_view key, const V& value, Put mode = Put::kOverwrite) const {
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, value);
    return raw_.put(txn, key, {buffer.data(), buffer.size()}, mode);
  }
  bool erase(WriteTxn& txn, std::string_view key) const { return raw_.erase(txn, key); }
  void clear(WriteTxn& txn) const { raw_.clear(txn); }
  std::uint64_t size(const Txn& txn) const { return raw_.size(txn); }

  template <class F>  // fn(std::string_view key, V value) -> bool (continue)
  void scan(const Txn& txn, std::string_view from, F&& fn) const {
    raw_.scan(txn, from,
              [&](std::string_view key, std::string_view bytes) { return fn(key, decode(bytes)); });
  }

  static V decode(std::string_view bytes) {
    const msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
    return handle.get().as<V>();
  }

 private:
  friend class Environment;
  friend struct detail::EnvironmentImpl;
  explicit Table(unsigned dbi) : raw_(dbi) {}
  RawTable raw_;
};

}  // namespace ates::storage
