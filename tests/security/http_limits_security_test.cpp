// The HTTP edge of a real `ates serve` under requests meant to hurt it:
// oversized request heads, chunked bodies over the body limit, more
// connections than the cap (and reset ones waiting for it), and a spoofed
// X-Forwarded-For. Each case asserts the exact answer, or that the
// connection was closed without one, and that /healthz still answers 200.
#include <cstdio>
#include <tuple>

#include <boost/test/unit_test.hpp>

#include "ates/testing/http_client.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/raw_connection.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

namespace ates {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::RawAnswer;
using testing::RawConnection;
using testing::TempDir;

const std::string kAtes = ATES_BINARY;
const std::string kPlugins = std::string(ATES_TEST_PLUGINS_DIR) + "/variant_a";

using Env = std::map<std::string, std::string>;

// `ates serve` on a free port with the test plugin and extra ATES_* settings.
class Serve {
 public:
  explicit Serve(Env env = {}) {
    env["ATES_PLUGIN_DIR"] = kPlugins;
    process_ =
        std::make_unique<Process>(std::vector<std::string>{kAtes, "serve", "--data", (dir_ / "data").string(),
                                                           "--listen", "127.0.0.1:0"},
                                  env);
    const auto line = process_->read_line();
    BOOST_TEST_REQUIRE(line.has_value(), "no listening line; stderr:\n" << process_->stderr_text());
    const std::string prefix = "ates serve: listening on ";
    BOOST_TEST_REQUIRE(line->starts_with(prefix), *line);
    base_ = line->substr(prefix.size());
  }

  const std::string& base() const { return base_; }
  Process& process() { return *process_; }
  bool healthy() const { return testing::HttpClient(base_).get("/healthz").status == 200; }

 private:
  TempDir dir_;
  std::unique_ptr<Process> process_;
  std::string base_;
};

// Sends `request` on a fresh connection and reads what comes back.
RawAnswer round_trip(const Serve& serve, const std::string& request) {
  RawConnection connection(serve.base());
  BOOST_TEST_REQUIRE(connection.connected());
  connection.send(request);  // may fail half way when the server closes first
  return connection.read_answer();
}

// Closed by the server, and not a byte of HTTP in answer.
void check_closed_unanswered(const RawAnswer& answer, const std::string& what) {
  BOOST_TEST(answer.status == 0, what << ": answered " << answer.bytes.substr(0, 40));
  BOOST_TEST(answer.closed, what << ": the connection stayed open");
}

std::string headers(int count, std::size_t value_size) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    out += (out.empty() ? "" : "\r\n") + ("X-Pad-" + std::to_string(i)) + ": " + std::string(value_size, 'v');
  }
  return out;
}

// A chunked POST of `size` bytes in chunks of at most `chunk` bytes.
std::string chunked_post(std::size_t size, std::size_t chunk) {
  std::string request =
      "POST /api/v1/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  char hex[32];
  for (std::size_t sent = 0; sent < size;) {
    const std::size_t n = std::min(chunk, size - sent);
    std::snprintf(hex, sizeof hex, "%zx\r\n", n);
    request += hex + std::string(n, 'b') + "\r\n";
    sent += n;
  }
  return request + "0\r\n\r\n";
}

BOOST_AUTO_TEST_SUITE(http_limits)

BOOST_AUTO_TEST_CASE(oversized_request_heads_are_closed_unanswered) {
  Serve serve;
  using testing::raw_get;
  // Right at each limit: answered.
  BOOST_TEST(round_trip(serve, raw_get("/healthz?pad=" + std::string(8192 - 13, 'u'))).status == 200);
  BOOST_TEST(round_trip(serve, raw_get("/healthz", std::string(256, 'N') + ": v")).status == 200);
  BOOST_TEST(round_trip(serve, raw_get("/healthz", headers(99, 8))).status == 200);         // 100 with Host
  BOOST_TEST(round_trip(serve, raw_get("/healthz", headers(1, 12 * 1024))).status == 200);  // one big value
  BOOST_TEST(round_trip(serve, raw_get("/healthz", headers(15, 900))).status == 200);       // ~14 KiB in all

  // One byte or one field past: closed without an answer, the server well.
  check_closed_unanswered(round_trip(serve, raw_get("/healthz?pad=" + std::string(8192 - 12, 'u'))),
                          "URL over 8 KiB");
  BOOST_TEST(serve.healthy());
  check_closed_unanswered(round_trip(serve, raw_get("/healthz", std::string(257, 'N') + ": v")),
                          "name over 256");
  BOOST_TEST(serve.healthy());
  check_closed_unanswered(round_trip(serve, raw_get("/healthz", headers(100, 8))), "101 fields");
  BOOST_TEST(serve.healthy());
  check_closed_unanswered(round_trip(serve, raw_get("/healthz", headers(1, 16 * 1024))), "value over 16 KiB");
  BOOST_TEST(serve.healthy());
  check_closed_unanswered(round_trip(serve, raw_get("/healthz", headers(20, 900))), "head over 16 KiB");
  BOOST_TEST(serve.healthy());
  // A flood of header bytes is cut off at the limit, not buffered.
  check_closed_unanswered(round_trip(serve, raw_get("/healthz", headers(1, 4 << 20))), "4 MiB header");
  BOOST_TEST(serve.healthy());
}

BOOST_AUTO_TEST_CASE(http_header_limit_is_configurable) {
  Serve serve(Env{{"ATES_HTTP_HEADER_LIMIT", "2048"}});
  BOOST_TEST(round_trip(serve, testing::raw_get("/healthz", headers(1, 1500))).status == 200);
  check_closed_unanswered(round_trip(serve, testing::raw_get("/healthz", headers(1, 2100))),
                          "head over 2 KiB");
  BOOST_TEST(serve.healthy());
}

BOOST_AUTO_TEST_CASE(chunked_bodies_are_held_to_the_body_limit) {
  Serve serve;  // http.body_limit 65536
  // At the limit the body reaches routing (no such route), one byte over is 413.
  BOOST_TEST(round_trip(serve, chunked_post(65536, 16384)).status == 404);
  const RawAnswer over = round_trip(serve, chunked_post(65537, 16384));
  BOOST_TEST(over.status == 413);
  BOOST_TEST(over.header("content-type") == "application/problem+json");
  BOOST_TEST(over.bytes.find("problems/too-large") != std::string::npos, over.bytes);
  BOOST_TEST(serve.healthy());
  // Small chunks add up the same way.
  BOOST_TEST(round_trip(serve, chunked_post(65537, 7)).status == 413);
  // Far over (past 16 x the limit, at least 1 MiB) the connection is dropped
  // while the body still comes, without reading the rest.
  check_closed_unanswered(round_trip(serve, chunked_post((1 << 20) + 65536, 65536)),
                          "chunked body over 1 MiB");
  BOOST_TEST(serve.healthy());
  // A declared length that far over is refused before any body byte.
  check_closed_unanswered(round_trip(serve,
                                     "POST /api/v1/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     "Content-Length: 2097152\r\n\r\n{}"),
                          "Content-Length of 2 MiB");
  BOOST_TEST(
      round_trip(serve, "POST /api/v1/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 65537\r\n\r\n" +
                            std::string(65537, 'b'))
          .status == 413);
  BOOST_TEST(serve.healthy());
}

// Opens `count` connections that each got an answer and stay open.
std::vector<RawConnection> hold(const Serve& serve, int count) {
  std::vector<RawConnection> held;
  for (int i = 0; i < count; ++i) {
    held.emplace_back(serve.base());
    BOOST_TEST_REQUIRE(held.back().send(testing::raw_get("/healthz")));
    BOOST_TEST_REQUIRE(held.back().read_answer().status == 200, "held connection " << i);
  }
  return held;
}

BOOST_AUTO_TEST_CASE(connections_past_the_cap_wait_unanswered) {
  Serve serve(Env{{"ATES_HTTP_MAX_CONNECTIONS", "4"}});
  std::vector<RawConnection> held = hold(serve, 4);

  RawConnection fifth(serve.base());  // the kernel completes the handshake...
  BOOST_TEST_REQUIRE(fifth.connected());
  BOOST_TEST_REQUIRE(fifth.send(testing::raw_get("/healthz")));
  const RawAnswer waiting = fifth.read_answer(1500ms);  // ...but the server does not take it
  BOOST_TEST(waiting.status == 0);
  BOOST_TEST(!waiting.closed);

  held.pop_back();  // one closes: the waiting one is taken and answered
  BOOST_TEST(fifth.read_answer().status == 200);
  held.clear();
  BOOST_TEST(serve.healthy());
}

// RESTinio's own limiter loses a slot for every accepted socket its peer had
// already reset; connections reset while waiting at the cap must not cost
// the server its capacity.
BOOST_AUTO_TEST_CASE(connections_reset_while_waiting_cost_no_slot) {
  Serve serve(Env{{"ATES_HTTP_MAX_CONNECTIONS", "2"}});
  for (int round = 0; round < 3; ++round) {
    std::vector<RawConnection> held = hold(serve, 2);
    for (int i = 0; i < 4; ++i) {
      RawConnection doomed(serve.base());
      BOOST_TEST_REQUIRE(doomed.connected());
      doomed.reset();
    }
    held.clear();  // the reset ones are accepted now, then the next round's
  }
  // Still two connections' worth: two are served at once, a third waits.
  std::vector<RawConnection> held = hold(serve, 2);
  RawConnection third(serve.base());
  BOOST_TEST_REQUIRE(third.send(testing::raw_get("/healthz")));
  BOOST_TEST(third.read_answer(1500ms).status == 0);
  held.clear();
  BOOST_TEST(third.read_answer().status == 200);
}

// The access log line of the request `request_id`, once written.
std::string log_line(Process& process, const std::string& request_id) {
  std::string found;
  testing::wait_until([&] {
    const std::string text = process.stderr_text();
    const auto at = text.find("[" + request_id + "]");
    if (at == std::string::npos) return false;
    found = text.substr(at, text.find('\n', at) - at);
    return true;
  });
  return found;
}

BOOST_AUTO_TEST_CASE(forwarded_for_counts_only_from_trusted_proxies) {
  const std::map<std::string, std::string> spoofed = {{"X-Forwarded-For", "198.51.100.7"}};
  {
    Serve serve;  // no proxy trusted: the header is the client's word only
    const auto answer = testing::HttpClient(serve.base()).get("/healthz", spoofed);
    BOOST_TEST(answer.status == 200);
    const std::string line = log_line(serve.process(), answer.header("x-request-id"));
    BOOST_TEST(line.find("] 127.0.0.1 GET /healthz 200 ") != std::string::npos, line);
    BOOST_TEST(line.find("198.51.100.7") == std::string::npos, line);
  }
  {
    Serve serve(Env{{"ATES_HTTP_TRUSTED_PROXIES", "10.9.8.7,127.0.0.1"}});
    const testing::HttpClient client(serve.base());
    auto answer = client.get("/healthz", {{"X-Forwarded-For", "203.0.113.1, 198.51.100.7"}});
    std::string line = log_line(serve.process(), answer.header("x-request-id"));
    BOOST_TEST(line.find("] 198.51.100.7 GET /healthz 200 ") != std::string::npos, line);
    // A malformed entry ends at the trusted proxy that passed it on.
    answer = client.get("/healthz", {{"X-Forwarded-For", "198.51.100.7, not-an-address"}});
    line = log_line(serve.process(), answer.header("x-request-id"));
    BOOST_TEST(line.find("] 127.0.0.1 GET /healthz 200 ") != std::string::npos, line);
  }
  const TempDir other;
  const auto bad =
      testing::run_to_end({kAtes, "serve", "--data", (other / "data").string(), "--listen", "127.0.0.1:0"},
                          {{"ATES_PLUGIN_DIR", kPlugins}, {"ATES_HTTP_TRUSTED_PROXIES", "proxy.internal"}});
  BOOST_TEST(bad.exit_code == 1);
  BOOST_TEST(bad.err.find("'http.trusted_proxies'") != std::string::npos, bad.err);
  BOOST_TEST(bad.err.find("proxy.internal") != std::string::npos, bad.err);
}

BOOST_AUTO_TEST_CASE(bad_limits_stop_start_up_naming_the_key) {
  TempDir dir;
  for (const auto& [key, env, value] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"http.max_connections", "ATES_HTTP_MAX_CONNECTIONS", "0"},
           {"http.header_limit", "ATES_HTTP_HEADER_LIMIT", "100"}}) {
    const auto run =
        testing::run_to_end({kAtes, "serve", "--data", (dir / "data").string(), "--listen", "127.0.0.1:0"},
                            {{"ATES_PLUGIN_DIR", kPlugins}, {env, value}});
    BOOST_TEST(run.exit_code == 1);
    BOOST_TEST(run.err.find("'" + key + "'") != std::string::npos, run.err);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
