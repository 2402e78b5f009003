// The plugin SDK from outside the tree, as a plugin author meets it
// (docs/plugins.md): `cmake --install` puts the SDK under a prefix; the
// kudos example, copied out of the tree, configures against it with
// find_package(ates) and builds; `ates serve --dev --plugin-dir` loads it
// beside the built-in plugins; it counts completions from tracker.tasks;
// an edit and a rebuild are hot-reloaded with no kudo lost or doubled; and
// `ates plugin stop` unloads it.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "ates/plugin_api/build_id.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/whole_system.hpp"

namespace ates {
namespace {

using namespace whole_system;

const std::filesystem::path kBuildDir = ATES_BUILD_DIR;
const std::filesystem::path kExample = ATES_SOURCE_DIR "/plugins/examples/kudos";

// Runs a build step; its output is shown when it fails.
void run_step(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) line += arg + " ";
  BOOST_TEST_MESSAGE("$ " << line);
  const auto step = testing::run_to_end(argv);
  BOOST_TEST_REQUIRE(step.exit_code == 0, line << "\n" << step.out << step.err);
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void replace_in_file(const std::filesystem::path& file, const std::string& from, const std::string& to) {
  std::string text = read_file(file);
  const auto at = text.find(from);
  BOOST_TEST_REQUIRE(at != std::string::npos, "'" << from << "' is not in " << file);
  text.replace(at, from.size(), to);
  std::ofstream(file) << text;
}

// user id -> kudos, and the board's title.
struct Board {
  std::string title;
  std::map<std::string, std::uint64_t> kudos;
  std::uint64_t total = 0;
};

std::optional<Board> board(const HttpClient& client, const Headers& as) {
  const auto r = client.get("/api/v1/kudos/board", as);
  if (r.status != 200) return std::nullopt;
  const nlohmann::json body = r.json();
  Board b;
  b.title = body["title"];
  for (const auto& row : body["board"]) {
    b.kudos[row["user_id"].get<std::string>()] = row["kudos"].get<std::uint64_t>();
    b.total += row["kudos"].get<std::uint64_t>();
  }
  return b;
}

// Creates `n` tasks as boss and completes each as its assignee; returns
// the completions per assignee.
std::map<std::string, std::uint64_t> complete_tasks(const HttpClient& client, const Logins& logins, int n) {
  std::map<std::string, std::uint64_t> done;
  for (int i = 0; i < n; ++i) {
    const auto created =
        client.post("/api/v1/tracker/tasks", nlohmann::json{{"title", "kudos " + std::to_string(i)}}.dump(),
                    logins.as.at("boss"));
    BOOST_TEST_REQUIRE(created.status == 201, created.body);
    const std::string task = created.json()["task"]["id"];
    const std::string assignee = created.json()["task"]["assignee_id"];
    const auto completed = client.post("/api/v1/tracker/tasks/" + task + "/complete", "",
                                       logins.as.at(logins.name_of.at(assignee)));
    BOOST_TEST_REQUIRE(completed.status == 200, completed.body);
    ++done[assignee];
  }
  return done;
}

BOOST_AUTO_TEST_SUITE(sdk)

BOOST_AUTO_TEST_CASE(an_out_of_tree_plugin_builds_against_the_installed_sdk_and_hot_reloads_losing_nothing) {
  testing::TempDir dir;
  const auto sdk = dir / "sdk";
  const auto source = dir / "kudos";
  const auto build = dir / "kudos-build";
  run_step({ATES_CMAKE, "--install", kBuildDir.string(), "--prefix", sdk.string(), "--component", "sdk"});
  BOOST_TEST(std::filesystem::exists(sdk / "include/ates/plugin_api/build_id.hpp"));
  BOOST_TEST(!std::filesystem::exists(sdk / "include/ates/bus"));  // plugins see only the plugin API
  // The package tells a plugin's build which API and headers it has.
  const std::string config = read_file(sdk / "lib/cmake/ates/atesConfig.cmake");
  BOOST_TEST(config.find("set(ATES_PLUGIN_API_BUILD_ID \"" + std::string(plugin_api::kBuildId) + "\")") !=
                 std::string::npos,
             config);
  std::filesystem::copy(kExample, source, std::filesystem::copy_options::recursive);
  run_step({ATES_CMAKE, "-S", source.string(), "-B", build.string(), "-G", "Ninja",
            "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_CXX_COMPILER=" ATES_CXX_COMPILER,
            "-DCMAKE_PREFIX_PATH=" + sdk.string()});
  run_step({ATES_CMAKE, "--build", build.string()});
  const auto plugin = build / "plugins" / "libates_plugin_kudos.so";
  BOOST_TEST_REQUIRE(std::filesystem::exists(plugin));

  const std::string data = (dir / "data").string();
  const auto env = test_environment();
  add_users(data, env);
  Serve serve(data, "auth,tracker,kudos", env,
              {"--dev", "--plugin-dir", ATES_BUILTIN_PLUGINS, "--plugin-dir", plugin.parent_path().string()});
  const HttpClient client = serve.client();
  const Logins logins(client);
  const Headers& boss = logins.as.at("boss");
  require_converged({&client}, boss);  // the tracker knows the workers

  auto expected = complete_tasks(client, logins, 6);
  const auto counted = [&](const std::string& title) {
    return testing::wait_until(
        [&] {
          const auto b = board(client, logins.as.at("wk1"));
          return b && b->title == title && b->kudos == expected;
        },
        std::chrono::seconds(30));
  };
  BOOST_TEST_REQUIRE(counted("Kudos for completed tasks"),
                     board(client, boss).value_or(Board{}).total << " kudos");

  // An edit and a rebuild: --dev loads the new code, the kudos stay.
  replace_in_file(source / "kudos_plugin.cpp", "\"Kudos for completed tasks\"", "\"Kudos, rebuilt\"");
  run_step({ATES_CMAKE, "--build", build.string()});
  BOOST_TEST_REQUIRE(counted("Kudos, rebuilt"), "the rebuilt plugin did not come to serve the same kudos");
  BOOST_TEST(serve.process().stderr_text().find("plugin kudos: reloading") != std::string::npos);

  // The reloaded plugin goes on from where it was: later completions count
  // once each, and none of the earlier ones a second time.
  for (const auto& [user, n] : complete_tasks(client, logins, 4)) expected[user] += n;
  BOOST_TEST_REQUIRE(counted("Kudos, rebuilt"),
                     board(client, boss).value_or(Board{}).total << " kudos, expected 10");

  // Unloaded: its route answers 503 and its library left the process.
  run_step({kAtes, "plugin", "stop", "kudos", "--data", data});
  BOOST_TEST(client.get("/api/v1/kudos/board", boss).status == 503);
  const auto status = nlohmann::json::parse(testing::run_to_end({kAtes, "status", "--data", data}).out);
  const auto kudos = std::find_if(status["plugins"].begin(), status["plugins"].end(),
                                  [](const nlohmann::json& p) { return p["name"] == "kudos"; });
  BOOST_TEST_REQUIRE((kudos != status["plugins"].end()), status.dump());
  BOOST_TEST((*kudos)["state"] == "stopped");
  for (const auto& loaded : std::filesystem::directory_iterator(dir / "data" / "host" / "loaded-plugins")) {
    BOOST_TEST(loaded.path().filename().string().find("kudos") == std::string::npos, loaded.path());
  }
  serve.stop();
  BOOST_TEST(serve.process().stderr_text().find("stayed loaded") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
