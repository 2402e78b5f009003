// The machine-checkable contracts (docs/api.md, "The contract";
// docs/events.md): the OpenAPI document that `ates serve` answers with the
// four plugins is the one committed in docs/openapi.json; a validator ates
// does not write (swagger-parser, tests/contracts/) accepts it; it lists
// exactly the routes docs/api.md lists; and every route of the four
// plugins declares what it answers on success. The AsyncAPI document is the
// same served, printed and committed, and @asyncapi/parser accepts it.
//
// A change to a contract changes the document: regenerate the committed
// one with `UPDATE_CONTRACTS=1 ctest --test-dir build -R contracts_test`.
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "ates/testing/http_client.hpp"
#include "ates/testing/listening.hpp"
#include "ates/testing/process.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates {
namespace {

const std::filesystem::path kSource = ATES_SOURCE_DIR;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "GET /api/v1/tracker/tasks/{}" for "GET /api/v1/tracker/tasks/{id}":
// docs/api.md names some parameters for the reader ({user_id|me}).
std::string operation_key(const std::string& method, const std::string& path) {
  return method + " " + std::regex_replace(path, std::regex(R"(\{[^}]*\})"), "{}");
}

// Every `METHOD /path` docs/api.md names, its query and options cut off.
std::set<std::string> routes_in_api_md() {
  const std::string text = read_file(kSource / "docs" / "api.md");
  const std::regex route(R"(`(GET|POST|PATCH|PUT|DELETE) (/[^` ?\[]*))");
  std::set<std::string> routes;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), route); it != std::sregex_iterator(); ++it) {
    routes.insert(operation_key((*it)[1].str(), (*it)[2].str()));
  }
  return routes;
}

struct Served {
  testing::TempDir dir;
  std::unique_ptr<testing::Process> serve;
  std::unique_ptr<testing::HttpClient> client;

  explicit Served(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{ATES_BINARY, "serve",      "--data", (dir / "data").string(),
                                  "--listen",  "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    serve = std::make_unique<testing::Process>(
        argv, std::map<std::string, std::string>{{"ATES_AUTH_FIRST_ADMIN", "false"}});
    client = std::make_unique<testing::HttpClient>(testing::wait_for_listening(*serve));
  }
  ~Served() {
    serve->signal(SIGTERM);
    (void)serve->wait();
  }
  nlohmann::json get(const std::string& path) const {
    const auto answer = client->get(path);
    BOOST_TEST_REQUIRE(answer.status == 200, path << ": " << answer.body);
    return answer.json();
  }
};

BOOST_AUTO_TEST_SUITE(contracts)

BOOST_AUTO_TEST_CASE(the_openapi_document_is_committed_valid_and_complete) {
  const Served served;
  const nlohmann::json document = served.get("/api/v1/openapi.json");
  const std::string text = document.dump(2) + "\n";

  // What the code serves is what docs/ holds.
  const auto committed = kSource / "docs" / "openapi.json";
  if (std::getenv("UPDATE_CONTRACTS") != nullptr) std::ofstream(committed) << text;
  BOOST_TEST((read_file(committed) == text),
             "docs/openapi.json differs from what the server serves: regenerate it with "
             "UPDATE_CONTRACTS=1 ctest --test-dir build -R contracts_test");

  // A validator that is not ours accepts it.
  const auto file = served.dir / "openapi.json";
  std::ofstream(file) << text;
  const auto validated = testing::run_to_end(
      {ATES_NODE, (kSource / "tests" / "contracts" / "validate-openapi.mjs").string(), file});
  BOOST_TEST_MESSAGE(validated.out);
  BOOST_TEST(validated.exit_code == 0, validated.out << validated.err);

  // Exactly the routes docs/api.md names, besides the development routes
  // that only --fake-clock serves.
  std::set<std::string> documented;
  for (const auto& [path, item] : document["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(operation_key(upper, path));
      // The host and the four plugins declare every route's contract, so
      // the host checks what each takes and the document says it.
      BOOST_TEST(!operation.value("x-undeclared", false), upper << " " << path << " declares no contract");
      // Every route says what it answers on success, with a schema.
      bool success = false;
      for (const auto& [status, response] : operation["responses"].items()) {
        if (status.starts_with("2")) success = success || status == "204" || response.contains("content");
      }
      BOOST_TEST(success, upper << " " << path << " documents no successful answer");
    }
  }
  std::set<std::string> in_api_md = routes_in_api_md();
  std::erase_if(in_api_md,
                [](const std::string& key) { return key.find(" /api/v1/dev/") != std::string::npos; });
  for (const auto& key : documented) BOOST_TEST(in_api_md.contains(key), key << " is not in docs/api.md");
  for (const auto& key : in_api_md)
    BOOST_TEST(documented.contains(key), key << " is in docs/api.md, not served");
}

BOOST_AUTO_TEST_CASE(the_asyncapi_document_is_committed_valid_and_the_same_everywhere) {
  const Served served;
  const std::string text = served.get("/api/v1/asyncapi.json").dump(2) + "\n";
  const auto printed = testing::run_to_end({ATES_BINARY, "events", "catalog", "--format", "asyncapi"});
  BOOST_TEST(printed.exit_code == 0, printed.err);
  BOOST_TEST((printed.out == text),
             "ates events catalog --format asyncapi differs from /api/v1/asyncapi.json");

  const auto committed = kSource / "docs" / "asyncapi.json";
  if (std::getenv("UPDATE_CONTRACTS") != nullptr) std::ofstream(committed) << text;
  BOOST_TEST((read_file(committed) == text),
             "docs/asyncapi.json differs from the registry: regenerate it with "
             "UPDATE_CONTRACTS=1 ctest --test-dir build -R contracts_test");

  const auto file = served.dir / "asyncapi.json";
  std::ofstream(file) << text;
  const auto validated = testing::run_to_end(
      {ATES_NODE, (kSource / "tests" / "contracts" / "validate-asyncapi.mjs").string(), file});
  BOOST_TEST_MESSAGE(validated.out);
  BOOST_TEST(validated.exit_code == 0, validated.out << validated.err);

  // One event's schema, printed alone, is the payload of its message.
  const auto schema = testing::run_to_end({ATES_BINARY, "events", "schema", "TaskCreated", "2"});
  BOOST_TEST_REQUIRE(schema.exit_code == 0, schema.err);
  nlohmann::json alone = nlohmann::json::parse(schema.out);
  BOOST_TEST(alone["$schema"] == "http://json-schema.org/draft-07/schema#");
  alone.erase("$schema");
  BOOST_TEST(alone == nlohmann::json::parse(text)["components"]["messages"]["TaskCreated.v2"]["payload"]);
  const auto unknown = testing::run_to_end({ATES_BINARY, "events", "schema", "TaskCreated", "99"});
  BOOST_TEST(unknown.exit_code == 1);
  BOOST_TEST(unknown.err.find("no event TaskCreated v99") != std::string::npos, unknown.err);
}

BOOST_AUTO_TEST_CASE(the_development_routes_are_documented_only_where_they_are_served) {
  const Served served({"--fake-clock", "2026-03-03T09:00:00Z"});
  const nlohmann::json document = served.get("/api/v1/openapi.json");
  BOOST_TEST(document["paths"].contains("/api/v1/dev/clock"));
  BOOST_TEST(document["paths"].contains("/api/v1/dev/hold"));
  BOOST_TEST(!nlohmann::json::parse(read_file(kSource / "docs" / "openapi.json"))["paths"].contains(
      "/api/v1/dev/clock"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
