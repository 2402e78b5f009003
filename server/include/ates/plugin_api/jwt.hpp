// JSON Web Tokens (RFC 7519) signed with Ed25519 (EdDSA, RFC 8037), through
// libsodium: what auth signs and what every host verifies. Header-only, so
// plugins and the host share one implementation without linking each other.
//
// Verification refuses, with a reason: a malformed or oversized token, any
// alg other than EdDSA (including "none"), a kid that is empty, long or not
// printable, an unknown kid, a bad signature, claims of the wrong type, a
// missing or expired exp, a missing jti, gen, uep or useq. It never throws:
// every token, however made, is a value or an Unauthenticated status. Times
// are the real clock's (tokens are not business events).
//
// What a valid signature does not settle (revocation, a retired key, a
// user the verifier has not seen) is the verifier's to check against its
// replica of auth.users; the claims jti, gen, uep and useq exist for that.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ates/base/status.hpp"

namespace ates::plugin_api::jwt {

inline std::string base64url(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

inline std::optional<std::string> from_base64url(std::string_view text) {
  std::string out(text.size(), '\0');
  std::size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                        nullptr, &length, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

// Far above any token ates signs (about 400 bytes), far below what would
// cost a verifier anything.
inline constexpr std::size_t kMaxTokenBytes = 4096;
inline constexpr std::size_t kMaxKidBytes = 64;
inline constexpr std::size_t kMaxSubBytes = 64;
inline constexpr std::size_t kMaxJtiBytes = 64;
inline constexpr std::size_t kMaxEpochBytes = 64;

// A key id, subject, token id or epoch as ates makes them: 1..max of
// [A-Za-z0-9_-].
inline bool is_token_id(std::string_view text, std::size_t max) {
  if (text.empty() || text.size() > max) return false;
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  }
  return true;
}

struct Claims {
  std::string sub;  // the user's public id
  std::string role;
  std::int64_t iat = 0;  // seconds since the epoch
  std::int64_t exp = 0;
  std::string kid;
  std::string jti;         // the token's random id: what a log-out revokes
  std::uint64_t gen = 0;   // the user's token generation at issue; a revocation raises it
  std::string uep;         // the auth.users epoch the token was issued in
  std::uint64_t useq = 0;  // auth.users' head then: a replica past it knows the user
};

// `secret_key` is libsodium's 64-byte Ed25519 secret key.
inline std::string sign(const Claims& claims, std::string_view secret_key) {
  const nlohmann::json header = {{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", claims.kid}};
  const nlohmann::json payload = {{"sub", claims.sub}, {"role", claims.role}, {"iat", claims.iat},
                                  {"exp", claims.exp}, {"kid", claims.kid},   {"jti", claims.jti},
                                  {"gen", claims.gen}, {"uep", claims.uep},   {"useq", claims.useq}};
  const std::string signing_input = base64url(header.dump()) + "." + base64url(payload.dump());
  std::array<unsigned char, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
                       reinterpret_cast<const unsigned char*>(secret_key.data()));
  return signing_input + "." +
         base64url(std::string_view(reinterpret_cast<const char*>(signature.data()), signature.size()));
}

// Finds the 32-byte public key of a kid, or nothing when unknown.
using KeyLookup = std::function<std::optional<std::string>(std::string_view kid)>;

inline base::Result<Claims> verify(std::string_view token, const KeyLookup& key_of,
                                   std::int64_t now_seconds) {
  using base::Code;
  using base::Status;
  const auto unauthenticated = [](std::string why) { return Status(Code::kUnauthenticated, std::move(why)); };
  if (token.size() > kMaxTokenBytes) {
    return unauthenticated("the token is longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return unauthenticated("the token is not a JWT (three base64url parts)");
  }
  const auto header_text = from_base64url(token.substr(0, first));
  const auto payload_text = from_base64url(token.substr(first + 1, second - first - 1));
  const auto signature = from_base64url(token.substr(second + 1));
  if (!header_text || !payload_text || !signature) return unauthenticated("the token is not valid base64url");
  const auto header = nlohmann::json::parse(*header_text, nullptr, false);
  const auto payload = nlohmann::json::parse(*payload_text, nullptr, false);
  if (!header.is_object() || !payload.is_object())
    return unauthenticated("the token's header or claims are not JSON");
  if (!header.contains("alg") || !header["alg"].is_string() || header["alg"] != "EdDSA") {
    return unauthenticated("the token's alg must be EdDSA");
  }
  if (!header.contains("kid") || !header["kid"].is_string()) return unauthenticated("the token has no kid");
  const std::string kid = header["kid"];
  if (!is_token_id(kid, kMaxKidBytes)) return unauthenticated("the token's kid is malformed");
  const auto key = key_of(kid);
  if (!key) return unauthenticated("the token's signing key " + kid + " is unknown");
  if (key->size() != crypto_sign_PUBLICKEYBYTES || signature->size() != crypto_sign_BYTES ||
      crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature->data()),
                                  reinterpret_cast<const unsigned char*>(token.data()), second,
                                  reinterpret_cast<const unsigned char*>(key->data())) != 0) {
    return unauthenticated("the token's signature is wrong");
  }
  // Only what ates itself signs: strings and integers of their own types
  // (a float, a bool or a huge unsigned exp is not quietly converted).
  const auto string_claim = [&](const char* name) -> const nlohmann::json* {
    const auto it = payload.find(name);
    return it != payload.end() && it->is_string() ? &*it : nullptr;
  };
  const auto time_claim = [&](const char* name) -> std::optional<std::int64_t> {
    const auto it = payload.find(name);
    if (it == payload.end() || !it->is_number_integer()) return std::nullopt;
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      return std::nullopt;
    return it->get<std::int64_t>();
  };
  const auto count_claim = [&](const char* name) -> std::optional<std::uint64_t> {
    const auto it = payload.find(name);
    if (it == payload.end() || !it->is_number_integer()) return std::nullopt;
    if (!it->is_number_unsigned() && it->get<std::int64_t>() < 0) return std::nullopt;
    return it->get<std::uint64_t>();
  };
  const auto* sub = string_claim("sub");
  const auto* role = string_claim("role");
  const auto iat = time_claim("iat");
  const auto exp = time_claim("exp");
  if (sub == nullptr || role == nullptr || !iat || !exp) {
    return unauthenticated("the token lacks sub, role, iat or exp of the right types");
  }
  const auto* jti = string_claim("jti");
  const auto* uep = string_claim("uep");
  const auto gen = count_claim("gen");
  const auto useq = count_claim("useq");
  if (jti == nullptr || uep == nullptr || !gen || !useq) {
    return unauthenticated("the token lacks jti, gen, uep or useq of the right types");
  }
  Claims claims;
  claims.sub = sub->get<std::string>();
  claims.role = role->get<std::string>();
  claims.iat = *iat;
  claims.exp = *exp;
  claims.kid = kid;
  claims.jti = jti->get<std::string>();
  claims.gen = *gen;
  claims.uep = uep->get<std::string>();
  claims.useq = *useq;
  if (!is_token_id(claims.sub, kMaxSubBytes)) return unauthenticated("the token's sub is malformed");
  if (!is_token_id(claims.jti, kMaxJtiBytes)) return unauthenticated("the token's jti is malformed");
  if (!is_token_id(claims.uep, kMaxEpochBytes)) return unauthenticated("the token's uep is malformed");
  if (claims.exp <= now_seconds) return unauthenticated("the token has expired");
  return claims;
}

}  // namespace ates::plugin_api::jwt
