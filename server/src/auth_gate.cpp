#include "auth_gate.hpp"

#include <cctype>
#include <functional>
#include <vector>

#include <spdlog/spdlog.h>

#include "ates/protocol/dispatch.hpp"
#include "ates/protocol/events.hpp"

namespace ates::server {

using base::Code;
using base::Status;

AuthGate::AuthGate(storage::Environment& env, const base::Clock& real_clock)
    : env_(env),
      real_clock_(real_clock),
      token_keys_(env.raw_table("token_keys")),
      key_not_after_(env.table<std::int64_t>("token_key_not_after")),
      users_(env.table<ReplicaUser>("users")),
      token_generations_(env.table<std::uint64_t>("token_generations")),
      revoked_tokens_(env.table<std::int64_t>("revoked_tokens")),
      revoked_by_expiry_(env.raw_table("revoked_tokens_by_expiry")) {}

TokenCheck AuthGate::authenticate(std::optional<std::string_view> authorization) const {
  try {
    return check(authorization);
  } catch (const std::exception& e) {
    spdlog::error("[host] checking a token failed: {}", e.what());
    return {Status(Code::kInternal, "the token could not be checked")};
  }
}

TokenCheck AuthGate::check(std::optional<std::string_view> authorization) const {
  const auto refuse = [](std::string why) {
    return TokenCheck{Status(Code::kUnauthenticated, std::move(why))};
  };
  // The scheme's name is case-insensitive (RFC 7235 section 2.1).
  const auto is_bearer = [](std::string_view value) {
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() < kScheme.size()) return false;
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
    }
    return true;
  };
  if (!authorization || !is_bearer(*authorization)) {
    return refuse("the Authorization header must be 'Bearer <token>'");
  }
  storage::ReadTxn txn = env_.read();
  const std::int64_t now_us = real_clock_.now_us();
  const std::int64_t now = now_us / 1'000'000;
  const std::string token(authorization->substr(7));
  std::optional<plugin_api::jwt::Claims> cached;
  {
    std::lock_guard lock(verified_mutex_);
    if (auto it = verified_.find(token); it != verified_.end()) {
      if (it->second.exp > now) {
        cached = it->second;
      } else {
        verified_.erase(it);
      }
    }
  }
  base::Result<plugin_api::jwt::Claims> claims =
      cached ? base::Result<plugin_api::jwt::Claims>(*cached)
             : plugin_api::jwt::verify(
                   token,
                   [&](std::string_view kid) -> std::optional<std::string> {
                     auto key = token_keys_.get(txn, kid);
                     if (!key) return std::nullopt;
                     return std::string(*key);
                   },
                   now);
  if (!claims) return {claims.status()};
  if (!cached) {
    std::lock_guard lock(verified_mutex_);
    if (verified_.size() >= kMaxVerifiedTokens) verified_.clear();
    verified_.emplace(token, *claims);
  }
  // What may have changed since the signature was checked, on every
  // request, in this one snapshot: the key's retirement, the stream the
  // token came from, the user, their revocations.
  if (const auto not_after = key_not_after_.get(txn, claims->kid); not_after && now_us >= *not_after) {
    return refuse("the token's signing key " + claims->kid + " was retired");
  }
  // A token of another epoch of auth.users (an auth restored or replaced)
  // speaks of users and generations this replica does not hold.
  const auto checkpoint = env_.checkpoint(txn, protocol::kUsersStream);
  if (checkpoint && !checkpoint->epoch.empty() && checkpoint->epoch != claims->uep) {
    return refuse("the token was issued by another auth.users (epoch " + claims->uep +
                  ") than this host follows; log in again");
  }
  const auto user = users_.get(txn, claims->sub);
  if (!user) {
    // Never trusted on its own claims: once the replica has applied the
    // stream up to where it stood at the log-in, an unknown user is no
    // user; before that, the caller waits for the replica.
    const std::uint64_t applied = checkpoint ? checkpoint->applied_seq : 0;
    if (applied >= claims->useq) return refuse("the token's user is unknown");
    return {Status(Code::kUnavailable,
                   "this host has not learnt of the token's user yet (auth.users applied up to " +
                       std::to_string(applied) + " of " + std::to_string(claims->useq) + "); retry shortly"),
            claims->useq};
  }
  if (!user->active) return refuse("the user is deactivated");
  if (claims->gen < token_generations_.get(txn, claims->sub).value_or(0)) {
    return refuse(
        "the token was revoked (a password change, a deactivation or an admin revoked it); log in again");
  }
  if (revoked_tokens_.get(txn, claims->jti)) return refuse("the token was revoked by a log-out");
  // A role change reaches tokens already issued: the replica's role wins.
  auto parsed = plugin_api::role_from_string(user->role);
  if (!parsed) return refuse("the user has an unknown role");
  return {plugin_api::Principal{claims->sub, *parsed, claims->jti, claims->exp}};
}

Status AuthGate::apply_user_event(storage::WriteTxn& txn, const protocol::Envelope& event) {
  using namespace protocol;
  auto set_user = [&](const std::string& id, const std::function<void(ReplicaUser&)>& change) {
    ReplicaUser user = users_.get(txn, id).value_or(ReplicaUser{"worker", true});
    change(user);
    users_.put(txn, id, user);
  };
  return dispatch(
      event,
      [&](const SigningKeyAdded& key) {
        token_keys_.put(txn, key.kid, std::string_view(key.public_key.data(), key.public_key.size()));
      },
      [&](const SigningKeyRetired& retired) {
        const auto current = key_not_after_.get(txn, retired.kid);
        if (!current || retired.not_after < *current) key_not_after_.put(txn, retired.kid, retired.not_after);
      },
      [&](const UserCreated& user) {
        set_user(user.user_id, [&](ReplicaUser& u) { u = {user.role, user.active}; });
      },
      [&](const UserUpdated& user) {
        set_user(user.user_id, [&](ReplicaUser& u) { u = {user.role, user.active}; });
      },
      [&](const UserRoleChanged& change) {
        set_user(change.user_id, [&](ReplicaUser& u) { u.role = change.new_role; });
      },
      [&](const UserDeactivated& change) {
        set_user(change.user_id, [&](ReplicaUser& u) { u.active = false; });
      },
      [&](const TokensRevoked& revoked) {
        // Generations only grow: a replayed or reordered lower one changes nothing.
        if (revoked.generation > token_generations_.get(txn, revoked.user_id).value_or(0)) {
          token_generations_.put(txn, revoked.user_id, revoked.generation);
        }
      },
      [&](const TokenRevoked& revoked) {
        revoked_tokens_.put(txn, revoked.jti, revoked.expires_at);
        revoked_by_expiry_.put(
            txn, storage::key_u64(static_cast<std::uint64_t>(revoked.expires_at)) + revoked.jti, "");
        forget_expired_revocations(txn);
      });
}

// A revoked token past its expiry is refused as expired anyway: its
// revocation need not be kept.
void AuthGate::forget_expired_revocations(storage::WriteTxn& txn) const {
  const auto now = static_cast<std::uint64_t>(real_clock_.now_us());
  std::vector<std::string> expired;
  revoked_by_expiry_.scan(txn, {}, [&](std::string_view key, std::string_view) {
    if (storage::decode_key_u64(key) > now) return false;
    expired.emplace_back(key);
    return true;
  });
  for (const auto& key : expired) {
    revoked_tokens_.erase(txn, std::string_view(key).substr(8));
    revoked_by_expiry_.erase(txn, key);
  }
}

nlohmann::json AuthGate::jwks() const {
  nlohmann::json keys = nlohmann::json::array();
  storage::ReadTxn txn = env_.read();
  const std::int64_t now_us = real_clock_.now_us();
  token_keys_.scan(txn, {}, [&](std::string_view kid, std::string_view key) {
    // A retired key past its overlap verifies nothing: not listed.
    if (const auto not_after = key_not_after_.get(txn, kid); not_after && now_us >= *not_after) return true;
    keys.push_back({{"kty", "OKP"},
                    {"crv", "Ed25519"},
                    {"kid", std::string(kid)},
                    {"use", "sig"},
                    {"alg", "EdDSA"},
                    {"x", plugin_api::jwt::base64url(key)}});
    return true;
  });
  return {{"keys", std::move(keys)}};
}

std::uint64_t AuthGate::replica_applied_seq() const {
  try {
    storage::ReadTxn txn = env_.read();
    const auto checkpoint = env_.checkpoint(txn, protocol::kUsersStream);
    return checkpoint ? checkpoint->applied_seq : 0;
  } catch (const std::exception& e) {
    spdlog::error("[host] reading the replica's position failed: {}", e.what());
    return 0;
  }
}

}  // namespace ates::server
