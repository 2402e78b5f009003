#include "plugin_manager.hpp"

#include <future>

#include <boost/test/unit_test.hpp>

#include "ates/testing/temp_dir.hpp"

namespace ates::server {
namespace {

using namespace std::chrono_literals;
using base::Code;
using plugin_api::Method;

const std::filesystem::path kPlugins = ATES_TEST_PLUGINS_DIR;

// A manager with what the host gives each slot: storage, a context, and a
// bus of this process alone.
struct Plugins {
  testing::TempDir dir;
  base::ManualClock clock{std::int64_t{1772528400} * 1'000'000};
  MetricsRegistry metrics;
  RouteTable routes;
  InflightWork inflight;
  Settings settings;
  PluginLoader loader{dir / "copies"};
  std::unique_ptr<bus::Bus> bus;
  PluginManager manager{loader, routes, inflight};

  Plugins() {
    auto started = bus::Bus::start({});
    BOOST_TEST_REQUIRE(started.has_value(), started.status().to_string());
    bus = std::move(started).value();
    manager.set_bus(bus.get());
  }
  ~Plugins() {
    manager.stop_all();
    manager.set_bus(nullptr);
    bus.reset();
    manager.close_all();
  }

  void add(const std::string& name, const std::filesystem::path& file) {
    auto slot = manager.add(name, file);
    BOOST_TEST_REQUIRE(slot.has_value(), slot.status().to_string());
    auto env =
        storage::Environment::open({.dir = dir / name, .producer = name, .map_size = std::size_t{1} << 26});
    BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
    (*slot)->env = std::move(env).value();
    (*slot)->context = std::make_unique<PluginContext>(name, *(*slot)->env,
                                                       ContextServices{.routes = routes,
                                                                       .settings = settings,
                                                                       .clock = clock,
                                                                       .metrics = metrics,
                                                                       .bus = bus.get(),
                                                                       .data_dir = dir.path()});
    bus->add_producer(*(*slot)->env);
  }
  std::string state(std::size_t i) const { return manager.status()[i]["state"]; }
  RouteMatch::Kind route(const std::string& path) { return routes.match(Method::kGet, path).kind; }
};

BOOST_AUTO_TEST_SUITE(plugin_manager)

// The file name gives the name, and the name becomes <data>/<name>/: a file
// named libates_plugin_..so must not make the data directory's parent a
// plugin's environment.
BOOST_AUTO_TEST_CASE(a_file_whose_name_is_no_plugin_name_is_refused_before_loading) {
  Plugins p;
  for (const char* name : {"..", ".", "a/b", "Tracker"}) {
    auto added = p.manager.add(name, kPlugins / "variant_a" / "libates_plugin_tracker.so");
    BOOST_TEST_REQUIRE(!added.has_value());
    BOOST_TEST(added.status().message().find("is not a plugin name") != std::string::npos,
               added.status().message());
  }
  BOOST_TEST(p.manager.status().empty());
}

BOOST_AUTO_TEST_CASE(a_plugin_stops_and_starts_again_with_its_routes) {
  Plugins p;
  p.add("tracker", kPlugins / "variant_a" / plugin_file_name("tracker"));
  BOOST_TEST(p.state(0) == "loaded");
  p.manager.start_all();
  BOOST_TEST(p.state(0) == "running");
  BOOST_TEST(p.manager.all_running());
  BOOST_TEST((p.route("/api/v1/tracker/variant") == RouteMatch::Kind::kFound));

  BOOST_TEST(p.manager.stop_plugin("tracker").is_ok());
  BOOST_TEST(p.state(0) == "stopped");
  BOOST_TEST((p.route("/api/v1/tracker/variant") == RouteMatch::Kind::kReloading));  // 503, not 404
  BOOST_TEST((p.manager.stop_plugin("tracker").code() == Code::kConflict));
  BOOST_TEST((p.manager.reload("tracker").code() == Code::kConflict));  // a reload does not start it
  BOOST_TEST((p.manager.run_command("tracker", "anything", {}).status().code() == Code::kNotFound));

  BOOST_TEST(p.manager.start_plugin("tracker").is_ok());
  BOOST_TEST(p.state(0) == "running");
  BOOST_TEST((p.route("/api/v1/tracker/variant") == RouteMatch::Kind::kFound));
  BOOST_TEST((p.manager.start_plugin("tracker").code() == Code::kConflict));
  BOOST_TEST(p.manager.reload("tracker").is_ok());
  BOOST_TEST(p.state(0) == "running");
  BOOST_TEST((p.manager.reload("nobody").code() == Code::kNotFound));
}

BOOST_AUTO_TEST_CASE(a_plugin_whose_start_throws_is_failed_and_leaves_no_route) {
  Plugins p;
  p.add("tracker", kPlugins / "variant_a" / plugin_file_name("tracker"));
  p.add("thrower", kPlugins / "thrower" / plugin_file_name("thrower"));
  p.manager.start_all();
  BOOST_TEST(p.state(0) == "running");  // the others start anyway
  BOOST_TEST(p.state(1) == "failed");
  BOOST_TEST(p.manager.status()[1]["error"].get<std::string>().find("boom") != std::string::npos);
  BOOST_TEST(!p.manager.all_running());
  BOOST_TEST((p.route("/api/v1/thrower/ping") == RouteMatch::Kind::kNotFound));
  BOOST_TEST(p.manager.environments().size() == 2u);  // its storage stays, for its dead letters
}

BOOST_AUTO_TEST_CASE(a_stop_waits_for_the_plugins_work_in_flight) {
  Plugins p;
  p.add("tracker", kPlugins / "variant_a" / plugin_file_name("tracker"));
  p.manager.start_all();
  p.inflight.begin("tracker");
  auto stopping = std::async(std::launch::async, [&] { return p.manager.stop_plugin("tracker"); });
  BOOST_TEST((stopping.wait_for(200ms) == std::future_status::timeout));
  p.inflight.end("tracker");
  BOOST_TEST(stopping.get().is_ok());
  BOOST_TEST(p.state(0) == "stopped");
}

BOOST_AUTO_TEST_CASE(a_file_that_names_another_plugin_is_refused) {
  Plugins p;
  auto slot = p.manager.add("auth", kPlugins / "variant_a" / plugin_file_name("tracker"));
  BOOST_TEST_REQUIRE(!slot.has_value());
  BOOST_TEST(slot.status().message().find("names itself 'tracker'") != std::string::npos);
  BOOST_TEST(p.manager.status().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
