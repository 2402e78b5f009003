#include "ates/bench/auth_bench.hpp"

#include <sodium.h>

#include <atomic>
#include <iomanip>
#include <thread>

#include <curl/curl.h>

#include "ates/testing/temp_dir.hpp"

#include "host.hpp"
#include "http_server.hpp"

namespace ates::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

// Requests/s from `clients` threads, each on one keep-alive connection.
double load(const std::string& url, const std::string& method, const std::string& body,
            const std::string& header, int clients, std::chrono::milliseconds duration, long expect) {
  std::atomic<std::uint64_t> ok{0}, wrong{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      CURL* curl = curl_easy_init();
      curl_slist* headers = nullptr;
      if (!header.empty()) headers = curl_slist_append(headers, header.c_str());
      headers = curl_slist_append(headers, "Content-Type: application/json");
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
      if (method == "POST") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      while (!stop.load(std::memory_order_relaxed)) {
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        (status == expect ? ok : wrong).fetch_add(1, std::memory_order_relaxed);
      }
      curl_slist_free_all(headers);
      curl_easy_cleanup(curl);
    });
  }
  const auto start = SteadyClock::now();
  std::this_thread::sleep_for(duration);  // the measuring window
  stop = true;
  for (auto& t : threads) t.join();
  if (wrong.load() > 0)
    throw std::runtime_error(std::to_string(wrong.load()) + " answers were not " + std::to_string(expect));
  return static_cast<double>(ok.load()) / std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// Log-ins with made-up usernames from `clients` threads until `stop`, each
// from its own address (X-Forwarded-For, the bench's host trusts
// loopback as a proxy), so neither throttle slows them: only the hashing
// pool's capacity does. Counts the answers by status.
struct Flood {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> unauthorized{0}, busy{0}, throttled{0}, other{0};
  std::vector<std::thread> threads;

  Flood(const std::string& url, int clients) {
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([this, url, c] {
        CURL* curl = curl_easy_init();
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        for (std::uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
          const std::string body = R"({"username":"nobody-)" + std::to_string(c) + "-" + std::to_string(n) +
                                   R"(","password":"guessing-away"})";
          curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
          const std::string from =
              "X-Forwarded-For: 198.18." + std::to_string(c) + "." + std::to_string(n % 250 + 1);
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
              .fetch_add(1, std::memory_order_relaxed);
        }
        curl_easy_cleanup(curl);
      });
    }
  }
  ~Flood() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

}  // namespace

void run_auth_bench(const AuthBenchOptions& options, std::ostream& out) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  testing::TempDir temp("ates-bench-auth");
  const std::filesystem::path root = options.dir.empty() ? temp.path() : std::filesystem::path(options.dir);
  const std::chrono::milliseconds window(options.full ? 8000 : 3000);
  constexpr int kServerThreads = 2;
  constexpr int kClients = 8;

  // The bare route: the same RESTinio server code, answering at once.
  double bare = 0;
  {
    server::HttpServer http({.port = 0, .threads = kServerThreads},
                            [](plugin_api::Request, plugin_api::Responder respond) {
                              respond(plugin_api::Response::json(200, {{"ok", true}}));
                            });
    const auto port = http.start();
    if (!port) throw std::runtime_error(port.status().to_string());
    bare = load("http://127.0.0.1:" + std::to_string(*port) + "/bare", "GET", "", "", kClients, window, 200);
  }

  server::ConfigSources sources;
  sources.flags = {{"data", (root / "data").string()},
                   {"plugins", "auth"},
                   {"http.listen", "127.0.0.1:0"},
                   {"http.threads", std::to_string(kServerThreads)},
                   {"log.level", "error"},
                   {"http.trusted_proxies", "127.0.0.1"}};
  sources.environment = {{"ATES_AUTH_FIRST_ADMIN", "false"}, {"ATES_BUS_HEARTBEAT_MS", "50"}};
  auto host = server::Host::start(sources, std::filesystem::read_symlink("/proc/self/exe"));
  if (!host) throw std::runtime_error(host.status().to_string());
  const std::string base = "http://127.0.0.1:" + std::to_string((*host)->port());
  const auto added = (*host)->run_command(
      "auth", "user-add", {{"username", "bench"}, {"role", "worker"}, {"password", "bench-password"}});
  if (!added) throw std::runtime_error(added.status().to_string());
  const std::string login_body = R"({"username":"bench","password":"bench-password"})";
  const double logins =
      load(base + "/api/v1/auth/login", "POST", login_body, "", kServerThreads, window, 200);

  // A token for /me, once the host knows the signing key.
  std::string token;
  {
    CURL* curl = curl_easy_init();
    std::string response;
    curl_easy_setopt(curl, CURLOPT_URL, (base + "/api/v1/auth/login").c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, login_body.c_str());
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION, +[](char* d, std::size_t s, std::size_t n, void* o) {
          static_cast<std::string*>(o)->append(d, s * n);
          return s * n;
        });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    token = nlohmann::json::parse(response)["token"];
  }
  const std::string bearer = "Authorization: Bearer " + token;
  for (int attempt = 0; attempt < 10000; ++attempt) {  // until the key arrived through the stream
    try {
      load(base + "/api/v1/auth/me", "GET", "", bearer, 1, std::chrono::milliseconds(5), 200);
      break;
    } catch (const std::exception&) {
    }
  }
  const double me = load(base + "/api/v1/auth/me", "GET", "", bearer, kClients, window, 200);
  // The same verified GETs while unknown usernames flood the log-in.
  constexpr int kFlooders = 8;
  double me_flooded = 0;
  std::uint64_t flood_401 = 0, flood_503 = 0, flood_429 = 0, flood_other = 0;
  {
    Flood flood(base + "/api/v1/auth/login", kFlooders);
    me_flooded = load(base + "/api/v1/auth/me", "GET", "", bearer, kClients, window, 200);
    flood.stop = true;
    for (auto& t : flood.threads) t.join();
    flood.threads.clear();
    flood_401 = flood.unauthorized, flood_503 = flood.busy, flood_429 = flood.throttled,
    flood_other = flood.other;
  }
  (*host)->shutdown();

  out << std::fixed << std::setprecision(0);
  out << "ates bench auth: " << kServerThreads << " HTTP threads, keep-alive clients, " << window.count()
      << " ms windows\n\n";
  out << "log-ins/s (" << kServerThreads << " clients): " << logins << "  — argon2id, opslimit "
      << crypto_pwhash_OPSLIMIT_INTERACTIVE << ", memlimit " << (crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20)
      << " MiB (libsodium's interactive limits)\n";
  out << "bare route, requests/s (" << kClients << " clients):      " << bare << "\n";
  out << "GET /api/v1/auth/me, verified token (" << kClients << " clients): " << me << "  = "
      << std::setprecision(0) << 100 * me / bare << "% of the bare route\n";
  out << "the same during a flood of log-ins with unknown usernames (" << kFlooders
      << " clients, each request from its own address): " << me_flooded << "  = " << 100 * me_flooded / me
      << "% of the same GETs without the flood\n";
  const double window_s = std::chrono::duration<double>(window).count();
  out << "  the flood's answers/s: " << flood_401 / window_s << " checked (401), " << flood_503 / window_s
      << " refused at once, pool full (503), " << flood_429 / window_s << " throttled (429), "
      << flood_other / window_s << " other\n";
}

}  // namespace ates::bench
