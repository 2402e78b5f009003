// Idempotency-Key handling shared by every plugin (docs/api.md): a POST or
// PATCH that carries the header gets, for the same key from the same user
// within 24 h, the first answer again, and nothing is done twice.
//
// The stored answer lives in the plugin's own environment and, through
// run(), is written in the same unit as the change it answers, so "done"
// and "remembered" commit together: a crash can lose both, never one. A
// change of several units uses remembered(), remember() and forget()
// instead, and says what a crash between them leaves (docs/operations.md). A key reused with another
// request (method, path, query or body) is refused with 409. Failed requests are
// not remembered: they changed nothing, and a retry may succeed.
//
// What the store may hold is bounded, because every client can make it grow:
// - Anonymous requests (register) are never remembered or replayed. They
//   share no user id, so a key would be shared by every anonymous client and
//   one could read another's answer by guessing the key; nothing only that
//   client has can scope it (a password must not leave even a fast hash on
//   disk). A retried registration answers 409 (the username is taken); a
//   client that lost the first answer logs in to learn whether it was its.
// - Each user keeps at most `max_per_user` answers (1000): storing one more
//   forgets that user's oldest. A retry comes within seconds, long before a
//   thousand newer keyed requests of the same user; refusing instead (429)
//   would stop a busy script for up to a day.
// - Expired answers (older than kWindowUs) are deleted by a bounded sweep:
//   every store also looks at the next `sweep_per_store` stored answers in
//   key order, from where the previous sweep stopped, wrapping around at the
//   end, and deletes those that expired. No transaction does unbounded work,
//   and the table cannot outgrow its live answers by more than a fraction.
//
// Tables (in the plugin's environment): "idempotency" (user '\0' key ->
// StoredAnswer), "idempotency_by_user" (user '\0' stored_at key -> "", each
// user's answers oldest first) and "idempotency_meta" (the sweep's position,
// each user's count).
//
// Thread-safety: construct at start-up (it opens tables); then run() may be
// called from any thread, and remembered() from inside a unit.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ates/base/clock.hpp"
#include "ates/plugin_api/http.hpp"
#include "ates/storage/environment.hpp"

namespace ates::plugin_api {

struct StoredAnswer {
  std::uint64_t fingerprint = 0;
  std::int64_t stored_at_us = 0;
  int status = 0;
  std::string content_type;
  std::string body;
  MSGPACK_DEFINE(fingerprint, stored_at_us, status, content_type, body)
};

struct IdempotencyLimits {
  std::size_t max_per_user = 1000;   // answers one user may have stored
  std::size_t sweep_per_store = 16;  // stored answers each store looks at for expiry
  // The clock of the 24 h window; null: the real clock (this is a retry
  // window, not business time). Tests pass a ManualClock.
  const base::Clock* clock = nullptr;
};

class Idempotency {
 public:
  static constexpr std::int64_t kWindowUs = std::int64_t{24} * 3600 * 1'000'000;
  // Evictions one store makes at most: one when the cap holds; more only
  // if the cap was lowered, and then spread over the following stores.
  static constexpr std::size_t kMaxEvictionsPerStore = 4;

  // Opens its tables: call at start-up, never inside a unit.
  explicit Idempotency(storage::Environment& env, IdempotencyLimits limits = {})
      : answers_(env.table<StoredAnswer>("idempotency")),
        by_user_(env.raw_table("idempotency_by_user")),
        meta_(env.raw_table("idempotency_meta")),
        limits_(limits) {}

  using Unit = std::function<base::Result<Response>(storage::WriteTxn&)>;

  // Runs `unit` in the plugin's storage and answers through `respond` after
  // the commit: replays a remembered answer for the request's key, or runs
  // the unit and remembers its answer in the same transaction. An error from
  // the unit rolls it back and is answered as a problem.
  //
  // `fingerprint` tells a retry from another request; by default it hashes
  // method, path, query and body. A body holding a secret (a password) must not
  // leave even a fast hash of it on disk: pass fingerprint_without().
  void run(storage::Environment& env, const Request& request, Responder respond, Unit unit,
           std::optional<std::uint64_t> fingerprint_override = std::nullopt) const {
    auto key = key_of(request);
    if (!key) return respond(Response::from_status(key.status()));
    const std::uint64_t fingerprint = fingerprint_override.value_or(fingerprint_of(request, request.body));
    auto answer = std::make_shared<Response>();
    env.submit(
        // A copy (table handles and limits), not `this`: the unit may run
        // after the caller's object is gone.
        [self = *this, key = std::move(key).value(), fingerprint, answer,
         unit = std::move(unit)](storage::WriteTxn& txn) -> base::Status {
          const std::int64_t now = self.now_us();
          if (key) {
            if (auto replay = self.replay_of(txn, *key, fingerprint, now)) {
              if (!*replay) return replay->status();
              *answer = std::move(*replay).value();
              return base::Status::ok();
            }
          }
          base::Result<Response> result = unit(txn);
          if (!result) return result.status();
          *answer = std::move(result).value();
          if (key && answer->status < 400) {
            self.store(txn, *key,
                       StoredAnswer{fingerprint, now, answer->status, answer->content_type, answer->body});
          }
          return base::Status::ok();
        },
        [answer, respond = std::move(respond)](base::Status status) {
          respond(status ? std::move(*answer) : Response::from_status(status));
        });
  }

  // The answer remembered for this request's key, if any: the stored
  // response, or a conflict when the key came with another request. For a
  // change in several units (the rpc charge), which must not even begin
  // when it is a retry; its last unit still goes through run().
  std::optional<base::Result<Response>> remembered(const storage::Txn& txn, const Request& request) const {
    const auto key = key_of(request);
    if (!key || !*key) return std::nullopt;
    return replay_of(txn, **key, fingerprint_of(request, request.body), now_us());
  }

  // For a change whose answer is known only after several units (the
  // tracker's shuffle): remembers `answer` for the request's key in its
  // first unit, so that a retry finds it through remembered() and builds
  // the final answer from the plugin's own state. Nothing without a key.
  void remember(storage::WriteTxn& txn, const Request& request, const Response& answer) const {
    const auto key = key_of(request);
    if (!key || !*key) return;
    store(txn, **key,
          StoredAnswer{fingerprint_of(request, request.body), now_us(), answer.status, answer.content_type,
                       answer.body});
  }
  // Forgets what remember() kept for the request's key: the change failed,
  // and failed requests are not remembered (a retry may run it again).
  void forget(storage::WriteTxn& txn, const Request& request) const {
    const auto key = key_of(request);
    if (!key || !*key) return;
    const std::string full = (**key).full();
    if (const auto stored = answers_.get(txn, full)) forget(txn, full, stored->stored_at_us);
  }
  // The fingerprint of a JSON body with the named fields left out.
  static std::uint64_t fingerprint_without(const Request& request,
                                           std::initializer_list<const char*> secret_fields) {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_object()) {
      for (const char* field : secret_fields) body.erase(field);
    }
    return fingerprint_of(request, body.is_discarded() ? std::string() : body.dump());
  }

  // How many answers `user` has stored (for tests and diagnostics).
  std::uint64_t stored_count(const storage::Txn& txn, std::string_view user) const {
    return count_of(txn, user);
  }

 private:
  struct Key {
    std::string user;    // the principal's id; never empty
    std::string header;  // the Idempotency-Key, 1 to 255 bytes
    std::string full() const { return user + '\0' + header; }
  };

  // The request's key: none without the header or without a user (see the
  // contract above); a 400 for a header of the wrong size either way.
  static base::Result<std::optional<Key>> key_of(const Request& request) {
    const auto header = request.header("idempotency-key");
    if (!header) return std::optional<Key>();
    if (header->empty() || header->size() > 255) {
      return base::invalid_argument("Idempotency-Key must have 1 to 255 characters");
    }
    if (!request.principal || request.principal->user_id.empty()) return std::optional<Key>();
    return std::optional<Key>(Key{request.principal->user_id, std::string(*header)});
  }

  std::int64_t now_us() const {
    static const base::SystemClock real;
    return (limits_.clock != nullptr ? *limits_.clock : static_cast<const base::Clock&>(real)).now_us();
  }

  // The stored answer of `key` while it is within the window; a conflict
  // when it answered another request; nothing when there is none.
  std::optional<base::Result<Response>> replay_of(const storage::Txn& txn, const Key& key,
                                                  std::uint64_t fingerprint, std::int64_t now) const {
    const auto stored = answers_.get(txn, key.full());
    if (!stored || now - stored->stored_at_us >= kWindowUs) return std::nullopt;
    if (stored->fingerprint != fingerprint) {
      return base::Result<Response>(
          base::Status(base::Code::kConflict, "this Idempotency-Key was used with another request"));
    }
    return base::Result<Response>(
        Response{stored->status, stored->content_type, stored->body, {{"Idempotent-Replayed", "true"}}});
  }

  // Remembers `answer` under `key`, keeps the user's cap and sweeps.
  void store(storage::WriteTxn& txn, const Key& key, const StoredAnswer& answer) const {
    const std::string full = key.full();
    if (const auto old = answers_.get(txn, full))
      forget(txn, full, old->stored_at_us);  // an expired one, reused
    answers_.put(txn, full, answer);
    const std::string index = user_index_key(key.user, answer.stored_at_us, key.header);
    by_user_.put(txn, index, {});
    std::uint64_t count = count_of(txn, key.user) + 1;
    for (std::size_t evicted = 0; count > limits_.max_per_user && evicted < kMaxEvictionsPerStore;
         ++evicted) {
      const auto oldest = oldest_of(txn, key.user, index);
      if (!oldest) break;
      answers_.erase(txn, key.user + '\0' + oldest->second);
      by_user_.erase(txn, oldest->first);
      --count;
    }
    set_count(txn, key.user, count);
    sweep(txn, answer.stored_at_us);
  }

  // Deletes a stored answer and its index entry; the user's count goes down
  // only if it had been counted (answers stored before the index existed
  // were not).
  void forget(storage::WriteTxn& txn, const std::string& full, std::int64_t stored_at_us) const {
    answers_.erase(txn, full);
    const auto nul = full.find('\0');
    if (nul == std::string::npos || nul == 0) return;  // anonymous, from before they were refused
    const std::string user = full.substr(0, nul);
    if (by_user_.erase(txn, user_index_key(user, stored_at_us, std::string_view(full).substr(nul + 1)))) {
      const std::uint64_t count = count_of(txn, user);
      set_count(txn, user, count > 0 ? count - 1 : 0);
    }
  }

  // Looks at the next sweep_per_store answers after the last sweep's
  // position and deletes the expired ones.
  void sweep(storage::WriteTxn& txn, std::int64_t now) const {
    const std::string position(meta_.get(txn, kSweepPosition).value_or(std::string_view()));
    std::vector<std::pair<std::string, std::int64_t>> expired;
    std::string last;
    std::size_t examined = 0;
    bool at_end = true;
    answers_.raw().scan(txn, position, [&](std::string_view key, std::string_view bytes) {
      if (key == position) return true;  // looked at by the previous sweep
      if (examined == limits_.sweep_per_store) {
        at_end = false;
        return false;
      }
      ++examined;
      last = std::string(key);
      const StoredAnswer answer = storage::Table<StoredAnswer>::decode(bytes);
      if (now - answer.stored_at_us >= kWindowUs) expired.emplace_back(last, answer.stored_at_us);
      return true;
    });
    for (const auto& [key, stored_at] : expired) forget(txn, key, stored_at);
    if (at_end) {
      meta_.erase(txn, kSweepPosition);  // the next sweep starts again from the first answer
    } else {
      meta_.put(txn, kSweepPosition, last);
    }
  }

  // The user's oldest index entry other than `except`: (index key, header).
  std::optional<std::pair<std::string, std::string>> oldest_of(const storage::Txn& txn,
                                                               const std::string& user,
                                                               const std::string& except) const {
    const std::string prefix = user + '\0';
    std::optional<std::pair<std::string, std::string>> found;
    by_user_.scan(txn, prefix, [&](std::string_view key, std::string_view) {
      if (!key.starts_with(prefix)) return false;
      if (key == except) return true;
      found.emplace(std::string(key), std::string(key.substr(prefix.size() + 8)));
      return false;
    });
    return found;
  }

  static std::string user_index_key(std::string_view user, std::int64_t stored_at_us,
                                    std::string_view header) {
    std::string key(user);
    key += '\0';
    key += storage::key_u64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, stored_at_us)));
    key += header;
    return key;
  }

  std::uint64_t count_of(const storage::Txn& txn, std::string_view user) const {
    const auto bytes = meta_.get(txn, std::string(kCountPrefix) + std::string(user));
    return bytes ? storage::decode_key_u64(*bytes) : 0;
  }

  void set_count(storage::WriteTxn& txn, std::string_view user, std::uint64_t count) const {
    const std::string key = std::string(kCountPrefix) + std::string(user);
    if (count == 0) {
      meta_.erase(txn, key);
    } else {
      meta_.put(txn, key, storage::key_u64(count));
    }
  }

  // FNV-1a over method, path, query and body: tells a retry from another request.
  static std::uint64_t fingerprint_of(const Request& request, std::string_view body) {
    std::uint64_t hash = 14695981039346656037ull;
    auto mix = [&](std::string_view text) {
      for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
      hash = (hash ^ 0xff) * 1099511628211ull;
    };
    mix(to_string(request.method));
    mix(request.path);
    // The query too (`?force=true` is another request), mixed only when
    // there is one, so a query-less request keeps the fingerprint it had.
    if (!request.query.empty()) {
      mix("?");
      for (const auto& [name, value] : request.query) {
        mix(name);
        mix(value);
      }
    }
    mix(body);
    return hash;
  }

  static constexpr std::string_view kSweepPosition = "sweep";
  static constexpr std::string_view kCountPrefix = "count:";

  storage::Table<StoredAnswer> answers_;
  storage::RawTable by_user_;
  storage::RawTable meta_;
  IdempotencyLimits limits_;
};

}  // namespace ates::plugin_api
