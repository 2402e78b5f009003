#include "auth_gate.hpp"

#include <sodium.h>

#include <boost/test/unit_test.hpp>

#include "ates/protocol/events.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates::server {
namespace {

constexpr std::int64_t kNow = std::int64_t{1772528400} * 1'000'000;  // 2026-03-03T09:00:00Z
constexpr std::int64_t kNowSeconds = kNow / 1'000'000;
const std::string kUser = "11111111-1111-4111-8111-111111111111";

// A gate over a fresh environment on a manual real clock, with one signing
// key the test can sign tokens with.
struct Gate {
  testing::TempDir dir;
  base::ManualClock clock{kNow};
  std::unique_ptr<storage::Environment> env;
  std::unique_ptr<AuthGate> gate;
  std::string secret_key = std::string(crypto_sign_SECRETKEYBYTES, '\0');
  std::vector<char> public_key = std::vector<char>(crypto_sign_PUBLICKEYBYTES);

  Gate() {
    BOOST_TEST_REQUIRE(sodium_init() >= 0);
    auto opened = storage::Environment::open(
        {.dir = dir / "host", .producer = "host", .map_size = std::size_t{1} << 26});
    BOOST_TEST_REQUIRE(opened.has_value(), opened.status().to_string());
    env = std::move(opened).value();
    gate = std::make_unique<AuthGate>(*env, clock);
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(public_key.data()),
                        reinterpret_cast<unsigned char*>(secret_key.data()));
    apply(protocol::SigningKeyAdded{"k1", public_key});
  }

  template <class Event>
  void apply(const Event& event) {
    protocol::Envelope envelope;
    envelope.name = std::string(Event::kName);
    envelope.version = Event::kVersion;
    envelope.payload = protocol::encode_payload(event);
    const base::Status status =
        env->run([&](storage::WriteTxn& txn) { return gate->apply_user_event(txn, envelope); });
    BOOST_TEST_REQUIRE(status.is_ok(), status.to_string());
  }

  std::string token(std::uint64_t generation = 0, std::uint64_t useq = 1, std::string jti = "t1") const {
    plugin_api::jwt::Claims claims{.sub = kUser,
                                   .role = "admin",  // what the token claims; the replica's role wins
                                   .iat = kNowSeconds,
                                   .exp = kNowSeconds + 3600,
                                   .kid = "k1",
                                   .jti = std::move(jti),
                                   .gen = generation,
                                   .uep = "33333333-3333-4333-8333-333333333333",
                                   .useq = useq};
    return "Bearer " + plugin_api::jwt::sign(claims, secret_key);
  }
  TokenCheck check(const std::string& authorization) const { return gate->authenticate(authorization); }
};

BOOST_AUTO_TEST_SUITE(auth_gate)

BOOST_AUTO_TEST_CASE(a_token_of_a_known_active_user_gets_the_replicas_role) {
  Gate g;
  g.apply(protocol::UserCreated{kUser, "kesha", std::nullopt, "worker", true});
  const TokenCheck check = g.check(g.token());
  BOOST_TEST_REQUIRE(check.principal.has_value(), check.principal.status().to_string());
  BOOST_TEST(check.principal->user_id == kUser);
  BOOST_TEST((check.principal->role == plugin_api::Role::kWorker));
  BOOST_TEST(check.principal->token_id == "t1");
  g.apply(protocol::UserRoleChanged{kUser, "worker", "manager"});
  BOOST_TEST((g.check(g.token()).principal->role == plugin_api::Role::kManager));  // also once cached
}

BOOST_AUTO_TEST_CASE(no_bearer_scheme_or_a_forged_token_is_refused) {
  Gate g;
  g.apply(protocol::UserCreated{kUser, "kesha", std::nullopt, "worker", true});
  BOOST_TEST((g.gate->authenticate(std::nullopt).principal.status().code() == base::Code::kUnauthenticated));
  BOOST_TEST((g.check("Basic a2VzaGE6").principal.status().code() == base::Code::kUnauthenticated));
  BOOST_TEST(
      g.check("bEaReR " + g.token().substr(7)).principal.has_value());  // the scheme is case-insensitive
  std::string forged = g.token();
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  BOOST_TEST(!g.check(forged).principal.has_value());
}

BOOST_AUTO_TEST_CASE(an_unknown_user_waits_for_the_replica_until_it_has_passed_the_login) {
  Gate g;  // nothing of auth.users applied through the bus: the replica is at 0
  const TokenCheck early = g.check(g.token(0, /*useq=*/3));
  BOOST_TEST((early.principal.status().code() == base::Code::kUnavailable));
  BOOST_TEST(early.wait_for_seq == 3u);
  const TokenCheck unknown = g.check(g.token(0, /*useq=*/0));
  BOOST_TEST((unknown.principal.status().code() == base::Code::kUnauthenticated));
  BOOST_TEST(unknown.wait_for_seq == 0u);
  BOOST_TEST(g.gate->replica_applied_seq() == 0u);
}

BOOST_AUTO_TEST_CASE(revocations_and_a_retired_key_reach_a_cached_token) {
  Gate g;
  g.apply(protocol::UserCreated{kUser, "kesha", std::nullopt, "worker", true});
  BOOST_TEST(g.check(g.token()).principal.has_value());  // verified and cached

  g.apply(protocol::TokenRevoked{kUser, "t1", kNow + 3600'000'000});
  BOOST_TEST(g.check(g.token()).principal.status().message().find("log-out") != std::string::npos);
  BOOST_TEST(g.check(g.token(0, 1, "t2")).principal.has_value());

  g.apply(protocol::TokensRevoked{kUser, 2, "password_changed"});
  BOOST_TEST(!g.check(g.token(1, 1, "t2")).principal.has_value());
  BOOST_TEST(g.check(g.token(2, 1, "t3")).principal.has_value());
  g.apply(protocol::TokensRevoked{kUser, 1, "admin"});  // a lower generation lowers nothing
  BOOST_TEST(!g.check(g.token(1, 1, "t4")).principal.has_value());

  g.apply(protocol::SigningKeyRetired{"k1", kNow + 1'000'000});
  BOOST_TEST(g.check(g.token(2, 1, "t3")).principal.has_value());  // within its overlap
  BOOST_TEST(g.gate->jwks()["keys"].size() == 1u);
  g.clock.advance(1'000'000);
  BOOST_TEST(g.check(g.token(2, 1, "t3")).principal.status().message().find("retired") != std::string::npos);
  BOOST_TEST(g.gate->jwks()["keys"].empty());
}

BOOST_AUTO_TEST_CASE(a_deactivated_user_is_refused) {
  Gate g;
  g.apply(protocol::UserCreated{kUser, "kesha", std::nullopt, "worker", true});
  g.apply(protocol::UserDeactivated{kUser});
  BOOST_TEST(g.check(g.token()).principal.status().message() == "the user is deactivated");
}

BOOST_AUTO_TEST_CASE(jwks_lists_each_key_as_an_okp_key) {
  Gate g;
  const auto keys = g.gate->jwks()["keys"];
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST(keys[0]["kid"] == "k1");
  BOOST_TEST(keys[0]["crv"] == "Ed25519");
  BOOST_TEST(keys[0]["x"] ==
             plugin_api::jwt::base64url(std::string_view(g.public_key.data(), g.public_key.size())));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
