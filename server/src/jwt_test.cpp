// The token check against tokens an attacker can make: signed with a key
// the verifier trusts (the worst case) but with claims of every wrong
// shape, and unsigned garbage of every kind. verify() answers each with a
// status and never throws.
#include "ates/plugin_api/jwt.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::plugin_api::jwt {
namespace {

struct Keys {
  std::string public_key = std::string(crypto_sign_PUBLICKEYBYTES, '\0');
  std::string secret_key = std::string(crypto_sign_SECRETKEYBYTES, '\0');
  Keys() {
    BOOST_REQUIRE(sodium_init() >= 0);
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(public_key.data()),
                        reinterpret_cast<unsigned char*>(secret_key.data()));
  }
  // A token with any header and payload text, signed with the trusted key.
  std::string sign_raw(const std::string& header, const std::string& payload) const {
    const std::string input = base64url(header) + "." + base64url(payload);
    std::string signature(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                         reinterpret_cast<const unsigned char*>(secret_key.data()));
    return input + "." + base64url(signature);
  }
  base::Result<Claims> check(std::string_view token) const {
    return verify(
        token, [this](std::string_view) { return std::optional<std::string>(public_key); }, 1000);
  }
};

const std::string kHeader = R"({"alg":"EdDSA","typ":"JWT","kid":"k1"})";

// The claims every ates token carries besides sub, role, iat and exp.
const std::string kRest = R"("jti":"j-1","gen":0,"uep":"e-1","useq":1,)";

// A payload of the given claims plus kRest (when it is an object naming
// a sub): each case is refused for its own flaw, not for a missing jti.
std::string with_rest(const std::string& payload) {
  if (!payload.starts_with(R"({"sub")")) return payload;
  return "{" + kRest + payload.substr(1);
}

Claims claims_of(std::string sub, std::int64_t exp) {
  return {.sub = std::move(sub),
          .role = "worker",
          .iat = 1,
          .exp = exp,
          .kid = "k1",
          .jti = "j-1",
          .gen = 3,
          .uep = "0b7e1c55-2f5c-4a7e-9d64-3c1c2a9b8e11",
          .useq = 12};
}

BOOST_AUTO_TEST_SUITE(jwt)

BOOST_AUTO_TEST_CASE(a_well_formed_token_verifies) {
  Keys keys;
  const auto claims = keys.check(sign(claims_of("0b6f-id", 2000), keys.secret_key));
  BOOST_TEST_REQUIRE(claims.has_value(), claims.status().to_string());
  BOOST_TEST(claims->sub == "0b6f-id");
  BOOST_TEST(claims->exp == 2000);
  BOOST_TEST(claims->jti == "j-1");
  BOOST_TEST(claims->gen == 3u);
  BOOST_TEST(claims->uep == "0b7e1c55-2f5c-4a7e-9d64-3c1c2a9b8e11");
  BOOST_TEST(claims->useq == 12u);
}

BOOST_AUTO_TEST_CASE(signed_claims_of_the_wrong_shape_are_refused) {
  Keys keys;
  for (const std::string payload :
       {R"({"sub":"u","role":"worker","iat":1,"exp":"2000"})",
        R"({"sub":"u","role":"worker","iat":1,"exp":2000.5})",
        R"({"sub":"u","role":"worker","iat":1,"exp":1e300})",
        R"({"sub":"u","role":"worker","iat":1,"exp":true})",
        R"({"sub":"u","role":"worker","iat":1,"exp":18446744073709551615})",
        R"({"sub":"u","role":"worker","iat":1,"exp":-1})", R"({"sub":"u","role":"worker","iat":1,"exp":999})",
        R"({"sub":"","role":"worker","iat":1,"exp":2000})", R"({"sub":7,"role":"worker","iat":1,"exp":2000})",
        R"({"sub":"a\u0000b","role":"worker","iat":1,"exp":2000})",
        R"({"sub":"u","role":null,"iat":1,"exp":2000})", R"({"sub":"u","role":"worker","exp":2000})",
        R"({"sub":"u","role":"worker","iat":"1","exp":2000})", R"([1,2,3])", R"("text")", "", "{",
        R"({"sub":"u"})"}) {
    const auto result = keys.check(keys.sign_raw(kHeader, with_rest(payload)));
    BOOST_TEST(!result.has_value(), payload);
    BOOST_TEST((result.status().code() == base::Code::kUnauthenticated), payload);
  }
  const auto long_sub = keys.check(keys.sign_raw(
      kHeader, with_rest(R"({"sub":")" + std::string(65, 'a') + R"(","role":"worker","iat":1,"exp":2000})")));
  BOOST_TEST(!long_sub.has_value());
  BOOST_TEST(long_sub.status().message() == "the token's sub is malformed");
}

BOOST_AUTO_TEST_CASE(headers_of_the_wrong_shape_are_refused) {
  Keys keys;
  const std::string payload = with_rest(R"({"sub":"u","role":"worker","iat":1,"exp":2000})");
  BOOST_TEST_REQUIRE(keys.check(keys.sign_raw(kHeader, payload)).has_value());
  for (const std::string header :
       {R"({"alg":"EdDSA","typ":"JWT","kid":""})", R"({"alg":"EdDSA","typ":"JWT","kid":7})",
        R"({"alg":"EdDSA","typ":"JWT"})", R"({"alg":"EdDSA","typ":"JWT","kid":"a\u0000b"})",
        R"({"alg":"EdDSA","typ":"JWT","kid":"a\nb"})", R"({"alg":"EdDSA","typ":"JWT","kid":"\u00ff\u00fe"})",
        R"({"alg":"EdDSA","typ":"JWT","kid":"k1/../k2"})", R"({"alg":"none","typ":"JWT","kid":"k1"})",
        R"({"alg":"HS256","typ":"JWT","kid":"k1"})", R"({"alg":"eddsa","typ":"JWT","kid":"k1"})",
        R"({"alg":["EdDSA"],"kid":"k1"})", R"([])", "null", "\xff\xfe"}) {
    const auto result = keys.check(keys.sign_raw(header, payload));
    BOOST_TEST(!result.has_value(), header);
    BOOST_TEST((result.status().code() == base::Code::kUnauthenticated), header);
  }
  const auto long_kid = keys.check(
      keys.sign_raw(nlohmann::json{{"alg", "EdDSA"}, {"kid", std::string(65, 'k')}}.dump(), payload));
  BOOST_TEST(!long_kid.has_value());
}

BOOST_AUTO_TEST_CASE(revocation_claims_of_the_wrong_shape_are_refused) {
  Keys keys;
  const std::string base = R"("sub":"u","role":"worker","iat":1,"exp":2000)";
  BOOST_TEST_REQUIRE(keys.check(keys.sign_raw(kHeader, "{" + kRest + base + "}")).has_value());
  for (const std::string rest :
       {R"("gen":0,"uep":"e-1","useq":1)", R"("jti":"","gen":0,"uep":"e-1","useq":1)",
        R"("jti":"a/b","gen":0,"uep":"e-1","useq":1)", R"("jti":7,"gen":0,"uep":"e-1","useq":1)",
        R"("jti":"j","uep":"e-1","useq":1)", R"("jti":"j","gen":-1,"uep":"e-1","useq":1)",
        R"("jti":"j","gen":"0","uep":"e-1","useq":1)", R"("jti":"j","gen":1.5,"uep":"e-1","useq":1)",
        R"("jti":"j","gen":0,"useq":1)", R"("jti":"j","gen":0,"uep":null,"useq":1)",
        R"("jti":"j","gen":0,"uep":"e 1","useq":1)", R"("jti":"j","gen":0,"uep":"e-1")",
        R"("jti":"j","gen":0,"uep":"e-1","useq":-4)", R"("jti":"j","gen":0,"uep":"e-1","useq":true)"}) {
    const auto result = keys.check(keys.sign_raw(kHeader, "{" + rest + "," + base + "}"));
    BOOST_TEST(!result.has_value(), rest);
    BOOST_TEST((result.status().code() == base::Code::kUnauthenticated), rest);
  }
  const auto long_jti = keys.check(keys.sign_raw(kHeader, nlohmann::json{{"sub", "u"},
                                                                         {"role", "worker"},
                                                                         {"iat", 1},
                                                                         {"exp", 2000},
                                                                         {"jti", std::string(65, 'j')},
                                                                         {"gen", 0},
                                                                         {"uep", "e"},
                                                                         {"useq", 1}}
                                                              .dump()));
  BOOST_TEST(!long_jti.has_value());
  // The largest counts are still counts.
  const auto big = keys.check(keys.sign_raw(kHeader, nlohmann::json{{"sub", "u"},
                                                                    {"role", "worker"},
                                                                    {"iat", 1},
                                                                    {"exp", 2000},
                                                                    {"jti", "j"},
                                                                    {"gen", UINT64_MAX},
                                                                    {"uep", "e"},
                                                                    {"useq", UINT64_MAX}}
                                                         .dump()));
  BOOST_TEST_REQUIRE(big.has_value(), big.status().to_string());
  BOOST_TEST(big->gen == UINT64_MAX);
}

BOOST_AUTO_TEST_CASE(unsigned_garbage_is_refused_without_throwing) {
  Keys keys;
  const std::string good = sign(claims_of("u", 2000), keys.secret_key);
  std::vector<std::string> tokens = {"",
                                     ".",
                                     "..",
                                     "...",
                                     "a.b.c",
                                     "a.b",
                                     good + ".",
                                     "." + good,
                                     good + "x",
                                     std::string(5000, 'a'),
                                     std::string("\0\0\0", 3),
                                     "====.====.====",
                                     good.substr(0, good.size() - 2),
                                     "+/+/.+/+/.+/+/"};
  tokens.push_back(std::string(kMaxTokenBytes + 1, 'a'));
  std::uint64_t state = 42;  // a fixed seed: the same bytes every run
  for (int n = 0; n < 2000; ++n) {
    std::string token = good;
    for (int flips = 0; flips < 3; ++flips) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      token[(state >> 33) % token.size()] = static_cast<char>(state >> 56);
    }
    tokens.push_back(token);
  }
  for (const auto& token : tokens) {
    base::Result<Claims> result = base::Status(base::Code::kInternal, "not run");
    BOOST_CHECK_NO_THROW(result = keys.check(token));
    if (result.has_value())
      BOOST_TEST(result->sub == "u");  // a flip that base64url ignores
    else
      BOOST_TEST((result.status().code() == base::Code::kUnauthenticated));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::plugin_api::jwt
