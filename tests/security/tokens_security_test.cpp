// Malformed tokens and log-ins against a real `ates serve`: every one is
// answered with its exact status (401 for a bad token, 400 for a log-in of
// the wrong shape), never a dropped connection or a 500, and the server
// answers /healthz afterwards.
#include <boost/test/unit_test.hpp>

#include "ates/plugin_api/jwt.hpp"

#include "security_serve.hpp"

namespace ates::security {
namespace {

using plugin_api::jwt::base64url;

std::string with_header(const std::string& token, const std::string& header_json) {
  return base64url(header_json) + token.substr(token.find('.'));
}

BOOST_AUTO_TEST_SUITE(tokens)

BOOST_AUTO_TEST_CASE(malformed_tokens_are_401) {
  SecureServe serve(ServeOptions{.plugins = "auth"});
  const auto worker = serve.sign_in("kiwi", "worker");
  const std::string good = serve.token("kiwi");
  expect_status(serve, "GET", "/api/v1/auth/me", 200, worker);

  std::vector<std::pair<std::string, std::string>> cases = {
      {"an empty kid", with_header(good, R"({"alg":"EdDSA","typ":"JWT","kid":""})")},
      {"an oversized kid",
       with_header(good, nlohmann::json{{"alg", "EdDSA"}, {"kid", std::string(600, 'k')}}.dump())},
      {"a binary kid", with_header(good, "{\"alg\":\"EdDSA\",\"kid\":\"\xff\xfe\x01\"}")},
      {"a kid with a NUL", with_header(good, R"({"alg":"EdDSA","kid":"a\u0000b"})")},
      {"a numeric kid", with_header(good, R"({"alg":"EdDSA","kid":12})")},
      {"alg none", with_header(good, R"({"alg":"none","kid":"k"})")},
      {"alg HS256", with_header(good, R"({"alg":"HS256","kid":"k"})")},
      {"a header that is not JSON", with_header(good, "not json")},
      {"a header that is an array", with_header(good, "[]")},
      {"bad base64 in the header", "!!!" + good.substr(good.find('.'))},
      {"bad base64 in the payload", good.substr(0, good.find('.')) + ".$$$" + good.substr(good.rfind('.'))},
      {"bad base64 in the signature", good.substr(0, good.rfind('.')) + ".%%%"},
      {"an oversized payload", good.substr(0, good.find('.')) + "." + base64url(std::string(6000, 'x')) +
                                   good.substr(good.rfind('.'))},
      {"an oversized token", std::string(12000, 'a')},
      {"two parts", good.substr(0, good.rfind('.'))},
      {"four parts", good + ".x"},
      {"an empty token", ""},
      {"a changed payload", good.substr(0, good.find('.')) + "." +
                                base64url(R"({"sub":"x","role":"admin","iat":1,"exp":99999999999})") +
                                good.substr(good.rfind('.'))},
  };
  for (const auto& [what, token] : cases) {
    BOOST_TEST_CONTEXT(what) {
      expect_status(serve, "GET", "/api/v1/auth/me", 401, {{"Authorization", "Bearer " + token}});
    }
  }
  // The scheme is case-insensitive (RFC 7235); nothing else is bent.
  expect_status(serve, "GET", "/api/v1/auth/me", 200, {{"Authorization", "bearer " + good}});
  for (const std::string& header : std::vector<std::string>{"Bearer", "Bearer ", "Basic a2l3aTp4",
                                                            "Bearer  " + good, "Token " + good, good}) {
    BOOST_TEST_CONTEXT(header) {
      expect_status(serve, "GET", "/api/v1/auth/me", 401, {{"Authorization", header}});
    }
  }
}

BOOST_AUTO_TEST_CASE(log_ins_of_the_wrong_shape_are_400_and_wrong_ones_401) {
  SecureServe serve(ServeOptions{.plugins = "auth"});
  serve.sign_in("kiwi", "worker");
  for (const std::string& body : std::vector<std::string>{
           R"({"username":"","password":"kiwi-secret-password"})", R"({"username":"kiwi","password":""})",
           R"({"password":"kiwi-secret-password"})", R"({"username":"kiwi"})",
           R"({"username":7,"password":"kiwi-secret-password"})", R"({"username":"kiwi","password":["x"]})",
           R"({"username":null,"password":null})", R"({"username":{"$ne":""},"password":"x"})",
           nlohmann::json{{"username", std::string(33, 'k')}, {"password", "kiwi-secret-password"}}.dump(),
           nlohmann::json{{"username", "kiwi"}, {"password", std::string(1025, 'p')}}.dump(), "[]", "null",
           "{", "username=kiwi&password=x", ""}) {
    expect_status(serve, "POST", "/api/v1/auth/login", 400, {}, body);
  }
  expect_status(serve, "POST", "/api/v1/auth/login", 401, {},
                R"({"username":"kiwi","password":"wrong-password"})", "wrong username or password");
  expect_status(serve, "POST", "/api/v1/auth/login", 401, {},
                R"({"username":"nobody","password":"whatever-it-is"})", "wrong username or password");
  expect_status(serve, "POST", "/api/v1/auth/login", 401, {},
                nlohmann::json{{"username", "a\u00e9\u0000b"}, {"password", "whatever-it-is"}}.dump());
  expect_status(serve, "POST", "/api/v1/auth/login", 200, {},
                R"({"username":"kiwi","password":"kiwi-secret-password"})");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::security
