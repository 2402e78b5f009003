// Idempotency-Key handling shared by every plugin (API.md): a POST that
// carries the header gets, for the same key from the same user within 24 h,
// the first answer again, and nothing is done twice.
//
// The stored answer lives in the plugin's own environment and is written in
// the same unit as the change it answers, so "done" and "remembered" commit
// together: a crash can lose both, never one. A key reused with another
// request (method, path or body) is refused with 409. Failed requests are
// not remembered: they changed nothing, and a retry may succeed.
#pragma once

#include <chrono>
#include <initializer_list>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

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

class Idempotency {
 public:
  static constexpr std::int64_t kWindowUs = std::int64_t{24} * 3600 * 1'000'000;

  // Open at start-up: env.table<StoredAnswer>("idempotency").
  explicit Idempotency(storage::Table<StoredAnswer> table) : table_(table) {}

  using Unit = std::function<protocol::Result<Response>(storage::WriteTxn&)>;

  // Runs `unit` in the plugin's storage and answers through `respond` after
  // the commit: replays a remembered answer for the request's key, or runs
  // the unit and remembers its answer in the same transaction. An error from
  // the unit rolls it back and is answered as a problem. Times use the real
  // clock: this is a retry window, not business time.
  //
  // `fingerprint` tells a retry from another request; by default it hashes
  // method, path and body. A body holding a secret (a password) must not
  // leave even a fast hash of it on disk: pass fingerprint_without().
  void run(storage::Environment& env, const Request& request, Responder respond, Unit unit,
           std::optional<std::uint64_t> fingerprint_override = std::nullopt) const {
    std::optional<std::string> key;
    if (auto header = request.header("idempotency-key")) {
      if (header->empty() || header->size() > 255) {
        return respond(Response::problem(400, "validation", "Idempotency-Key must have 1 to 255 characters"));
      }
      key = (request.principal ? request.principal->user_id : std::string()) + '\0' + std::string(*header);
    }
    const std::uint64_t fingerprint = fingerprint_override.value_or(fingerprint_of(request, request.body));
    auto answer = std::make_shared<Response>();
    env.submit(
        [table = table_, key, fingerprint, answer, unit = std::move(unit)](storage::WriteTxn& txn) -> protocol::Status {
          const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
          if (key) {
            if (auto stored = table.get(txn.handle(), *key); stored && now - stored->stored_at_us < kWindowUs) {
              if (stored->fingerprint != fingerprint) {
                return {protocol::Code::kConflict, "this Idempotency-Key was used with another request"};
              }
              *answer = Response{stored->status, stored->content_type, stored->body, {{"Idempotent-Replayed", "true"}}};
              return protocol::Status::ok();
            }
          }
          protocol::Result<Response> result = unit(txn);
          if (!result) return result.status();
          *answer = std::move(result).value();
          if (key && answer->status < 400) {
            table.put(txn.handle(), *key, StoredAnswer{fingerprint, now, answer->status, answer->content_type, answer->body});
          }
          return protocol::Status::ok();
        },
        [answer, respond = std::move(respond)](protocol::Status status) {
          respond(status ? std::move(*answer) : Response::from_status(status));
        });
  }

  // The answer remembered for this request's key, if any: the stored
  // response, or a conflict when the key came with another request. For a
  // change in several units (the rpc charge), which must not even begin
  // when it is a retry; its last unit still goes through run().
  std::optional<protocol::Result<Response>> remembered(MDB_txn* txn, const Request& request) const {
    const auto header = request.header("idempotency-key");
    if (!header || header->empty() || header->size() > 255) return std::nullopt;
    const std::string key = (request.principal ? request.principal->user_id : std::string()) + '\0' + std::string(*header);
    const auto stored = table_.get(txn, key);
    const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    if (!stored || now - stored->stored_at_us >= kWindowUs) return std::nullopt;
    if (stored->fingerprint != fingerprint_of(request, request.body)) {
      return protocol::Result<Response>(
          protocol::Status(protocol::Code::kConflict, "this Idempotency-Key was used with another request"));
    }
    return protocol::Result<Response>(
        Response{stored->status, stored->content_type, stored->body, {{"Idempotent-Replayed", "true"}}});
  }

  // The fingerprint of a JSON body with the named fields left out.
  static std::uint64_t fingerprint_without(const Request& request, std::initializer_list<const char*> secret_fields) {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_object()) {
      for (const char* field : secret_fields) body.erase(field);
    }
    return fingerprint_of(request, body.is_discarded() ? std::string() : body.dump());
  }

 private:
  // FNV-1a over method, path and body: tells a retry from another request.
  static std::uint64_t fingerprint_of(const Request& request, std::string_view body) {
    std::uint64_t hash = 14695981039346656037ull;
    auto mix = [&](std::string_view text) {
      for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
      hash = (hash ^ 0xff) * 1099511628211ull;
    };
    mix(to_string(request.method));
    mix(request.path);
    mix(body);
    return hash;
  }

  storage::Table<StoredAnswer> table_;
};

}  // namespace ates::plugin_api
