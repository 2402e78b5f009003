#include "users.hpp"

#include <sodium.h>

#include "ates/protocol/events.hpp"
#include "ates/protocol/schema.hpp"
#include "ates/protocol/text.hpp"

namespace ates::auth {

using base::Code;
using base::Status;

nlohmann::json user_json(const UserRecord& user) {
  return {{"id", user.id},
          {"username", user.username},
          {"email", user.email.empty() ? nlohmann::json(nullptr) : nlohmann::json(user.email)},
          {"role", user.role},
          {"active", user.active}};
}

plugin_api::Schema role_schema() {
  using plugin_api::Role;
  std::vector<std::string> names;
  for (Role role : {Role::kAdmin, Role::kManager, Role::kAccountant, Role::kWorker})
    names.emplace_back(plugin_api::to_string(role));
  return plugin_api::Schema::one_of(names);
}

plugin_api::Schema user_schema() {
  using plugin_api::Schema;
  return Schema::object({{"id", Schema::uuid()},
                         {"username", Schema::string()},
                         {"email", Schema::string().nullable().describe("null when the user has none")},
                         {"role", role_schema()},
                         {"active", Schema::boolean().describe("false: deactivated, may not log in")}})
      .titled("User");
}

HashLimits HashLimits::named(const std::string& name) {
  if (name == "min") return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
  if (name == "moderate") return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

std::string hash_password(const std::string& password, const HashLimits& limits) {
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(hash, password.data(), password.size(), limits.ops, limits.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("out of memory while hashing a password");
  }
  return hash;
}

bool password_matches(const std::string& hash, const std::string& password) {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Users::Users(storage::Environment& env)
    : env_(env),
      users_(env.table<UserRecord>("users")),
      usernames_(env.raw_table("usernames")),
      keys_(env.table<SigningKey>("signing_keys")),
      generations_(env.table<std::uint64_t>("token_generations")) {}

std::optional<UserRecord> Users::by_id(std::string_view id) const {
  storage::ReadTxn txn = env_.read();
  return users_.get(txn, id);
}

std::optional<UserRecord> Users::by_id(const storage::Txn& txn, std::string_view id) const {
  return users_.get(txn, id);
}

std::optional<UserRecord> Users::by_username(std::string_view username) const {
  storage::ReadTxn txn = env_.read();
  const auto id = usernames_.get(txn, username);
  if (!id) return std::nullopt;
  return users_.get(txn, *id);
}

std::vector<UserRecord> Users::list(const std::optional<std::string>& after, std::size_t limit) const {
  storage::ReadTxn txn = env_.read();
  std::vector<UserRecord> out;
  usernames_.scan(txn, after.value_or(""), [&](std::string_view username, std::string_view id) {
    if (after && username == *after) return true;
    if (auto user = users_.get(txn, id)) out.push_back(std::move(*user));
    return out.size() <= limit;
  });
  return out;
}

bool Users::empty() const {
  storage::ReadTxn txn = env_.read();
  return users_.raw().size(txn) == 0;
}

base::Result<UserRecord> Users::create(storage::WriteTxn& txn, UserRecord user) const {
  if (!usernames_.put(txn, user.username, user.id, storage::Put::kIfAbsent)) {
    return Status(Code::kConflict, "username '" + user.username + "' is taken");
  }
  users_.put(txn, user.id, user);
  auto published = txn.publish(protocol::UserCreated{
      .user_id = user.id,
      .username = user.username,
      .email = user.email.empty() ? std::nullopt : std::optional<std::string>(user.email),
      .role = user.role,
      .active = user.active});
  if (!published) return published.status();
  return user;
}

base::Result<UserRecord> Users::update(storage::WriteTxn& txn, const UserRecord& before,
                                       UserRecord after) const {
  users_.put(txn, after.id, after);
  // One event per change, of the kind that says what happened: a role change
  // and a deactivation are business events; anything else (email, password,
  // reactivation) streams the user's new state.
  bool published_any = false;
  if (before.role != after.role) {
    auto published = txn.publish(
        protocol::UserRoleChanged{.user_id = after.id, .old_role = before.role, .new_role = after.role});
    if (!published) return published.status();
    published_any = true;
  }
  if (before.active && !after.active) {
    auto published = txn.publish(protocol::UserDeactivated{.user_id = after.id});
    if (!published) return published.status();
    published_any = true;
  }
  // Tokens issued before a password change or a deactivation stop working
  // (and stay so after a reactivation).
  if (before.password_hash != after.password_hash) {
    if (auto revoked = revoke_tokens(txn, after.id, "password_changed"); !revoked) return revoked.status();
  }
  if (before.active && !after.active) {
    if (auto revoked = revoke_tokens(txn, after.id, "deactivated"); !revoked) return revoked.status();
  }
  const bool other_change = before.email != after.email || before.password_hash != after.password_hash ||
                            (!before.active && after.active);
  if (other_change || !published_any) {
    auto published = txn.publish(protocol::UserUpdated{
        .user_id = after.id,
        .username = after.username,
        .email = after.email.empty() ? std::nullopt : std::optional<std::string>(after.email),
        .role = after.role,
        .active = after.active});
    if (!published) return published.status();
  }
  return after;
}

namespace {

// A key pair with a fresh kid.
SigningKey make_signing_key(storage::WriteTxn& txn) {
  SigningKey key;
  key.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  key.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(key.public_key.data()),
                      reinterpret_cast<unsigned char*>(key.secret_key.data()));
  key.kid = "k" + std::to_string(txn.now_us()) + "-" + protocol::make_uuid(txn.random()).substr(0, 8);
  return key;
}

base::Status publish_key(storage::WriteTxn& txn, const SigningKey& key) {
  return txn
      .publish(protocol::SigningKeyAdded{
          .kid = key.kid, .public_key = std::vector<char>(key.public_key.begin(), key.public_key.end())})
      .status();
}

// The table holds one key, the one that signs (a rotation drops the old
// one); should it ever hold more, the last in kid order signs.
std::optional<SigningKey> current_of(const storage::Table<SigningKey>& keys, const storage::Txn& txn) {
  std::optional<SigningKey> found;
  keys.scan(txn, {}, [&](std::string_view, SigningKey key) {
    found = std::move(key);
    return true;
  });
  return found;
}

}  // namespace

base::Result<SigningKey> Users::signing_key(storage::WriteTxn& txn) const {
  if (auto found = current_of(keys_, txn)) return *found;
  SigningKey key = make_signing_key(txn);
  keys_.put(txn, key.kid, key);
  if (Status s = publish_key(txn, key); !s) return s;
  return key;
}

base::Result<Rotation> Users::rotate_signing_key(storage::WriteTxn& txn, std::int64_t not_after_us) const {
  auto current = signing_key(txn);
  if (!current) return current.status();
  SigningKey key = make_signing_key(txn);
  // The old secret goes: nothing signs with it again.
  std::vector<std::string> old;
  keys_.scan(txn, {}, [&](std::string_view kid, const SigningKey&) {
    old.emplace_back(kid);
    return true;
  });
  for (const auto& kid : old) keys_.erase(txn, kid);
  keys_.put(txn, key.kid, key);
  if (Status s = publish_key(txn, key); !s) return s;
  auto retired = txn.publish(protocol::SigningKeyRetired{.kid = current->kid, .not_after = not_after_us});
  if (!retired) return retired.status();
  return Rotation{key.kid, current->kid, not_after_us};
}

LoginView Users::login_view(std::string_view username) const {
  storage::ReadTxn txn = env_.read();
  LoginView view;
  if (const auto id = usernames_.get(txn, username)) {
    view.user = users_.get(txn, *id);
    if (view.user) view.generation = generations_.get(txn, view.user->id).value_or(0);
  }
  view.key = current_of(keys_, txn);
  view.users_head = env_.head(txn, protocol::kUsersStream);
  return view;
}

base::Result<std::uint64_t> Users::revoke_tokens(storage::WriteTxn& txn, const std::string& user_id,
                                                 std::string_view reason) const {
  const std::uint64_t generation = generations_.get(txn, user_id).value_or(0) + 1;
  generations_.put(txn, user_id, generation);
  auto published = txn.publish(
      protocol::TokensRevoked{.user_id = user_id, .generation = generation, .reason = std::string(reason)});
  if (!published) return published.status();
  return generation;
}

Status Users::revoke_token(storage::WriteTxn& txn, const std::string& user_id, const std::string& jti,
                           std::int64_t expires_at_s) const {
  return txn
      .publish(protocol::TokenRevoked{.user_id = user_id, .jti = jti, .expires_at = expires_at_s * 1'000'000})
      .status();
}

// ---- field checks --------------------------------------------------------------

namespace {

// A 400 naming `field` when `text` holds a character no typed text may
// (protocol/text.hpp says which and why).
Status check_text(std::string_view field, std::string_view text, protocol::Lines lines) {
  if (const auto bad = protocol::forbidden_character(text, lines)) {
    return base::invalid_argument(std::string(field) + ": must not contain " +
                                  protocol::code_point_name(*bad) +
                                  " (control characters, line separators and bidirectional controls are "
                                  "refused)");
  }
  return Status::ok();
}

}  // namespace

Status check_username(const nlohmann::json& body) {
  const auto it = body.find("username");
  if (it == body.end() || !it->is_string()) return base::invalid_argument("username: required, a string");
  const std::string username = *it;
  if (Status clean = check_text("username", username, protocol::Lines::kSingle); !clean) return clean;
  if (username.size() < 3 || username.size() > kMaxUsernameBytes || !protocol::is_username(username)) {
    return base::invalid_argument("username: 3 to 32 of a-z, 0-9, '_', '.', '-'");
  }
  return Status::ok();
}

Status check_password(const nlohmann::json& body, const char* field) {
  const auto it = body.find(field);
  if (it == body.end() || !it->is_string())
    return base::invalid_argument(std::string(field) + ": required, a string");
  const std::string password = *it;
  if (password.size() < 8) return base::invalid_argument(std::string(field) + ": at least 8 characters");
  if (password.size() > kMaxPasswordBytes)
    return base::invalid_argument(std::string(field) + ": at most " + std::to_string(kMaxPasswordBytes) +
                                  " bytes");
  return Status::ok();
}

Status check_email(const nlohmann::json& body, bool required) {
  const auto it = body.find("email");
  if (it == body.end() || it->is_null()) {
    return required ? base::invalid_argument("email: required") : Status::ok();
  }
  if (!it->is_string()) return base::invalid_argument("email: must be a string");
  const std::string email = *it;
  // Before the format: an email reaches a mail header, where a line break
  // would add headers, and the log of a failed delivery.
  if (Status clean = check_text("email", email, protocol::Lines::kSingle); !clean) return clean;
  if (email.size() > kMaxEmailBytes || !protocol::is_email(email))
    return base::invalid_argument("email: not an email address");
  return Status::ok();
}

Status check_role(const nlohmann::json& value) {
  if (!value.is_string() || !plugin_api::role_from_string(value.get<std::string>())) {
    return base::invalid_argument("role: one of admin, manager, accountant, worker");
  }
  return Status::ok();
}

}  // namespace ates::auth
