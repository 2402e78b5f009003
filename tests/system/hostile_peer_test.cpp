// A hostile host on the bus (docs/bus.md, "Trust between hosts"). The three
// processes of split_serve_test — auth and tracker; accounting; analytics —
// over tcp with CurveZMQ are joined by a fourth, rogue_peer: its key is
// admitted by every host and granted nothing (the event registry has no
// stream a fourth host could own), and it forges auth.users and
// accounting.transactions on its own feed,
// commits a charge at accounting over rpc, floods every replay endpoint
// with 10 MiB frames and garbage, subscribes to the front's feed and
// FETCHes auth.users. Afterwards no forged token is accepted, no consumer
// is halted or suspect, no money moved, memory and disk stayed bounded,
// the drops show in /metrics, and the audit is clean.
#include <sodium.h>

#include <fstream>

#include "ates/plugin_api/jwt.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/whole_system.hpp"

namespace ates {
namespace {

using namespace whole_system;

const std::string kRogue = ATES_ROGUE_PEER;

// The resident set of a process, in KiB (/proc/PID/status, VmRSS).
std::uint64_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6));
  }
  BOOST_FAIL("no VmRSS for " << pid);
  return 0;
}

// The bytes of every file under a data directory.
std::uintmax_t disk_bytes(const std::string& dir) {
  std::uintmax_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

std::size_t dead_letter_count(const HttpClient& client, const Headers& admin) {
  const auto r = client.get("/api/v1/events/dead-letters", admin);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  return r.json()["dead_letters"].size();
}

// The sum of one counter's samples whose labels contain `labels`.
std::uint64_t metric(const HttpClient& client, const std::string& name, const std::string& labels = "") {
  const auto r = client.get("/metrics");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  std::istringstream lines(r.body);
  std::uint64_t total = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(name + "{") && !line.starts_with(name + " ")) continue;
    const auto space = line.rfind(' ');
    if (line.substr(0, space).find(labels) == std::string::npos) continue;
    total += std::stoull(line.substr(space + 1));
  }
  return total;
}

// The boss's token with the forged key's kid, signed with the forged key:
// every claim but the key is genuine.
std::string forge(const std::string& real_token, const std::string& kid, const std::string& secret_key) {
  const auto first = real_token.find('.'), second = real_token.find('.', first + 1);
  const auto payload = plugin_api::jwt::from_base64url(real_token.substr(first + 1, second - first - 1));
  BOOST_TEST_REQUIRE(payload.has_value());
  const auto claims = nlohmann::json::parse(*payload);
  return plugin_api::jwt::sign({.sub = claims["sub"],
                                .role = "admin",
                                .iat = claims["iat"],
                                .exp = claims["exp"],
                                .kid = kid,
                                .jti = claims["jti"],
                                .gen = claims["gen"],
                                .uep = claims["uep"],
                                .useq = claims["useq"]},
                               secret_key);
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(hostile_peer)

BOOST_AUTO_TEST_CASE(a_rogue_host_admitted_on_the_bus_forges_floods_and_books_nothing) {
  BOOST_TEST_REQUIRE(sodium_init() >= 0);
  testing::TempDir dir;
  const auto env = test_environment();
  const std::vector<std::string> clock = {"--fake-clock", "2026-03-03T09:00:00Z"};
  auto args = [&](const std::string& config) {
    auto a = clock;
    a.insert(a.end(), {"--config", config});
    return a;
  };
  const std::string front_data = (dir / "front").string(), money_data = (dir / "money").string(),
                    numbers_data = (dir / "numbers").string();
  add_users(front_data, env);

  // The deployment of split_serve_test, each host admitting the rogue's
  // key with no grant: it may connect to the replay endpoints, no more.
  const Keys front = generate_keys(), money = generate_keys(), numbers = generate_keys(),
             rogue = generate_keys();
  const std::string any_port = "tcp://127.0.0.1:*", front_streams = "auth.users+tracker.tasks";
  const std::string admitted = "key=" + rogue.public_key;
  Serve front_serve(
      front_data, "auth,tracker", env,
      args(write_bus_config(dir / "front.toml", front, any_port, any_port, {},
                            {"key=" + money.public_key + " reads=" + front_streams,
                             "key=" + numbers.public_key + " reads=" + front_streams, admitted})));
  const auto [front_pub, front_replay] = bus_endpoints(front_serve);
  const std::string front_peer = "publish=" + front_pub + " replay=" + front_replay +
                                 " key=" + front.public_key + " owns=" + front_streams;
  Serve money_serve(
      money_data, "accounting", env,
      args(write_bus_config(
          dir / "money.toml", money, any_port, any_port, {front_peer},
          {"key=" + numbers.public_key + " reads=accounting.transactions",
           "key=" + front.public_key + " calls=accounting.prepare+accounting.decide", admitted})));
  const auto [money_pub, money_replay] = bus_endpoints(money_serve);
  const std::string money_peer = "publish=" + money_pub + " replay=" + money_replay +
                                 " key=" + money.public_key + " owns=accounting.transactions";
  Serve numbers_serve(
      numbers_data, "analytics", env,
      args(write_bus_config(dir / "numbers.toml", numbers, "", "", {front_peer, money_peer}, {})));
  const HttpClient tracker = front_serve.client(), accounting = money_serve.client(),
                   analytics = numbers_serve.client();
  const std::vector<const HttpClient*> all = {&tracker, &accounting, &analytics};
  const Logins logins(tracker);
  const Headers& boss = logins.as.at("boss");
  for (const HttpClient* client : {&accounting, &analytics}) {
    BOOST_TEST_REQUIRE(
        testing::wait_until([&] { return client->get("/api/v1/events/streams", boss).status == 200; },
                            std::chrono::seconds(30)),
        client->base() << " never accepted the token");
  }
  require_converged(all, boss);

  // Some money first: six tasks, three of them completed.
  for (int i = 0; i < 6; ++i) {
    const auto created = tracker.post("/api/v1/tracker/tasks",
                                      nlohmann::json{{"title", "task " + std::to_string(i)}}.dump(), boss);
    BOOST_TEST_REQUIRE(created.status == 201, created.body);
    if (i % 2 == 1) continue;
    const std::string id = created.json()["task"]["id"], assignee = created.json()["task"]["assignee_id"];
    const auto done = tracker.post("/api/v1/tracker/tasks/" + id + "/complete", "",
                                   logins.as.at(logins.name_of.at(assignee)));
    BOOST_TEST_REQUIRE(done.status == 200, done.body);
  }
  require_converged(all, boss);
  const Books before = books(accounting, boss);
  BOOST_TEST_REQUIRE(!before.balances.empty());
  std::map<const HttpClient*, std::uint64_t> rss_before;
  std::map<const HttpClient*, std::uintmax_t> disk_before;
  std::map<const HttpClient*, std::size_t> letters_before;
  const std::map<const HttpClient*, std::pair<Serve*, std::string>> hosts = {
      {&tracker, {&front_serve, front_data}},
      {&accounting, {&money_serve, money_data}},
      {&analytics, {&numbers_serve, numbers_data}}};
  for (const auto& [client, host] : hosts) {
    rss_before[client] = rss_kib(host.first->process().pid());
    disk_before[client] = disk_bytes(host.second);
    letters_before[client] = dead_letter_count(*client, boss);
  }

  // The forged signing key: the rogue announces its public half.
  std::string signing_public(crypto_sign_PUBLICKEYBYTES, '\0'),
      signing_secret(crypto_sign_SECRETKEYBYTES, '\0');
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(signing_public.data()),
                      reinterpret_cast<unsigned char*>(signing_secret.data()));
  const std::string kid = "rogue-key-1";
  testing::Process rogue_process(
      {kRogue, "dir=" + (dir / "rogue").string(), "public=" + rogue.public_key, "secret=" + rogue.secret_key,
       "kid=" + kid, "signing_key=" + hex(signing_public), "front_pub=" + front_pub,
       "front_replay=" + front_replay, "front_key=" + front.public_key, "money_replay=" + money_replay,
       "money_key=" + money.public_key},
      {});
  const std::string said = rogue_process.stdout_rest(std::chrono::seconds(120));
  const auto exit = rogue_process.wait(std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(exit.has_value(), "the rogue never finished: " << said);
  BOOST_TEST_MESSAGE("the rogue:\n" << said << rogue_process.stderr_text());
  BOOST_TEST_REQUIRE((WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0), said << rogue_process.stderr_text());
  // Its attempts, as it saw them: each refused.
  BOOST_TEST(said.find("published: SigningKeyAdded") != std::string::npos, said);
  BOOST_TEST(said.find("call accounting.prepare: permission_denied") != std::string::npos, said);
  BOOST_TEST(said.find("call accounting.decide: permission_denied") != std::string::npos, said);
  BOOST_TEST(said.find("fetch auth.users: stalled:") != std::string::npos, said);
  BOOST_TEST(said.find("subscribe to the front: heard nothing") != std::string::npos, said);
  BOOST_TEST(said.find("flood front: 3 frames of 10 MiB") != std::string::npos, said);
  BOOST_TEST(said.find("flood money: 3 frames of 10 MiB") != std::string::npos, said);

  // The hosts still work, and nothing the rogue said took hold.
  const auto after_task = tracker.post("/api/v1/tracker/tasks", R"({"title":"after the rogue"})", boss);
  BOOST_TEST_REQUIRE(after_task.status == 201, after_task.body);
  require_converged(all, boss);
  const std::string forged = "Bearer " + forge(boss.at("Authorization").substr(7), kid, signing_secret);
  for (const HttpClient* client : all) {
    BOOST_TEST(client->get("/api/v1/events/streams", boss).status == 200, client->base());
    BOOST_TEST(client->get("/api/v1/events/streams", {{"Authorization", forged}}).status == 401,
               client->base() << " accepted a token signed with the rogue's key");
    const auto ready = client->get("/readyz");
    BOOST_TEST(ready.status == 200, ready.body);
    BOOST_TEST(!ready.json().contains("suspect"), ready.body);
    const auto view = bus_view(*client, boss);
    BOOST_TEST_REQUIRE(view.has_value());
    for (const auto& c : view->consumers) BOOST_TEST(c.state == "running", c.plugin << " " << c.stream);
  }
  const auto users = get_all(tracker, "/api/v1/auth/users", "users", boss);
  for (const auto& user : users) BOOST_TEST(user["username"] != "mallory");
  // No money: the books are those of before plus the new task's fee.
  const Books after = books(accounting, boss);
  BOOST_TEST(after.balances.size() == before.balances.size());
  for (const auto& [user, balance] : after.balances) BOOST_TEST(balance == after.sums.at(user), user);
  BOOST_TEST(after.rewards == before.rewards);
  BOOST_TEST(after.fees.size() == before.fees.size() + 1);

  // Bounded: memory under twice what it was, the dead-letter store and the
  // data directories grown by less than 1 MiB.
  for (const auto& [client, host] : hosts) {
    const std::uint64_t rss = rss_kib(host.first->process().pid());
    BOOST_TEST_MESSAGE(client->base()
                       << ": RSS " << rss_before[client] << " KiB -> " << rss << " KiB, disk "
                       << disk_before[client] << " -> " << disk_bytes(host.second) << " bytes");
    BOOST_TEST(rss < 2 * rss_before[client], client->base());
    BOOST_TEST(disk_bytes(host.second) < disk_before[client] + (1u << 20), client->base());
    BOOST_TEST(dead_letter_count(*client, boss) == letters_before[client], client->base());
  }

  // The drops and refusals, counted where they happened.
  BOOST_TEST(
      metric(tracker, "ates_bus_dropped_total", "reason=\"fetch_denied\",source=\"" + rogue.public_key) > 0u);
  BOOST_TEST(metric(tracker, "ates_bus_dropped_total",
                    "reason=\"malformed_request\",source=\"" + rogue.public_key) > 0u);
  BOOST_TEST(metric(tracker, "ates_bus_refused_connections_total") > 0u);  // its subscription
  BOOST_TEST(metric(accounting, "ates_bus_dropped_total",
                    "reason=\"call_denied\",source=\"" + rogue.public_key) >= 2u);
  BOOST_TEST(metric(accounting, "ates_bus_dropped_total",
                    "reason=\"malformed_request\",source=\"" + rogue.public_key) > 0u);

  numbers_serve.stop();
  money_serve.stop();
  front_serve.stop();
  const auto together = dir / "together";
  std::filesystem::create_directory(together);
  for (const auto& [data, plugin] :
       {std::pair{front_data, "auth"}, std::pair{front_data, "tracker"}, std::pair{money_data, "accounting"},
        std::pair{numbers_data, "analytics"}}) {
    std::filesystem::create_directory_symlink(std::filesystem::path(data) / plugin, together / plugin);
  }
  require_clean_audit(together.string());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
