// auth's storage: users (by public id, with a username index), password
// hashes (argon2id, libsodium's crypto_pwhash_str), each user's token
// generation, and the Ed25519 key that signs tokens. Every change publishes
// its auth.users event in the same unit. Hashing is slow on purpose:
// callers hash before submitting a unit, never inside one (units run on the
// writer thread).
//
// Revocation is decided by the verifiers (every host), from the events:
// a token carries the user's generation at issue (`gen`), and a password
// change, a deactivation or an admin's revocation raises the generation
// and publishes TokensRevoked; a log-out publishes TokenRevoked for one
// token id. A counter, not a time: a token issued in the same second as a
// revocation is unambiguously before it (older generation) or after it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/plugin_api/context.hpp"
#include "ates/plugin_api/http.hpp"

namespace ates::auth {

struct UserRecord {
  std::string id;
  std::string username;
  std::string email;
  std::string role;
  bool active = true;
  std::string password_hash;  // argon2id, encoded with its salt and limits
  MSGPACK_DEFINE(id, username, email, role, active, password_hash)
};

// {id, username, email, role, active}: never the hash.
nlohmann::json user_json(const UserRecord& user);
// user_json's shape, as the routes' contracts declare it (the OpenAPI
// document's component User).
plugin_api::Schema user_schema();
// A role's name, as check_role takes it and user_json writes it.
plugin_api::Schema role_schema();

struct SigningKey {
  std::string kid;
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 64 bytes
  MSGPACK_DEFINE(kid, public_key, secret_key)
};

// What a log-in reads, all from one snapshot, so a token never carries a
// generation newer than the password hash it was checked against (a
// password change racing a log-in leaves the new token revoked, never the
// old password working).
struct LoginView {
  std::optional<UserRecord> user;
  std::uint64_t generation = 0;                   // the user's current token generation
  std::optional<SigningKey> key;                  // the key that signs now
  std::optional<storage::StreamHead> users_head;  // auth.users' epoch and head
};

// The outcome of a rotation.
struct Rotation {
  std::string kid;                // the new key, which signs from now on
  std::string retired_kid;        // the key it replaced
  std::int64_t not_after_us = 0;  // until when the replaced key still verifies
};

// argon2id limits: production uses at least libsodium's interactive ones;
// tests may ask for the minimum through auth.password_hash = "min".
struct HashLimits {
  unsigned long long ops;
  std::size_t mem;
  static HashLimits named(const std::string& name);
};

std::string hash_password(const std::string& password, const HashLimits& limits);
bool password_matches(const std::string& hash, const std::string& password);

class Users {
 public:
  explicit Users(storage::Environment& env);

  std::optional<UserRecord> by_id(std::string_view id) const;
  // Inside a unit: the record as this transaction sees it. Changes must
  // start from it, never from an earlier read, or they undo what committed
  // in between (a deactivation racing a password change, say).
  std::optional<UserRecord> by_id(const storage::Txn& txn, std::string_view id) const;
  std::optional<UserRecord> by_username(std::string_view username) const;
  // In username order, after `after`, at most `limit` (+1 to tell a next page).
  std::vector<UserRecord> list(const std::optional<std::string>& after, std::size_t limit) const;
  bool empty() const;

  // Units. Each writes the change and its event together.
  base::Result<UserRecord> create(storage::WriteTxn& txn, UserRecord user) const;
  base::Result<UserRecord> update(storage::WriteTxn& txn, const UserRecord& before, UserRecord after) const;

  // The key that signs new tokens, created (and published) on first use.
  base::Result<SigningKey> signing_key(storage::WriteTxn& txn) const;
  // A new signing key replaces the current one (whose secret is dropped):
  // SigningKeyAdded for the new one, SigningKeyRetired for the old one,
  // which verifies until `not_after_us` (real clock).
  base::Result<Rotation> rotate_signing_key(storage::WriteTxn& txn, std::int64_t not_after_us) const;

  LoginView login_view(std::string_view username) const;

  // Raises the user's token generation and publishes TokensRevoked: every
  // token issued so far stops working. Returns the new generation.
  base::Result<std::uint64_t> revoke_tokens(storage::WriteTxn& txn, const std::string& user_id,
                                            std::string_view reason) const;
  // One token (a log-out): TokenRevoked until its expiry (seconds).
  base::Status revoke_token(storage::WriteTxn& txn, const std::string& user_id, const std::string& jti,
                            std::int64_t expires_at_s) const;

 private:
  storage::Environment& env_;
  storage::Table<UserRecord> users_;
  storage::RawTable usernames_;
  storage::Table<SigningKey> keys_;
  storage::Table<std::uint64_t> generations_;  // user id -> token generation (absent: 0)
};

// The longest username, password and email anyone can have.
inline constexpr std::size_t kMaxUsernameBytes = 32;
inline constexpr std::size_t kMaxPasswordBytes = 1024;
inline constexpr std::size_t kMaxEmailBytes = 254;

// Field checks shared by register, user-add and the admin's changes; the
// error names the field.
base::Status check_username(const nlohmann::json& body);
base::Status check_password(const nlohmann::json& body, const char* field = "password");
base::Status check_email(const nlohmann::json& body, bool required);
base::Status check_role(const nlohmann::json& value);

}  // namespace ates::auth
