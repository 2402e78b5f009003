// The auth plugin's entry point, construction and start.
#include "auth_plugin.hpp"

#include <sodium.h>

#include <algorithm>
#include <iterator>

#include "ates/plugin_api/jwt.hpp"
#include "ates/protocol/events.hpp"

namespace ates::auth {

using base::Status;

namespace {

const plugin_api::ConfigKeySpec kConfigKeys[] = {
    {"token_lifetime_s", "int", "43200", "how long a token is valid, in seconds (12 h)"},
    {"password_hash", "string", "interactive",
     "argon2id limits: interactive or moderate (production), min (tests only)"},
    {"first_admin", "bool", "true", "create an admin with a one-time password when there is no user"},
    {"signing_key_overlap_s", "int", "-1",
     "after a rotation, how long the replaced key still verifies, in seconds; -1: auth.token_lifetime_s"},
};

}  // namespace

AuthPlugin::AuthPlugin(plugin_api::HostContext& host)
    : host_(host),
      users_(host.storage()),
      idempotency_(host.storage()),
      limits_(HashLimits::named(host.config().get_string("password_hash"))),
      token_lifetime_s_(host.config().get_int("token_lifetime_s")),
      key_overlap_s_(host.config().get_int("signing_key_overlap_s")) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (Status s = host.storage().declare_stream(protocol::kUsersStream); !s)
    throw std::runtime_error(s.to_string());
  if (token_lifetime_s_ <= 0) throw std::runtime_error("auth.token_lifetime_s must be positive");
  if (key_overlap_s_ < -1 || key_overlap_s_ > kMaxOverlapS) {
    throw std::runtime_error("bad value for 'auth.signing_key_overlap_s': expected -1 or 0 to " +
                             std::to_string(kMaxOverlapS) + ", got " + std::to_string(key_overlap_s_));
  }
  if (key_overlap_s_ == -1) key_overlap_s_ = std::min(token_lifetime_s_, kMaxOverlapS);
  const std::string hash = host.config().get_string("password_hash");
  if (hash != "interactive" && hash != "moderate" && hash != "min") {
    throw std::runtime_error(
        "bad value for 'auth.password_hash': expected interactive, moderate or min, got '" + hash + "'");
  }
  std::string random(16, '\0');
  randombytes_buf(random.data(), random.size());
  dummy_hash_ = hash_password(random, limits_);
}

Status AuthPlugin::start() {
  // The signing key exists before the first log-in, and every host learns
  // it from the stream.
  if (Status s =
          host_.storage().run([this](storage::WriteTxn& txn) { return users_.signing_key(txn).status(); });
      !s) {
    return s;
  }
  if (host_.config().get_bool("first_admin")) {
    if (Status s = ensure_first_admin(); !s) return s;
  }
  add_routes();
  host_.add_command("user-add", [this](const nlohmann::json& args) { return add_user_command(args); });
  host_.add_command("signing-key-rotate",
                    [this](const nlohmann::json& args) { return rotate_key_command(args); });
  return Status::ok();
}

Status AuthPlugin::ensure_first_admin() {
  if (!users_.empty()) return Status::ok();
  std::string random(18, '\0');
  randombytes_buf(random.data(), random.size());
  const std::string password = plugin_api::jwt::base64url(random);
  const std::string hash = hash_password(password, limits_);
  // Handed over before the admin exists, so that when it cannot be (the
  // file is there already) no admin is made whose password nobody knows.
  // On the operator's terminal when stdout is one, else in a file only the
  // data directory's owner can read; never in the log.
  auto handed =
      host_.hand_over_secret(kFirstAdminPasswordFile, password,
                             "ates: created the first admin: username 'admin', password '" + password +
                                 "' (shown once; change it with PATCH /api/v1/auth/users/me)");
  if (!handed)
    return Status(handed.status().code(), "the first admin's password: " + handed.status().message());
  auto created = host_.storage().run_for<UserRecord>([&](storage::WriteTxn& txn) {
    return users_.create(txn,
                         UserRecord{protocol::make_uuid(txn.random()), "admin", "", "admin", true, hash});
  });
  if (!created) return created.status();
  if (!handed->empty()) {
    host_.log().info("created the first admin 'admin'; its password is in " + *handed +
                     " (readable only by this user): read it, change it with PATCH /api/v1/auth/users/me, "
                     "then delete the file");
  }
  return Status::ok();
}

}  // namespace ates::auth

ATES_DEFINE_PLUGIN("auth", ates::auth::AuthPlugin, ates::auth::kConfigKeys,
                   std::size(ates::auth::kConfigKeys))
