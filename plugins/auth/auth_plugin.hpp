// The auth plugin: registration and log-in, argon2id password hashes,
// Ed25519-signed tokens, roles and deactivation, log-out and token
// revocation, signing-key rotation, and the auth.users stream that every
// other plugin and host build their replicas from.
#pragma once

#include "ates/plugin_api/idempotency.hpp"
#include "ates/plugin_api/plugin.hpp"

#include "hash_pool.hpp"
#include "throttle.hpp"
#include "users.hpp"

namespace ates::auth {

// Where the first admin's password goes, in the data directory, when the
// server's stdout is not a terminal.
inline constexpr std::string_view kFirstAdminPasswordFile = "initial-admin-password";

class AuthPlugin final : public plugin_api::Plugin {
 public:
  // Failed log-ins one client address may make in a minute before it
  // waits; the username's own limit is LoginThrottle::kFreeFailures.
  static constexpr int kFreeFailuresPerAddress = 20;

  explicit AuthPlugin(plugin_api::HostContext& host);
  base::Status start() override;
  // Answers what waits for a hash with 503 and joins the hashing threads.
  void stop() override { hash_pool_.stop(); }

 private:
  // http_handlers.cpp
  void add_routes();
  void register_user(plugin_api::Request request, plugin_api::Responder respond);
  void login(plugin_api::Request request, plugin_api::Responder respond);
  void finish_login(const std::string& username, const std::string& password, const std::string& address,
                    const plugin_api::Responder& respond);
  void me(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void update_me(plugin_api::Request request, plugin_api::Responder respond);
  void apply_update_me(plugin_api::Request request, plugin_api::Responder respond, const UserRecord& user,
                       const std::optional<std::string>& email,
                       const std::optional<std::string>& password_hash, std::uint64_t fingerprint);
  // Runs `work` (which answers through `respond` itself) on the hashing
  // pool, or answers 503 with Retry-After at once when the pool is full.
  void hash_off_thread(const plugin_api::Responder& respond, std::function<void()> work);
  // A 429 with Retry-After while the username or the client address is
  // throttled; failures count against both.
  std::optional<plugin_api::Response> throttled(const std::string& username, const std::string& address);
  void count_failure(const std::string& username, const std::string& address);
  void list_users(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void update_user(plugin_api::Request request, plugin_api::Responder respond);
  void logout(plugin_api::Request request, plugin_api::Responder respond);
  void revoke_tokens(plugin_api::Request request, plugin_api::Responder respond);
  void rotate_key(plugin_api::Request request, plugin_api::Responder respond);
  base::Result<nlohmann::json> add_user_command(const nlohmann::json& args);
  base::Result<nlohmann::json> rotate_key_command(const nlohmann::json& args);
  // The overlap of a rotation: `overlap_s` of a request or command when
  // given (0 to kMaxOverlapS), else the configured one.
  base::Result<std::int64_t> overlap_of(const nlohmann::json& args) const;

  base::Status ensure_first_admin();

  plugin_api::HostContext& host_;
  Users users_;
  plugin_api::Idempotency idempotency_;
  LoginThrottle username_throttle_;
  LoginThrottle address_throttle_{kFreeFailuresPerAddress};
  HashLimits limits_;
  std::string dummy_hash_;  // with the same limits, for unknown usernames
  std::int64_t token_lifetime_s_;
  std::int64_t key_overlap_s_;  // how long a replaced signing key still verifies
  // Last: destroyed first, so no hashing job outlives the members it uses.
  HashPool hash_pool_{HashPool::for_this_machine()};
};

// The longest overlap a rotation takes: a year.
inline constexpr std::int64_t kMaxOverlapS = std::int64_t{366} * 24 * 3600;

}  // namespace ates::auth
