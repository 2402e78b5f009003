// `ates serve` over HTTPS (http.tls_cert, http.tls_key) with a certificate
// made at test time: verified HTTPS with HSTS on every answer, nothing for
// plain HTTP on that port, no TLS below 1.2, handshakes that never finish
// closed, and bad TLS settings stopping start-up with the key named.
#include <boost/test/unit_test.hpp>

#include "ates/testing/http_client.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/raw_connection.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::TempDir;

const std::string kAtes = ATES_BINARY;
const std::string kPlugins = std::string(ATES_TEST_PLUGINS_DIR) + "/variant_a";

// A self-signed certificate for 127.0.0.1 and its key, made by openssl.
struct Certificate {
  std::string cert;
  std::string key;
};

Certificate make_certificate(const TempDir& dir, const std::string& name,
                             const std::string& key_type = "ed25519") {
  Certificate made{(dir / (name + ".crt")).string(), (dir / (name + ".key")).string()};
  const auto run = testing::run_to_end(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", key_type, "-nodes", "-days", "2", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", made.key, "-out", made.cert});
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.err);
  return made;
}

// Starts `ates serve` over HTTPS; returns the announced base URL.
std::string start_https(Process& serve) {
  const auto line = serve.read_line();
  BOOST_TEST_REQUIRE(line.has_value(), "no listening line; stderr:\n" << serve.stderr_text());
  const std::string prefix = "ates serve: listening on ";
  BOOST_TEST_REQUIRE(line->starts_with(prefix + "https://127.0.0.1:"), *line);
  return line->substr(prefix.size());
}

std::map<std::string, std::string> tls_env(const Certificate& certificate) {
  return {{"ATES_PLUGIN_DIR", kPlugins},
          {"ATES_HTTP_TLS_CERT", certificate.cert},
          {"ATES_HTTP_TLS_KEY", certificate.key}};
}

// `openssl s_client` at one protocol version; its exit code and output.
testing::Finished s_client(const std::string& base, const std::string& version) {
  const std::string port = base.substr(base.rfind(':') + 1);
  // Security level 0 lets the client offer what the server must refuse.
  return testing::run_to_end({"/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + port, version,
                              "-cipher", "DEFAULT:@SECLEVEL=0", "-brief"},
                             {}, "Q\n");
}

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(serves_https_with_hsts_and_nothing_over_plain_http) {
  TempDir dir;
  const Certificate certificate = make_certificate(dir, "server");
  Process serve({kAtes, "serve", "--data", (dir / "data").string(), "--listen", "127.0.0.1:0"},
                tls_env(certificate));
  const std::string base = start_https(serve);

  const testing::HttpClient client(base, certificate.cert);
  const auto health = client.get("/healthz");
  BOOST_TEST(health.status == 200);
  BOOST_TEST(health.header("strict-transport-security") == "max-age=31536000");
  // Every answer, errors too.
  const auto missing = client.get("/api/v1/no-such-thing");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(missing.header("strict-transport-security") == "max-age=31536000");
  BOOST_TEST(client.get("/api/v1/tracker/variant").json()["variant"] == "A");
  // The certificate is really checked: without the CA, no answer.
  BOOST_TEST(testing::HttpClient(base).get("/healthz").status == 0);

  // Plain HTTP on the HTTPS port: the handshake fails, the server closes.
  const std::string plain = "http://" + base.substr(std::string("https://").size());
  BOOST_TEST(testing::HttpClient(plain).get("/healthz").status == 0);
  testing::RawConnection raw(plain);
  BOOST_TEST_REQUIRE(raw.connected());
  raw.send(testing::raw_get("/healthz"));
  const auto answer = raw.read_answer();
  BOOST_TEST(answer.status == 0);
  BOOST_TEST(answer.bytes.find("HTTP/") == std::string::npos);
  BOOST_TEST(answer.closed);
  BOOST_TEST(client.get("/healthz").status == 200);

  // TLS 1.2 and 1.3 only.
  const auto tls12 = s_client(base, "-tls1_2");
  BOOST_TEST(tls12.exit_code == 0, tls12.out << tls12.err);
  BOOST_TEST((tls12.out + tls12.err).find("Protocol version: TLSv1.2") != std::string::npos,
             tls12.out << tls12.err);
  const auto tls13 = s_client(base, "-tls1_3");
  BOOST_TEST((tls13.out + tls13.err).find("Protocol version: TLSv1.3") != std::string::npos,
             tls13.out << tls13.err);
  for (const std::string old : {"-tls1", "-tls1_1"}) {
    const auto refused = s_client(base, old);
    BOOST_TEST(refused.exit_code != 0, old << ": " << refused.out << refused.err);
    BOOST_TEST((refused.out + refused.err).find("Protocol version:") == std::string::npos,
               old << ": " << refused.out);
  }
  BOOST_TEST(client.get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(rsa_certificates_work_too) {
  TempDir dir;
  const Certificate certificate = make_certificate(dir, "rsa", "rsa:2048");
  Process serve({kAtes, "serve", "--data", (dir / "data").string(), "--listen", "127.0.0.1:0"},
                tls_env(certificate));
  const testing::HttpClient client(start_https(serve), certificate.cert);
  BOOST_TEST(client.get("/healthz").status == 200);
}

// Without a deadline on the handshake, connections that never send a
// ClientHello would hold http.max_connections' slots for ever.
BOOST_AUTO_TEST_CASE(handshakes_that_never_finish_are_closed) {
  TempDir dir;
  const Certificate certificate = make_certificate(dir, "server");
  auto env = tls_env(certificate);
  env["ATES_HTTP_MAX_CONNECTIONS"] = "2";
  env["ATES_HTTP_READ_TIMEOUT_MS"] = "1000";
  Process serve({kAtes, "serve", "--data", (dir / "data").string(), "--listen", "127.0.0.1:0"}, env);
  const std::string base = start_https(serve);
  std::vector<testing::RawConnection> silent;
  silent.emplace_back(base);
  silent.emplace_back(base);
  silent[1].send(std::string("\x16\x03\x01", 3));  // the start of a ClientHello, then nothing
  for (auto& connection : silent) {
    const auto answer = connection.read_answer(10s);
    BOOST_TEST(answer.closed);
    BOOST_TEST(answer.status == 0);
  }
  BOOST_TEST(testing::HttpClient(base, certificate.cert).get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(bad_tls_settings_stop_start_up_naming_the_key) {
  TempDir dir;
  const Certificate one = make_certificate(dir, "one");
  const Certificate other = make_certificate(dir, "other");
  const std::string garbage = (dir / "garbage.pem").string();
  testing::run_to_end({"/bin/sh", "-c", "echo 'not a PEM file' > " + garbage});
  const std::string absent = (dir / "absent.pem").string();

  struct Case {
    std::string cert;
    std::string key;
    std::string named;  // the key the error must name
  };
  for (const Case& c : std::vector<Case>{{one.cert, "", "http.tls_key"},
                                         {"", one.key, "http.tls_cert"},
                                         {garbage, one.key, "http.tls_cert"},
                                         {absent, one.key, "http.tls_cert"},
                                         {one.cert, garbage, "http.tls_key"},
                                         {one.cert, absent, "http.tls_key"},
                                         {one.cert, other.key, "http.tls_key"}}) {
    std::map<std::string, std::string> env = {{"ATES_PLUGIN_DIR", kPlugins}};
    if (!c.cert.empty()) env["ATES_HTTP_TLS_CERT"] = c.cert;
    if (!c.key.empty()) env["ATES_HTTP_TLS_KEY"] = c.key;
    const auto run = testing::run_to_end(
        {kAtes, "serve", "--data", (dir / "data").string(), "--listen", "127.0.0.1:0"}, env);
    BOOST_TEST(run.exit_code == 1, c.cert << " " << c.key);
    BOOST_TEST(run.err.find(c.named) != std::string::npos, c.cert << " " << c.key << ": " << run.err);
    BOOST_TEST(run.out.find("listening") == std::string::npos, run.out);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
