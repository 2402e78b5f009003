// The auth routes of docs/api.md.
#include <sodium.h>

#include <chrono>
#include <ctime>

#include "ates/plugin_api/jwt.hpp"
#include "ates/protocol/time.hpp"

#include "auth_plugin.hpp"

namespace ates::auth {

using base::Code;
using base::Status;
using plugin_api::Access;
using plugin_api::Answer;
using plugin_api::Contract;
using plugin_api::Method;
using plugin_api::Parameter;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;
using plugin_api::Role;
using plugin_api::Schema;

namespace {

// 503 (with Retry-After, as every 503): the hashing pool is full or stopping.
Response busy(std::string_view detail) { return Response::problem(503, "unavailable", detail); }

std::int64_t real_now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t real_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A token's id: 128 random bits, base64url.
std::string new_token_id() {
  std::string random(16, '\0');
  randombytes_buf(random.data(), random.size());
  return plugin_api::jwt::base64url(random);
}

nlohmann::json rotation_json(const Rotation& rotation) {
  return {{"kid", rotation.kid},
          {"retired",
           {{"kid", rotation.retired_kid}, {"verifies_until", protocol::format_utc(rotation.not_after_us)}}}};
}

// ---- the routes' contracts: what they take, and the shapes of what they answer -------------

// A username as check_username takes it. Only a-z, 0-9 and "_.-", so its
// characters are its bytes.
Schema username_schema() {
  return Schema::string()
      .min_length(3)
      .max_length(kMaxUsernameBytes)
      .describe("3 to 32 of a-z, 0-9, '_', '.', '-'");
}

// A password as check_password takes it: 8 to 1024 bytes. The schema counts
// characters, so it holds only the upper bound (a password of more
// characters has more bytes); the handler checks the bytes.
Schema password_schema() {
  return Schema::string().max_length(kMaxPasswordBytes).describe("8 to 1024 bytes of UTF-8");
}

// An email as check_email takes it (the handler checks its form and bytes).
Schema email_schema() {
  return Schema::string()
      .max_length(kMaxEmailBytes)
      .describe("an address with one '@', at most 254 bytes, one line");
}

// {user}: the answer of the routes that show or change one user.
Schema one_user_schema() { return Schema::object({{"user", user_schema()}}); }

// list_users' page: `next` is the last username of the page.
Schema users_page_schema() {
  return Schema::object(
      {{"users", Schema::array(user_schema())},
       {"next", Schema::string().nullable().describe("the next page's `after`; null: the last page")}});
}

// finish_login's answer.
Schema login_schema() {
  return Schema::object(
      {{"token", Schema::string().describe("an Ed25519-signed JWT: Authorization: Bearer <token>")},
       {"expires_at", Schema::time()},
       {"user", user_schema()}});
}

// logout's answer.
Schema logout_schema() {
  return Schema::object(
      {{"revoked",
        Schema::object({{"jti", Schema::string().describe("the token's id")},
                        {"expires_at", Schema::time().describe("the token's expiry: it stays revoked until "
                                                               "then")}})}});
}

// revoke_tokens' answer.
Schema revoked_tokens_schema() {
  return Schema::object({{"user_id", Schema::uuid()},
                         {"generation", Schema::integer().minimum(1).describe(
                                            "the user's token generation now: older tokens fail")}});
}

// rotation_json's shape.
Schema rotation_schema() {
  return Schema::object(
      {{"kid", Schema::string().describe("the new key's id; it signs from now on")},
       {"retired",
        Schema::object({{"kid", Schema::string().describe("the key it replaced")},
                        {"verifies_until", Schema::time().describe("until when the replaced key still "
                                                                   "verifies tokens")}})}});
}

}  // namespace

void AuthPlugin::add_routes() {
  const Access admins = Access::only({Role::kAdmin});
  const Parameter user_id = Parameter::path("id", Schema::string().min_length(1), "a user id");
  const Answer key_reused{409, "the Idempotency-Key came with another request"};

  host_.add_route(
      {Method::kPost, "/register", Access::anyone(),
       [this](Request r, Responder respond) { register_user(std::move(r), std::move(respond)); },
       "register as a worker",
       // Not `idempotent`: register is anonymous, and an anonymous request's
       // Idempotency-Key never replays (docs/api.md); the handler only checks its size.
       Contract{
           .body = Schema::object(
               {{"username", username_schema()}, {"password", password_schema()}, {"email", email_schema()}}),
           .answers = {{201, "the new user, a worker", one_user_schema()}, {409, "the username is taken"}}}});
  host_.add_route(
      {Method::kPost, "/login", Access::anyone(),
       [this](Request r, Responder respond) { login(std::move(r), std::move(respond)); },
       "log in: a signed token",
       Contract{.body = Schema::object(
                    {{"username", Schema::string().min_length(1).max_length(kMaxUsernameBytes)},
                     {"password", Schema::string().min_length(1).max_length(kMaxPasswordBytes)}}),
                .answers = {{200, "a token for the bearer header, its expiry and the user", login_schema()},
                            {401, "wrong username or password, or the user is deactivated"},
                            {429,
                             "too many failed log-ins for this username or address; Retry-After says when "
                             "to try again"}}}});
  host_.add_route({Method::kGet, "/me", Access::any_role(),
                   [this](Request r, Responder respond) { me(r, respond); }, "the caller",
                   Contract{.answers = {{200, "the caller", one_user_schema()},
                                        {404, "the token's user is not in auth's table"}}}});
  host_.add_route(
      {Method::kPatch, "/users/me", Access::any_role(),
       [this](Request r, Responder respond) { update_me(std::move(r), std::move(respond)); },
       "change my email or password",
       Contract{
           .body = Schema::object(
               {{"current_password", password_schema().describe("the caller's password now")}},
               {{"email", email_schema().nullable().describe("the new email; null or absent: unchanged")},
                {"password", password_schema().describe(
                                 "the new password (8 to 1024 bytes); revokes every token the user holds")}}),
           .answers = {{200, "the user, changed", one_user_schema()},
                       {403, "current_password is wrong"},
                       {404, "the token's user is not in auth's table"},
                       {409,
                        "the password changed meanwhile (try again), or the Idempotency-Key came with "
                        "another request"},
                       {429, "too many wrong passwords for this user or address; Retry-After says when"}},
           .idempotent = true}});
  host_.add_route({Method::kGet, "/users", admins,
                   [this](Request r, Responder respond) { list_users(r, respond); }, "every user",
                   Contract{.parameters = plugin_api::page_parameters(),
                            .answers = {{200, "a page of users, by username", users_page_schema()}}}});
  host_.add_route(
      {Method::kPatch, "/users/{id}", admins,
       [this](Request r, Responder respond) { update_user(std::move(r), std::move(respond)); },
       "change a user's role or deactivate them",
       Contract{.parameters = {user_id},
                // At least one of the two: the handler says so (this subset of JSON Schema cannot).
                .body = Schema::object(
                            {}, {{"role", role_schema()},
                                 {"active", Schema::boolean().describe(
                                                "false deactivates the user and revokes their tokens")}})
                            .describe("role, active or both"),
                .answers = {{200, "the user as it is now (unchanged: no event)", one_user_schema()},
                            {404, "no user of that id"},
                            key_reused},
                .idempotent = true}});
  host_.add_route(
      {Method::kPost, "/logout", Access::any_role(),
       [this](Request r, Responder respond) { logout(std::move(r), std::move(respond)); },
       "log out: revoke the token of this request",
       Contract{.answers = {{200, "the token of this request, revoked until it expires", logout_schema()},
                            {400, "the token has no id (jti) to revoke, or the Idempotency-Key is malformed"},
                            key_reused},
                .idempotent = true}});
  host_.add_route(
      {Method::kPost, "/users/{id}/revoke-tokens", admins,
       [this](Request r, Responder respond) { revoke_tokens(std::move(r), std::move(respond)); },
       "revoke every token a user holds",
       Contract{.parameters = {user_id},
                .answers = {{200, "every token the user held is revoked", revoked_tokens_schema()},
                            {404, "no user of that id"},
                            key_reused},
                .idempotent = true}});
  host_.add_route(
      {Method::kPost, "/signing-keys/rotate", admins,
       [this](Request r, Responder respond) { rotate_key(std::move(r), std::move(respond)); },
       "sign with a new key; the old one verifies during the overlap",
       Contract{
           .body = Schema::object({}, {{"overlap_s", Schema::integer()
                                                         .minimum(0)
                                                         .maximum(kMaxOverlapS)
                                                         .nullable()
                                                         .describe("how long the replaced key still "
                                                                   "verifies, in seconds; null or absent: "
                                                                   "auth.signing_key_overlap_s")}}),
           .body_required = false,  // no body: the configured overlap
           .answers = {{200, "the new key and the one it replaced", rotation_schema()}, key_reused},
           .idempotent = true}});
}

void AuthPlugin::register_user(Request request, Responder respond) {
  auto body = plugin_api::parse_json_object(request.body);
  if (!body) return respond(Response::from_status(body.status()));
  for (const Status& check : {check_username(*body), check_password(*body), check_email(*body, true)}) {
    if (!check) return respond(Response::from_status(check));
  }
  // A taken username costs no hash (the unit checks again: two registers
  // may race).
  if (users_.by_username((*body)["username"].get<std::string>())) {
    return respond(Response::problem(409, "conflict",
                                     "username '" + (*body)["username"].get<std::string>() + "' is taken"));
  }
  UserRecord user{"", (*body)["username"], (*body)["email"], "worker", true, ""};
  const std::uint64_t fingerprint = plugin_api::Idempotency::fingerprint_without(request, {"password"});
  hash_off_thread(respond, [this, user, password = (*body)["password"].get<std::string>(),
                            request = std::move(request), respond, fingerprint]() mutable {
    user.password_hash = hash_password(password, limits_);
    idempotency_.run(
        host_.storage(), request, std::move(respond),
        [this, user](storage::WriteTxn& txn) mutable -> base::Result<Response> {
          user.id = protocol::make_uuid(txn.random());
          auto created = users_.create(txn, user);
          if (!created) return created.status();
          return Response::json(201, {{"user", user_json(*created)}});
        },
        fingerprint);
  });
}

void AuthPlugin::hash_off_thread(const Responder& respond, std::function<void()> work) {
  const bool queued = hash_pool_.try_submit([respond, work = std::move(work)](bool run) {
    if (!run) return respond(busy("auth is stopping; retry shortly"));
    work();
  });
  if (!queued) respond(busy("too many passwords are being checked right now; retry shortly"));
}

std::optional<Response> AuthPlugin::throttled(const std::string& username, const std::string& address) {
  const auto now = LoginThrottle::Clock::now();
  std::optional<long> wait = username_throttle_.retry_after(username, now);
  if (!address.empty()) {
    if (auto by_address = address_throttle_.retry_after(address, now))
      wait = std::max(wait.value_or(0), *by_address);
  }
  if (!wait) return std::nullopt;
  Response response = Response::problem(429, "throttled",
                                        "too many failed log-ins for this username or address; retry later");
  response.headers.emplace_back("Retry-After", std::to_string(*wait));
  return response;
}

void AuthPlugin::count_failure(const std::string& username, const std::string& address) {
  const auto now = LoginThrottle::Clock::now();
  username_throttle_.failed(username, now);
  if (!address.empty()) address_throttle_.failed(address, now);
}

void AuthPlugin::login(Request request, Responder respond) {
  auto body = plugin_api::parse_json_object(request.body);
  if (!body) return respond(Response::from_status(body.status()));
  // Shapes no registered user can have are refused before any lookup or
  // hash: a 400, and nothing for the throttle to keep.
  const auto username = body->find("username");
  const auto password = body->find("password");
  if (username == body->end() || !username->is_string() || username->get_ref<const std::string&>().empty() ||
      username->get_ref<const std::string&>().size() > kMaxUsernameBytes) {
    return respond(Response::problem(
        400, "validation",
        "username: required, a string of 1 to " + std::to_string(kMaxUsernameBytes) + " bytes"));
  }
  if (password == body->end() || !password->is_string() || password->get_ref<const std::string&>().empty() ||
      password->get_ref<const std::string&>().size() > kMaxPasswordBytes) {
    return respond(Response::problem(
        400, "validation",
        "password: required, a string of 1 to " + std::to_string(kMaxPasswordBytes) + " bytes"));
  }
  const std::string name = *username;
  if (auto refused = throttled(name, request.client_address)) return respond(std::move(*refused));
  hash_off_thread(respond,
                  [this, name, password = password->get<std::string>(), address = request.client_address,
                   respond] { finish_login(name, password, address, respond); });
}

void AuthPlugin::finish_login(const std::string& username, const std::string& password,
                              const std::string& address, const Responder& respond) {
  const LoginView view = users_.login_view(username);
  const auto& user = view.user;
  // The same answer, in the same time, for an unknown user and a wrong
  // password: an unknown user is checked against a hash of nothing.
  const bool matches = password_matches(user ? user->password_hash : dummy_hash_, password);
  if (!user || !matches) {
    count_failure(username, address);
    return respond(Response::problem(401, "unauthenticated", "wrong username or password"));
  }
  if (!user->active) return respond(Response::problem(401, "unauthenticated", "the user is deactivated"));
  username_throttle_.succeeded(username);
  if (!view.key || !view.users_head)
    return respond(Response::problem(503, "unavailable", "no signing key yet"));
  const std::int64_t issued = real_now_seconds();
  // gen: revocations so far; uep/useq: where auth.users stood when the
  // user was read, so a verifier that has not seen the user knows how far
  // its replica must come before it may say "no such user".
  const std::string token = plugin_api::jwt::sign({.sub = user->id,
                                                   .role = user->role,
                                                   .iat = issued,
                                                   .exp = issued + token_lifetime_s_,
                                                   .kid = view.key->kid,
                                                   .jti = new_token_id(),
                                                   .gen = view.generation,
                                                   .uep = view.users_head->epoch,
                                                   .useq = view.users_head->head_seq},
                                                  view.key->secret_key);
  respond(Response::json(200, {{"token", token},
                               {"expires_at", protocol::format_utc((issued + token_lifetime_s_) * 1'000'000)},
                               {"user", user_json(*user)}}));
}

void AuthPlugin::me(const Request& request, const Responder& respond) const {
  const auto user = users_.by_id(request.principal->user_id);
  if (!user) return respond(Response::problem(404, "not-found", "no such user"));
  respond(Response::json(200, {{"user", user_json(*user)}}));
}

void AuthPlugin::update_me(Request request, Responder respond) {
  auto body = plugin_api::parse_json_object(request.body);
  if (!body) return respond(Response::from_status(body.status()));
  if (Status s = check_password(*body, "current_password"); !s) return respond(Response::from_status(s));
  if (Status s = check_email(*body, false); !s) return respond(Response::from_status(s));
  if (body->contains("password")) {
    if (Status s = check_password(*body); !s) return respond(Response::from_status(s));
  }
  const auto user = users_.by_id(request.principal->user_id);
  if (!user) return respond(Response::problem(404, "not-found", "no such user"));
  // Guessing the current password with a stolen token is throttled like a
  // log-in, under the user's own name.
  if (auto refused = throttled(user->username, request.client_address)) return respond(std::move(*refused));
  std::optional<std::string> email;
  if (body->contains("email") && !(*body)["email"].is_null()) email = (*body)["email"];
  std::optional<std::string> new_password;
  if (body->contains("password")) new_password = (*body)["password"];
  const std::uint64_t fingerprint =
      plugin_api::Idempotency::fingerprint_without(request, {"password", "current_password"});
  hash_off_thread(
      respond, [this, user = *user, current = (*body)["current_password"].get<std::string>(), email,
                new_password, request = std::move(request), respond, fingerprint]() mutable {
        if (!password_matches(user.password_hash, current)) {
          count_failure(user.username, request.client_address);
          return respond(Response::problem(403, "forbidden", "current_password: wrong"));
        }
        username_throttle_.succeeded(user.username);
        std::optional<std::string> password_hash;
        if (new_password) password_hash = hash_password(*new_password, limits_);
        apply_update_me(std::move(request), std::move(respond), user, email, password_hash, fingerprint);
      });
}

void AuthPlugin::apply_update_me(Request request, Responder respond, const UserRecord& user,
                                 const std::optional<std::string>& email,
                                 const std::optional<std::string>& password_hash, std::uint64_t fingerprint) {
  // Apply only the fields asked for to the record as the unit's transaction
  // sees it.
  const std::string id = user.id;
  const std::string checked_hash = user.password_hash;
  idempotency_.run(
      host_.storage(), request, std::move(respond),
      [this, id, email, password_hash, checked_hash](storage::WriteTxn& txn) -> base::Result<Response> {
        auto before = users_.by_id(txn, id);
        if (!before) return Status(Code::kNotFound, "no such user");
        // The current password was checked against this hash.
        if (before->password_hash != checked_hash) {
          return Status(Code::kConflict, "the password changed meanwhile; try again");
        }
        UserRecord after = *before;
        if (email) after.email = *email;
        if (password_hash) after.password_hash = *password_hash;
        auto updated = users_.update(txn, *before, after);
        if (!updated) return updated.status();
        return Response::json(200, {{"user", user_json(*updated)}});
      },
      fingerprint);
}

void AuthPlugin::list_users(const Request& request, const Responder& respond) const {
  auto page = plugin_api::parse_page(request);
  if (!page) return respond(Response::from_status(page.status()));
  respond(Response::json(200, plugin_api::page_of<UserRecord>(
                                  users_.list(page->after, page->limit), *page,
                                  [](const UserRecord& u) { return u.username; }, "users", user_json)));
}

void AuthPlugin::update_user(Request request, Responder respond) {
  auto body = plugin_api::parse_json_object(request.body);
  if (!body) return respond(Response::from_status(body.status()));
  if (body->contains("role")) {
    if (Status s = check_role((*body)["role"]); !s) return respond(Response::from_status(s));
  }
  if (body->contains("active") && !(*body)["active"].is_boolean()) {
    return respond(Response::problem(400, "validation", "active: must be true or false"));
  }
  if (!body->contains("role") && !body->contains("active")) {
    return respond(Response::problem(400, "validation", "role or active: give at least one"));
  }
  const std::string id = request.path_params["id"];
  idempotency_.run(
      host_.storage(), request, std::move(respond),
      [this, id, changes = *body](storage::WriteTxn& txn) -> base::Result<Response> {
        auto before = users_.by_id(txn, id);
        if (!before) return Status(Code::kNotFound, "no user " + id);
        UserRecord after = *before;
        if (changes.contains("role")) after.role = changes["role"];
        if (changes.contains("active")) after.active = changes["active"];
        if (after.role == before->role && after.active == before->active) {
          return Response::json(200, {{"user", user_json(*before)}});  // nothing changed, no event
        }
        auto updated = users_.update(txn, *before, after);
        if (!updated) return updated.status();
        return Response::json(200, {{"user", user_json(*updated)}});
      });
}

void AuthPlugin::logout(Request request, Responder respond) {
  const plugin_api::Principal& principal = *request.principal;  // the route needs a token
  if (principal.token_id.empty()) {
    return respond(Response::problem(400, "validation", "the request's token has no id to revoke"));
  }
  idempotency_.run(
      host_.storage(), request, std::move(respond),
      [this, user_id = principal.user_id, jti = principal.token_id,
       expires_at = principal.token_expires_at](storage::WriteTxn& txn) -> base::Result<Response> {
        if (Status s = users_.revoke_token(txn, user_id, jti, expires_at); !s) return s;
        return Response::json(
            200, {{"revoked", {{"jti", jti}, {"expires_at", protocol::format_utc(expires_at * 1'000'000)}}}});
      });
}

void AuthPlugin::revoke_tokens(Request request, Responder respond) {
  const std::string id = request.path_params["id"];
  idempotency_.run(host_.storage(), request, std::move(respond),
                   [this, id](storage::WriteTxn& txn) -> base::Result<Response> {
                     if (!users_.by_id(txn, id)) return Status(Code::kNotFound, "no user " + id);
                     auto generation = users_.revoke_tokens(txn, id, "admin");
                     if (!generation) return generation.status();
                     return Response::json(200, {{"user_id", id}, {"generation", *generation}});
                   });
}

base::Result<std::int64_t> AuthPlugin::overlap_of(const nlohmann::json& args) const {
  const auto it = args.find("overlap_s");
  if (it == args.end() || it->is_null()) return key_overlap_s_;
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxOverlapS)) ||
      it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > kMaxOverlapS) {
    return base::invalid_argument("overlap_s: an integer from 0 to " + std::to_string(kMaxOverlapS));
  }
  return it->get<std::int64_t>();
}

void AuthPlugin::rotate_key(Request request, Responder respond) {
  // The body is optional: {} or nothing takes the configured overlap.
  nlohmann::json args = nlohmann::json::object();
  if (!request.body.empty()) {
    auto body = plugin_api::parse_json_object(request.body);
    if (!body) return respond(Response::from_status(body.status()));
    args = std::move(body).value();
  }
  auto overlap = overlap_of(args);
  if (!overlap) return respond(Response::from_status(overlap.status()));
  idempotency_.run(host_.storage(), request, std::move(respond),
                   [this, overlap_s = *overlap](storage::WriteTxn& txn) -> base::Result<Response> {
                     auto rotated = users_.rotate_signing_key(txn, real_now_us() + overlap_s * 1'000'000);
                     if (!rotated) return rotated.status();
                     return Response::json(200, rotation_json(*rotated));
                   });
}

base::Result<nlohmann::json> AuthPlugin::rotate_key_command(const nlohmann::json& args) {
  if (!args.is_object()) return base::invalid_argument("the arguments must be an object");
  auto overlap = overlap_of(args);
  if (!overlap) return overlap.status();
  auto rotated = host_.storage().run_for<Rotation>([&](storage::WriteTxn& txn) {
    return users_.rotate_signing_key(txn, real_now_us() + *overlap * 1'000'000);
  });
  if (!rotated) return rotated.status();
  return rotation_json(*rotated);
}

base::Result<nlohmann::json> AuthPlugin::add_user_command(const nlohmann::json& args) {
  for (const Status& check :
       {check_username(args), check_password(args), check_email(args, false),
        args.contains("role") ? check_role(args["role"]) : base::invalid_argument("role: required")}) {
    if (!check) return check;
  }
  const std::string email =
      args.contains("email") && args["email"].is_string() ? std::string(args["email"]) : "";
  const UserRecord user{
      "", args["username"], email, args["role"], true, hash_password(args["password"], limits_)};
  auto created = host_.storage().run_for<UserRecord>([&](storage::WriteTxn& txn) {
    UserRecord with_id = user;
    with_id.id = protocol::make_uuid(txn.random());
    return users_.create(txn, with_id);
  });
  if (!created) return created.status();
  return nlohmann::json{{"user", user_json(*created)}};
}

}  // namespace ates::auth
