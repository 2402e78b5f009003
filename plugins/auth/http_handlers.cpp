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
using plugin_api::Method;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;
using plugin_api::Role;

namespace {

// 503 with Retry-After: the hashing pool is full or stopping.
Response busy(std::string_view detail) {
  Response response = Response::problem(503, "unavailable", detail);
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

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

}  // namespace

void AuthPlugin::add_routes() {
  host_.add_route({Method::kPost, "/register", Access::anyone(),
                   [this](Request r, Responder respond) { register_user(std::move(r), std::move(respond)); },
                   "register as a worker"});
  host_.add_route({Method::kPost, "/login", Access::anyone(),
                   [this](Request r, Responder respond) { login(std::move(r), std::move(respond)); },
                   "log in: a signed token"});
  host_.add_route({Method::kGet, "/me", Access::any_role(),
                   [this](Request r, Responder respond) { me(r, respond); }, "the caller"});
  host_.add_route({Method::kPatch, "/users/me", Access::any_role(),
                   [this](Request r, Responder respond) { update_me(std::move(r), std::move(respond)); },
                   "change my email or password"});
  host_.add_route({Method::kGet, "/users", Access::only({Role::kAdmin}),
                   [this](Request r, Responder respond) { list_users(r, respond); }, "every user"});
  host_.add_route({Method::kPatch, "/users/{id}", Access::only({Role::kAdmin}),
                   [this](Request r, Responder respond) { update_user(std::move(r), std::move(respond)); },
                   "change a user's role or deactivate them"});
  host_.add_route({Method::kPost, "/logout", Access::any_role(),
                   [this](Request r, Responder respond) { logout(std::move(r), std::move(respond)); },
                   "log out: revoke the token of this request"});
  host_.add_route({Method::kPost, "/users/{id}/revoke-tokens", Access::only({Role::kAdmin}),
                   [this](Request r, Responder respond) { revoke_tokens(std::move(r), std::move(respond)); },
                   "revoke every token a user holds"});
  host_.add_route({Method::kPost, "/signing-keys/rotate", Access::only({Role::kAdmin}),
                   [this](Request r, Responder respond) { rotate_key(std::move(r), std::move(respond)); },
                   "sign with a new key; the old one verifies during the overlap"});
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
