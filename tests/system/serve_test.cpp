// `ates` as a process: start-up, the listening line, a second server on
// the same data refused, the control socket, /metrics read by Prometheus's
// own parser, configuration errors, and SIGTERM ending in exit 0.
#include <signal.h>

#include <sstream>

#include <boost/test/unit_test.hpp>
#include <sys/wait.h>

#include "ates/testing/http_client.hpp"
#include "ates/testing/listening.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/wait.hpp"

namespace ates {
namespace {

using testing::Process;
using testing::TempDir;

const std::string kAtes = ATES_BINARY;
const std::string kPlugins = std::string(ATES_TEST_PLUGINS_DIR) + "/variant_a";

BOOST_AUTO_TEST_SUITE(serve)

BOOST_AUTO_TEST_CASE(serves_controls_and_stops_cleanly_on_sigterm) {
  TempDir dir;
  const std::string data = (dir / "data").string();
  Process serve({kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0"}, {{"ATES_PLUGIN_DIR", kPlugins}});
  const std::string base = testing::wait_for_listening(serve);
  const testing::HttpClient client(base);
  BOOST_TEST(client.get("/healthz").status == 200);
  BOOST_TEST(client.get("/readyz").json()["status"] == "ready");

  // A second server on the same data directory is refused, naming the first.
  const auto second = testing::run_to_end({kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0"},
                                          {{"ATES_PLUGIN_DIR", kPlugins}});
  BOOST_TEST(second.exit_code == 1);
  BOOST_TEST(second.err.find("is in use by process " + std::to_string(serve.pid())) != std::string::npos,
             second.err);

  // A port in use is a clear error, after a clean teardown of what started.
  const std::string port = base.substr(base.rfind(':') + 1);
  const auto taken = testing::run_to_end(
      {kAtes, "serve", "--data", (dir / "other").string(), "--listen", "127.0.0.1:" + port},
      {{"ATES_PLUGIN_DIR", kPlugins}});
  BOOST_TEST(taken.exit_code == 1);
  BOOST_TEST(taken.err.find("cannot listen on 127.0.0.1:" + port) != std::string::npos, taken.err);

  // The control socket answers CLI commands.
  const auto status = testing::run_to_end({kAtes, "status", "--data", data});
  BOOST_TEST(status.exit_code == 0, status.err);
  BOOST_TEST(nlohmann::json::parse(status.out)["plugins"][0]["name"] == "tracker");
  const auto reload = testing::run_to_end({kAtes, "plugin", "reload", "tracker", "--data", data});
  BOOST_TEST(reload.exit_code == 0, reload.out << reload.err);
  BOOST_TEST(client.get("/api/v1/tracker/variant").json()["variant"] == "A");
  // Stopped, a plugin's routes answer 503 with Retry-After until started.
  const auto stop = testing::run_to_end({kAtes, "plugin", "stop", "tracker", "--data", data});
  BOOST_TEST(stop.exit_code == 0, stop.out << stop.err);
  BOOST_TEST(client.get("/api/v1/tracker/variant").status == 503);
  const auto start = testing::run_to_end({kAtes, "plugin", "start", "tracker", "--data", data});
  BOOST_TEST(start.exit_code == 0, start.out << start.err);
  BOOST_TEST(client.get("/api/v1/tracker/variant").json()["variant"] == "A");

  // The bus, seen from the command line: the event is in the outbox (read
  // beside the running server), and the plugin's own consumer applied it.
  BOOST_TEST_REQUIRE(client.post("/api/v1/tracker/events", R"({"title":"from a process"})").status == 201);
  const auto tail = testing::run_to_end({kAtes, "events", "tail", "tracker.tasks", "--data", data});
  BOOST_TEST(tail.exit_code == 0, tail.err);
  const auto line = nlohmann::json::parse(tail.out.substr(0, tail.out.find('\n')));
  BOOST_TEST(line["name"] == "TaskCreated");
  BOOST_TEST(line["seq"] == 1);
  BOOST_TEST(line["payload"]["title"] == "from a process");
  bool applied = false;
  for (int attempt = 0; attempt < 500 && !applied; ++attempt) {
    const auto streams = testing::run_to_end({kAtes, "events", "streams", "--data", data});
    const auto body = nlohmann::json::parse(streams.out, nullptr, false);
    if (!body.is_object()) continue;
    for (const auto& stream : body["streams"]) {
      if (stream["name"] == "tracker.tasks" && stream["consumers"].size() == 1) {
        applied = stream["consumers"][0]["applied_seq"] == 1 && stream["head_seq"] == 1;
      }
    }
  }
  BOOST_TEST(applied);
  const auto letters = testing::run_to_end({kAtes, "dead-letters", "list", "--data", data});
  BOOST_TEST(letters.exit_code == 0, letters.err);
  BOOST_TEST(nlohmann::json::parse(letters.out)["dead_letters"].empty());

  // A poisoned event becomes a dead letter; the CLI lists it and re-drives
  // it through the running server once the plugin accepts it.
  BOOST_TEST_REQUIRE(client.post("/api/v1/tracker/events", R"({"title":"poison"})").status == 201);
  nlohmann::json listed;
  for (int attempt = 0; attempt < 500; ++attempt) {
    listed = nlohmann::json::parse(testing::run_to_end({kAtes, "dead-letters", "list", "--data", data}).out,
                                   nullptr, false);
    if (listed.is_object() && listed["dead_letters"].size() == 1) break;
  }
  BOOST_TEST_REQUIRE(listed["dead_letters"].size() == 1u);
  const std::string letter = listed["dead_letters"][0]["id"];
  BOOST_TEST(listed["dead_letters"][0]["seq"] == 2);
  BOOST_TEST(listed["dead_letters"][0]["reason"] == "poison is refused until POST /cure");
  auto redrive = testing::run_to_end({kAtes, "dead-letters", "redrive", letter, "--data", data});
  BOOST_TEST(redrive.exit_code == 1);  // still refused
  BOOST_TEST(client.post("/api/v1/tracker/cure", "{}").status == 200);
  redrive = testing::run_to_end({kAtes, "dead-letters", "redrive", letter, "--data", data});
  BOOST_TEST(redrive.exit_code == 0, redrive.out << redrive.err);
  BOOST_TEST(client.get("/api/v1/tracker/seen").json()["seen"] == 2);
  redrive = testing::run_to_end({kAtes, "dead-letters", "redrive", letter, "--data", data});
  BOOST_TEST(redrive.exit_code == 1);  // once only
  BOOST_TEST(redrive.out.find("re-driven already") != std::string::npos, redrive.out);

  // /metrics is read by Prometheus's own text-format parser.
  const std::string metrics = client.get("/metrics").body;
  const auto parsed =
      testing::run_to_end({"/usr/bin/python3", "-c",
                           "import sys\nfrom prometheus_client.parser import text_string_to_metric_families\n"
                           "names = [f.name for f in text_string_to_metric_families(sys.stdin.read())]\n"
                           "print(' '.join(sorted(names)))"},
                          {}, metrics);
  BOOST_TEST(parsed.exit_code == 0, parsed.err);
  BOOST_TEST(parsed.out.find("ates_http_requests") != std::string::npos, parsed.out);
  BOOST_TEST(parsed.out.find("ates_storage_commit_duration_seconds") != std::string::npos, parsed.out);

  serve.signal(SIGTERM);
  const auto exit = serve.wait();
  BOOST_TEST_REQUIRE(exit.has_value());
  BOOST_TEST(WIFEXITED(*exit));
  BOOST_TEST(WEXITSTATUS(*exit) == 0);
  BOOST_TEST(serve.stderr_text().find("stopped") != std::string::npos);
  // The lock went with it: the data directory is free again.
  const auto after = testing::run_to_end({kAtes, "status", "--data", data});
  BOOST_TEST(after.exit_code == 1);
  BOOST_TEST(after.err.find("no server is running") != std::string::npos);

  // reset-consumer works on a stopped server only, and the consumer starts
  // from where it was put.
  const auto reset = testing::run_to_end(
      {kAtes, "events", "reset-consumer", "tracker", "tracker.tasks", "--to", "2", "--data", data});
  BOOST_TEST(reset.exit_code == 0, reset.err);
  BOOST_TEST(reset.out.find("from sequence 3") != std::string::npos, reset.out);
  Process again({kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0"}, {{"ATES_PLUGIN_DIR", kPlugins}});
  testing::wait_for_listening(again);
  const auto while_running =
      testing::run_to_end({kAtes, "events", "reset-consumer", "tracker", "tracker.tasks", "--data", data});
  BOOST_TEST(while_running.exit_code == 1);
  BOOST_TEST(while_running.err.find("in use by process") != std::string::npos, while_running.err);
  again.signal(SIGTERM);
  BOOST_TEST(again.wait().has_value());
}

// `ates dead-letters redrive` with no server running starts a host of the
// letter's consumer for the command: refused again, the letter stays; once
// the plugin takes it, it is applied and resolved once, and the next server
// does not apply it again.
BOOST_AUTO_TEST_CASE(a_dead_letter_is_redriven_with_no_server_running) {
  TempDir dir;
  const std::string data = (dir / "data").string();
  const std::map<std::string, std::string> plugins{{"ATES_PLUGIN_DIR", kPlugins}};
  const auto list = [&] {
    const auto listed = testing::run_to_end({kAtes, "dead-letters", "list", "--data", data});
    return nlohmann::json::parse(listed.out, nullptr, false);
  };
  {
    Process serve({kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0"}, plugins);
    const testing::HttpClient client(testing::wait_for_listening(serve));
    BOOST_TEST_REQUIRE(client.post("/api/v1/tracker/events", R"({"title":"poison"})").status == 201);
    BOOST_TEST_REQUIRE(testing::wait_until([&] {
      const auto listed = list();
      return listed.is_object() && listed["dead_letters"].size() == 1;
    }));
    serve.signal(SIGTERM);
    BOOST_TEST_REQUIRE(serve.wait().has_value());
  }
  const std::string letter = list()["dead_letters"][0]["id"];

  auto redrive = testing::run_to_end({kAtes, "dead-letters", "redrive", letter, "--data", data}, plugins);
  BOOST_TEST(redrive.exit_code == 1);  // the plugin still refuses it
  BOOST_TEST(redrive.err.find("poison is refused") != std::string::npos, redrive.err);
  BOOST_TEST(list()["dead_letters"][0]["resolved"] == false);

  auto accepting = plugins;
  accepting["ATES_TRACKER_ACCEPT_POISON"] = "true";
  redrive = testing::run_to_end({kAtes, "dead-letters", "redrive", letter, "--data", data}, accepting);
  BOOST_TEST_REQUIRE(redrive.exit_code == 0, redrive.out << redrive.err);
  BOOST_TEST(nlohmann::json::parse(redrive.out)["result"]["resolved"] == true, redrive.out);
  BOOST_TEST(list()["dead_letters"][0]["resolved"] == true);
  redrive = testing::run_to_end({kAtes, "dead-letters", "redrive", letter, "--data", data}, accepting);
  BOOST_TEST(redrive.exit_code == 1);  // once only
  BOOST_TEST(redrive.err.find("re-driven already") != std::string::npos, redrive.err);

  // An id that is not <consumer>-<number> never reaches the plugin loader.
  for (const std::string bad : {"../../tmp/evil-1", "tracker", "tracker-", "-1", "tracker-1x"}) {
    const auto refused =
        testing::run_to_end({kAtes, "dead-letters", "redrive", bad, "--data", data}, plugins);
    BOOST_TEST(refused.exit_code == 1, bad);
    BOOST_TEST(refused.err.find("a dead letter id is <consumer>-<number>") != std::string::npos, refused.err);
  }

  // The next server applies nothing twice: the plugin counted the event once.
  Process again({kAtes, "serve", "--data", data, "--listen", "127.0.0.1:0"}, plugins);
  const testing::HttpClient client(testing::wait_for_listening(again));
  BOOST_TEST(client.get("/api/v1/tracker/seen").json()["seen"] == 1);
  again.signal(SIGTERM);
  BOOST_TEST(again.wait().has_value());
}

// log.format = json: every line on stderr is one JSON object, and a
// request's access line names the request as its X-Request-Id does.
BOOST_AUTO_TEST_CASE(json_logs_are_one_object_per_line_with_the_request_id) {
  TempDir dir;
  Process serve({kAtes, "serve", "--data", (dir / "data").string(), "--listen", "127.0.0.1:0"},
                {{"ATES_PLUGIN_DIR", kPlugins}, {"ATES_LOG_FORMAT", "json"}});
  const testing::HttpClient client(testing::wait_for_listening(serve));
  const auto answered = client.get("/api/v1/tracker/variant");
  BOOST_TEST_REQUIRE(answered.status == 200);
  const std::string request_id = answered.header("x-request-id");
  BOOST_TEST_REQUIRE(!request_id.empty());
  serve.signal(SIGTERM);
  BOOST_TEST_REQUIRE(serve.wait().has_value());

  std::istringstream lines(serve.stderr_text());
  std::size_t count = 0;
  bool access_line = false;
  for (std::string line; std::getline(lines, line);) {
    const auto object = nlohmann::json::parse(line, nullptr, false);
    BOOST_TEST_REQUIRE(object.is_object(), line);
    ++count;
    BOOST_TEST(object.contains("time"));
    BOOST_TEST(object.contains("level"));
    if (object.value("request_id", "") == request_id) {
      access_line = true;
      BOOST_TEST(object["component"] == "tracker");
      BOOST_TEST(object["message"].get<std::string>().find("GET /api/v1/tracker/variant 200") !=
                 std::string::npos);
    }
  }
  BOOST_TEST(count >= 3u);
  BOOST_TEST(access_line, serve.stderr_text());

  const auto refused =
      testing::run_to_end({kAtes, "serve", "--data", (dir / "other").string(), "--listen", "127.0.0.1:0"},
                          {{"ATES_PLUGIN_DIR", kPlugins}, {"ATES_LOG_FORMAT", "xml"}});
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(refused.err.find("log.format: 'xml' is neither text nor json") != std::string::npos,
             refused.err);
}

BOOST_AUTO_TEST_CASE(keys_generate_prints_a_curve_key_pair) {
  const auto keys = testing::run_to_end({kAtes, "keys", "generate"});
  BOOST_TEST(keys.exit_code == 0);
  BOOST_TEST(keys.out.find("curve_public_key = \"") == 0u);
  BOOST_TEST(keys.out.find("curve_secret_key = \"") != std::string::npos);
  BOOST_TEST(keys.out.size() ==
             std::string("curve_public_key = \"\"\ncurve_secret_key = \"\"\n").size() + 80);
}

BOOST_AUTO_TEST_CASE(configuration_errors_stop_start_up_naming_the_key) {
  TempDir dir;
  const std::string data = (dir / "data").string();
  auto run = testing::run_to_end({kAtes, "serve", "--data", data, "--listen", "nowhere"},
                                 {{"ATES_PLUGIN_DIR", kPlugins}});
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.err.find("bad value for 'http.listen' (flag --listen)") != std::string::npos, run.err);
  run = testing::run_to_end({kAtes, "serve", "--data", data},
                            {{"ATES_PLUGIN_DIR", kPlugins}, {"ATES_HTTP_THREADZ", "2"}});
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.err.find("ATES_HTTP_THREADZ") != std::string::npos, run.err);
}

// A [bus] that would trust too much, or not say whom it trusts, stops
// `ates serve` with the key at fault, before anything listens.
BOOST_AUTO_TEST_CASE(a_bus_configuration_that_would_trust_too_much_stops_start_up) {
  TempDir dir;
  auto key_pair = [] {
    const auto run = testing::run_to_end({kAtes, "keys", "generate"});
    BOOST_TEST_REQUIRE(run.exit_code == 0);
    auto value = [&](const std::string& name) {
      const auto start = run.out.find(name + " = \"") + name.size() + 4;
      return run.out.substr(start, run.out.find('"', start) - start);
    };
    return std::pair{value("curve_public_key"), value("curve_secret_key")};
  };
  const auto [key, secret] = key_pair();
  const auto [other, other_secret] = key_pair();
  const std::map<std::string, std::string> keys = {{"ATES_BUS_CURVE_PUBLIC_KEY", key},
                                                   {"ATES_BUS_CURVE_SECRET_KEY", secret}};
  const std::string peer = "publish=tcp://127.0.0.1:1 replay=tcp://127.0.0.1:2 key=" + other;
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      // tcp with no keys (an empty value leaves the key out): never plaintext
      {{{"ATES_BUS_PUBLISH", "tcp://127.0.0.1:0"},
        {"ATES_BUS_REPLAY", "tcp://127.0.0.1:0"},
        {"ATES_BUS_CURVE_PUBLIC_KEY", ""},
        {"ATES_BUS_CURVE_SECRET_KEY", ""}},
       "never plaintext"},
      // a peer in the old form, with no owned streams
      {{{"ATES_BUS_PEERS", "tcp://127.0.0.1:1 " + other}}, "ATES_BUS_PEERS"},
      // a stream with two owners
      {{{"ATES_BUS_PEERS",
         peer + " owns=accounting.transactions," + peer + " owns=accounting.transactions+auth.users"}},
       "two bus peers"},
      // a stream this host's tracker produces, owned by a peer too
      {{{"ATES_BUS_PEERS", peer + " owns=tracker.tasks"}}, "produced here by plugin tracker"},
      // a client granted by a bare key: what may it do?
      {{{"ATES_BUS_CLIENTS", other}}, "ATES_BUS_CLIENTS"},
      // a rotation without its endpoints
      {{{"ATES_BUS_CURVE_NEXT_SECRET_KEY", other_secret}}, "together"},
      // a public key that is not the secret key's
      {{{"ATES_BUS_PUBLISH", "tcp://127.0.0.1:0"}, {"ATES_BUS_CURVE_PUBLIC_KEY", other}},
       "not the public half"},
  };
  int n = 0;
  for (const auto& [settings, expected] : cases) {
    std::map<std::string, std::string> env = keys;
    env["ATES_PLUGIN_DIR"] = kPlugins;
    for (const auto& [name, value] : settings) {
      if (value.empty()) {
        env.erase(name);
      } else {
        env[name] = value;
      }
    }
    const auto run = testing::run_to_end(
        {kAtes, "serve", "--data", (dir / std::to_string(++n)).string(), "--listen", "127.0.0.1:0"}, env);
    BOOST_TEST(run.exit_code == 1, expected << ": " << run.err);
    BOOST_TEST(run.err.find(expected) != std::string::npos, expected << ": " << run.err);
    BOOST_TEST(run.err.find(secret) == std::string::npos, "a secret key in the log: " << run.err);
  }
}

// A data directory others can write to, or a lock file planted as a link,
// stops `ates serve` at once with what to do, before anything is opened.
BOOST_AUTO_TEST_CASE(an_unsafe_data_directory_stops_start_up_saying_what_to_do) {
  TempDir dir;
  const auto data = dir / "data";
  std::filesystem::create_directory(data);
  std::filesystem::permissions(data, std::filesystem::perms::all);  // 0777
  const auto open_to_all = testing::run_to_end(
      {kAtes, "serve", "--data", data.string(), "--listen", "127.0.0.1:0"}, {{"ATES_PLUGIN_DIR", kPlugins}});
  BOOST_TEST(open_to_all.exit_code == 1);
  BOOST_TEST(open_to_all.err.find("is writable by its group or by others (mode 0777)") != std::string::npos,
             open_to_all.err);
  BOOST_TEST(open_to_all.err.find("chmod 700") != std::string::npos, open_to_all.err);
  BOOST_TEST(!std::filesystem::exists(data / "tracker"));

  std::filesystem::permissions(data, std::filesystem::perms::owner_all);
  std::filesystem::create_symlink(dir / "elsewhere", data / "ates.lock");
  const auto planted = testing::run_to_end(
      {kAtes, "serve", "--data", data.string(), "--listen", "127.0.0.1:0"}, {{"ATES_PLUGIN_DIR", kPlugins}});
  BOOST_TEST(planted.exit_code == 1);
  BOOST_TEST(planted.err.find("ates.lock is a symbolic link") != std::string::npos, planted.err);
  BOOST_TEST(!std::filesystem::exists(dir / "elsewhere"));
}

// `ates bench` and `ates lab` run the programs beside `ates`, the way
// `git foo` runs git-foo, with the rest of the arguments.
BOOST_AUTO_TEST_CASE(bench_and_lab_run_the_programs_beside_the_binary) {
  const auto bench = testing::run_to_end({kAtes, "bench", "--help"});
  BOOST_TEST(bench.exit_code == 0, bench.err);
  BOOST_TEST(bench.out.find("ates bench") != std::string::npos, bench.out);
  BOOST_TEST(bench.out.find("startup") != std::string::npos, bench.out);
  const auto lab = testing::run_to_end({kAtes, "lab", "--help"});
  BOOST_TEST(lab.exit_code == 0, lab.err);
  BOOST_TEST(lab.out.find("dead-letter") != std::string::npos, lab.out);

  // A lone `ates`, without its siblings, says which program it lacks.
  testing::TempDir dir;
  const auto lone = dir / "ates";
  std::filesystem::copy_file(kAtes, lone);
  const auto missing = testing::run_to_end({lone.string(), "bench", "storage"});
  BOOST_TEST(missing.exit_code == 127);
  BOOST_TEST(missing.err.find("ates bench: cannot run " + (dir / "ates-bench").string()) != std::string::npos,
             missing.err);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
