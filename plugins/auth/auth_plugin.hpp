// The auth plugin (MISSION 1-4): registration and log-in, argon2id password
// hashes, Ed25519-signed tokens, roles and deactivation, the auth.users
// stream that every other plugin and host build their replicas from.
#pragma once

#include "ates/plugin_api/idempotency.hpp"
#include "ates/plugin_api/plugin.hpp"

#include "throttle.hpp"
#include "users.hpp"

namespace ates::auth {

class AuthPlugin final : public plugin_api::Plugin {
 public:
  explicit AuthPlugin(plugin_api::HostContext& host);
  protocol::Status start() override;
  void stop() override {}

 private:
  // http_handlers.cpp
  void add_routes();
  void register_user(plugin_api::Request request, plugin_api::Responder respond);
  void login(plugin_api::Request request, plugin_api::Responder respond);
  void me(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void update_me(plugin_api::Request request, plugin_api::Responder respond);
  void list_users(const plugin_api::Request& request, const plugin_api::Responder& respond) const;
  void update_user(plugin_api::Request request, plugin_api::Responder respond);
  protocol::Result<nlohmann::json> add_user_command(const nlohmann::json& args);

  protocol::Status ensure_first_admin();

  plugin_api::HostContext& host_;
  Users users_;
  plugin_api::Idempotency idempotency_;
  LoginThrottle throttle_;
  HashLimits limits_;
  std::string dummy_hash_;  // with the same limits, for unknown usernames
  std::int64_t token_lifetime_s_;
};

}  // namespace ates::auth
