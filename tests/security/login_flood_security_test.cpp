// A flood of log-ins with unknown usernames, from many client addresses,
// against a real `ates serve` with production argon2id limits: the hashing
// runs on its own bounded pool, so authenticated GETs keep being answered.
// The test compares the GETs answered during the flood with those answered
// without it, in the same run, and sets no absolute time.
#include <atomic>
#include <thread>

#include <boost/test/unit_test.hpp>
#include <curl/curl.h>

#include "security_serve.hpp"

namespace ates::security {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWindow = std::chrono::seconds(4);

std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

struct Counts {
  std::atomic<std::uint64_t> ok{0}, wrong{0};
};

// GETs of /api/v1/auth/me from `clients` keep-alive connections for one
// window; every answer must be 200.
void read_me(const std::string& base, const std::string& token, int clients, Counts& counts) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      CURL* curl = curl_easy_init();
      const std::string auth = "Authorization: Bearer " + token;
      curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
      curl_easy_setopt(curl, CURLOPT_URL, (base + "/api/v1/auth/me").c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
      while (!stop.load()) {
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        (status == 200 ? counts.ok : counts.wrong).fetch_add(1);
      }
      curl_slist_free_all(headers);
      curl_easy_cleanup(curl);
    });
  }
  std::this_thread::sleep_for(kWindow);  // the measuring window, not a wait for a condition
  stop = true;
  for (auto& t : threads) t.join();
}

BOOST_AUTO_TEST_SUITE(login_flood)

BOOST_AUTO_TEST_CASE(verified_gets_are_answered_during_a_flood_of_unknown_usernames) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  // Production hashing, and loopback trusted as a proxy so each flooding
  // request can come from its own address: only the pool's capacity, not
  // the per-address throttle, stands between the flood and the hashes.
  SecureServe serve(ServeOptions{
      .plugins = "auth",
      .env = {{"ATES_AUTH_PASSWORD_HASH", "interactive"}, {"ATES_HTTP_TRUSTED_PROXIES", "127.0.0.1"}}});
  serve.sign_in("kiwi", "worker");
  const std::string base = serve.client().base();
  const std::string token = serve.token("kiwi");

  // Eight readers, eight flooders: the flood's connections take their turn
  // on the HTTP threads like any other; what must not happen is the
  // hashing holding those threads.
  Counts quiet;
  read_me(base, token, 8, quiet);

  std::atomic<bool> stop_flood{false};
  std::atomic<std::uint64_t> unauthorized{0}, busy{0}, throttled{0}, other{0};
  std::vector<std::thread> flooders;
  for (int c = 0; c < 8; ++c) {
    flooders.emplace_back([&, c] {
      CURL* curl = curl_easy_init();
      curl_easy_setopt(curl, CURLOPT_URL, (base + "/api/v1/auth/login").c_str());
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
      for (int n = 0; !stop_flood.load(); ++n) {
        const std::string body = nlohmann::json{
            {"username", "nobody-" + std::to_string(c) + "-" + std::to_string(n)},
            {"password",
             "guessing-away"}}.dump();
        const std::string from =
            "X-Forwarded-For: 198.18." + std::to_string(c) + "." + std::to_string(n % 250 + 1);
        curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
        headers = curl_slist_append(headers, from.c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(headers);
        (status == 401   ? unauthorized
         : status == 503 ? busy
         : status == 429 ? throttled
                         : other)
            .fetch_add(1);
      }
      curl_easy_cleanup(curl);
    });
  }
  Counts flooded;
  read_me(base, token, 8, flooded);
  stop_flood = true;
  for (auto& t : flooders) t.join();

  BOOST_TEST_MESSAGE("verified GETs: " << quiet.ok << " without the flood, " << flooded.ok
                                       << " during it; flood: " << unauthorized << " x 401, " << busy
                                       << " x 503, " << throttled << " x 429, " << other << " other");
  BOOST_TEST(quiet.wrong.load() == 0u);
  BOOST_TEST(flooded.wrong.load() == 0u);  // every GET during the flood answered 200
  BOOST_TEST(quiet.ok.load() > 0u);
  BOOST_TEST(static_cast<double>(flooded.ok.load()) >= 0.5 * static_cast<double>(quiet.ok.load()));
  // The flood was real: its log-ins were hashed (401) and, beyond the
  // pool's capacity, refused at once (503); nothing else.
  BOOST_TEST(unauthorized.load() > 0u);
  BOOST_TEST(busy.load() > 0u);
  BOOST_TEST(other.load() == 0u);
  serve.check_alive("the flood");
  // The legitimate user still logs in once the flood is over.
  expect_status(serve, "POST", "/api/v1/auth/login", 200, {},
                R"({"username":"kiwi","password":"kiwi-secret-password"})");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::security
