// Who a bearer token speaks for, decided by the host for every request,
// with or without the auth plugin in this process.
//
// The gate keeps, in the host's own environment (<data>/host/), a replica
// of what auth.users says about tokens: the signing keys and their
// retirement, each user's role and whether they are active, token
// generations and single revoked tokens. The host's consumer of auth.users
// applies each event through apply_user_event, in the transaction that
// moves its checkpoint, so the replica is exactly-once like any consumer.
//
// A verified signature is cached until the token expires (an Ed25519
// verification costs more than the rest of a request). Everything that can
// change after it, the key's retirement, revocations, the role, a
// deactivation, is looked up on every request in one read snapshot.
//
// Tokens' times are the real clock's, never the business clock's.
//
// Thread-safety: authenticate() and jwks() may run on any number of
// threads; apply_user_event runs on the consumer's thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "ates/base/clock.hpp"
#include "ates/plugin_api/http.hpp"
#include "ates/plugin_api/jwt.hpp"
#include "ates/protocol/envelope.hpp"
#include "ates/storage/environment.hpp"

namespace ates::server {

// What the gate decided: a principal or a refusal. When the token names a
// user the replica has not seen while it is still below the token's
// `useq`, `wait_for_seq` is the sequence of auth.users to wait for before
// asking again (the refusal then is the 503 to answer if it never comes).
struct TokenCheck {
  base::Result<plugin_api::Principal> principal;
  std::uint64_t wait_for_seq = 0;
};

class AuthGate {
 public:
  // Opens the gate's tables in `env`; `real_clock` times tokens.
  AuthGate(storage::Environment& env, const base::Clock& real_clock);

  // The value of an Authorization header (or none). Never throws: a token
  // that cannot be checked is a refusal.
  TokenCheck authenticate(std::optional<std::string_view> authorization) const;

  // Applies one event of auth.users to the replica.
  base::Status apply_user_event(storage::WriteTxn& txn, const protocol::Envelope& event);

  // The keys that verify tokens now, as a JSON Web Key Set (RFC 7517).
  nlohmann::json jwks() const;

  // How far the replica has applied auth.users; 0 when it cannot tell.
  std::uint64_t replica_applied_seq() const;

  // At most this many verified tokens are remembered; past it, the cache
  // starts again (verifying again is only slower).
  static constexpr std::size_t kMaxVerifiedTokens = 100'000;

 private:
  // What the replica keeps of a user.
  struct ReplicaUser {
    std::string role;
    bool active = true;
    MSGPACK_DEFINE(role, active)
  };

  TokenCheck check(std::optional<std::string_view> authorization) const;
  void forget_expired_revocations(storage::WriteTxn& txn) const;

  storage::Environment& env_;
  const base::Clock& real_clock_;
  storage::RawTable token_keys_;                     // kid -> 32-byte Ed25519 public key
  storage::Table<std::int64_t> key_not_after_;       // kid of a retired key -> when it stops verifying (µs)
  storage::Table<ReplicaUser> users_;                // user id -> role, active
  storage::Table<std::uint64_t> token_generations_;  // user id -> lowest token generation still valid
  storage::Table<std::int64_t> revoked_tokens_;      // jti -> the token's expiry (µs)
  storage::RawTable revoked_by_expiry_;              // key_u64(expiry µs) + jti -> "": when to forget
  mutable std::mutex verified_mutex_;                // guards verified_
  mutable std::unordered_map<std::string, plugin_api::jwt::Claims> verified_;
};

}  // namespace ates::server
