#include "admin_routes.hpp"

#include <future>

#include <boost/test/unit_test.hpp>

#include "ates/protocol/events.hpp"
#include "ates/protocol/time.hpp"
#include "ates/testing/temp_dir.hpp"

#include "openapi.hpp"
#include "request_contract.hpp"

namespace ates::server {
namespace {

using plugin_api::Method;

constexpr std::int64_t kStart = std::int64_t{1772528400} * 1'000'000;  // 2026-03-03T09:00:00Z

// The dev routes over a manual clock and a bus of this process alone.
struct DevRoutes {
  RouteTable routes;
  base::ManualClock clock{kStart};
  std::unique_ptr<bus::Bus> bus;
  testing::TempDir dir;
  std::unique_ptr<storage::Environment> env;
  std::unique_ptr<plugin_api::Idempotency> idempotency;

  DevRoutes() {
    auto started = bus::Bus::start({});
    BOOST_TEST_REQUIRE(started.has_value(), started.status().to_string());
    bus = std::move(started).value();
    auto opened = storage::Environment::open(
        {.dir = dir / "host", .producer = "host", .map_size = std::size_t{1} << 26});
    BOOST_TEST_REQUIRE(opened.has_value());
    env = std::move(opened).value();
    idempotency = std::make_unique<plugin_api::Idempotency>(*env);
    add_dev_routes(routes, clock, *bus, {*env, *idempotency});
  }

  // Checks the request against the route's contract and calls its
  // handler, as the host would.
  plugin_api::Response post(const std::string& path, std::string body,
                            std::map<std::string, std::string> headers = {}) {
    RouteMatch match = routes.match(Method::kPost, path);
    BOOST_TEST_REQUIRE((match.kind == RouteMatch::Kind::kFound));
    plugin_api::Request request;
    request.method = Method::kPost;
    request.path = path;
    request.body = std::move(body);
    request.headers = std::move(headers);
    request.principal = plugin_api::Principal{.user_id = "admin-1", .role = plugin_api::Role::kAdmin};
    BOOST_TEST_REQUIRE(match.contract != nullptr);
    if (auto refused = check_request(*match.contract, request)) return *refused;
    // The handler answers from the environment's writer thread.
    std::promise<plugin_api::Response> answer;
    match.handler(std::move(request),
                  [&](plugin_api::Response response) { answer.set_value(std::move(response)); });
    auto future = answer.get_future();
    BOOST_TEST_REQUIRE((future.wait_for(std::chrono::seconds(10)) == std::future_status::ready));
    return future.get();
  }
};

BOOST_AUTO_TEST_SUITE(admin_routes)

BOOST_AUTO_TEST_CASE(the_dev_clock_advances_by_whole_seconds) {
  DevRoutes dev;
  const auto answer = dev.post("/api/v1/dev/clock", R"({"advance_seconds": 90})");
  BOOST_TEST(answer.status == 200);
  BOOST_TEST(dev.clock.now_us() == kStart + 90'000'000);
  BOOST_TEST(nlohmann::json::parse(answer.body)["now"] == protocol::format_utc(kStart + 90'000'000));
  // Retried with its Idempotency-Key, the clock moves once and the retry
  // gets the first answer; the key with another body is refused.
  const std::map<std::string, std::string> key{{"idempotency-key", "tick-1"}};
  const auto first = dev.post("/api/v1/dev/clock", R"({"advance_seconds": 60})", key);
  const auto retry = dev.post("/api/v1/dev/clock", R"({"advance_seconds": 60})", key);
  BOOST_TEST(first.status == 200);
  BOOST_TEST(retry.body == first.body);
  BOOST_TEST(dev.clock.now_us() == kStart + 150'000'000);
  BOOST_TEST(dev.post("/api/v1/dev/clock", R"({"advance_seconds": 61})", key).status == 409);
  BOOST_TEST(dev.clock.now_us() == kStart + 150'000'000);
}

BOOST_AUTO_TEST_CASE(the_dev_clock_refuses_what_is_not_a_forward_step_it_can_take) {
  DevRoutes dev;
  for (const std::string body :
       {R"({"advance_seconds": -1})", R"({"advance_seconds": 1.5})", R"({"advance_seconds": "60"})",
        R"({"advance_seconds": 18446744073709551615})", R"({"advance_seconds": 9223372036854775807})",
        R"({"advance_seconds": 300000000000})", R"({})", R"([])", "not json"}) {
    BOOST_TEST(dev.post("/api/v1/dev/clock", body).status == 400, body);
  }
  BOOST_TEST(dev.clock.now_us() == kStart);
  // Up to the last second it holds, and not one past it.
  const std::int64_t room = (kLatestBusinessTimeUs - kStart) / 1'000'000;
  BOOST_TEST(
      dev.post("/api/v1/dev/clock", R"({"advance_seconds": )" + std::to_string(room + 1) + "}").status ==
      400);
  BOOST_TEST(dev.post("/api/v1/dev/clock", R"({"advance_seconds": )" + std::to_string(room) + "}").status ==
             200);
  BOOST_TEST(dev.post("/api/v1/dev/clock", R"({"advance_seconds": 1})").status == 400);
}

BOOST_AUTO_TEST_CASE(the_dev_hold_names_the_field_it_refuses) {
  DevRoutes dev;
  const auto no_stream = dev.post("/api/v1/dev/hold", R"({"held": true})");
  BOOST_TEST(no_stream.status == 400);
  BOOST_TEST(no_stream.body.find("stream") != std::string::npos);
  const auto bad_held = dev.post("/api/v1/dev/hold", R"({"stream": "tracker.tasks", "held": "yes"})");
  BOOST_TEST(bad_held.status == 400);
  BOOST_TEST(bad_held.body.find("held") != std::string::npos);
  // A stream this process does not produce cannot be held here.
  BOOST_TEST(dev.post("/api/v1/dev/hold", R"({"stream": "tracker.tasks", "held": true})").status >= 400);
}

BOOST_AUTO_TEST_CASE(the_events_admin_lists_streams_and_dead_letters_of_every_environment) {
  testing::TempDir dir;
  auto env = storage::Environment::open(
      {.dir = dir / "env", .producer = "tracker", .map_size = std::size_t{1} << 26});
  BOOST_TEST_REQUIRE(env.has_value());
  BOOST_TEST_REQUIRE((*env)->declare_stream(protocol::kTasksStream).is_ok());
  auto bus = bus::Bus::start({});
  BOOST_TEST_REQUIRE(bus.has_value());
  (*bus)->add_producer(**env);
  InflightWork inflight;
  int asked = 0;
  EventsAdmin admin(**bus, inflight, [&] {
    ++asked;
    return ConsumerEnvironments{{"tracker", env->get()}};
  });
  const auto streams = admin.streams()["streams"];
  BOOST_TEST_REQUIRE(streams.size() == 1u);
  BOOST_TEST(streams[0]["name"] == "tracker.tasks");
  BOOST_TEST(streams[0]["producer"] == "tracker");
  BOOST_TEST(streams[0]["head_seq"] == 0);
  BOOST_TEST(admin.dead_letters()["dead_letters"].empty());
  BOOST_TEST(asked == 1);
  // A page: none yet, and no next. A cursor must be a dead letter's id.
  const auto page = admin.dead_letters(plugin_api::Page{.limit = 2, .after = "tracker-7"});
  BOOST_TEST_REQUIRE(page.has_value());
  BOOST_TEST((*page)["dead_letters"].empty());
  BOOST_TEST((*page)["next"].is_null());
  for (const char* cursor :
       {"tracker", "-1", "tracker-", "tracker-x", "tracker-18446744073709551617", "tracker-+1"}) {
    BOOST_TEST((admin.dead_letters(plugin_api::Page{.limit = 2, .after = cursor}).status().code() ==
                base::Code::kInvalidArgument),
               cursor);
  }
  BOOST_TEST(!admin.redrive("tracker-1").has_value());  // no such dead letter
  // Ids a hostile admin client could send: refused as ids, never read as
  // another letter's number (2^64 + 1 would wrap around to 1).
  for (const char* id :
       {"tracker-18446744073709551617", "tracker-", "tracker-+1", "tracker- 1", "tracker-1x", ""}) {
    BOOST_TEST((admin.redrive(id).status().code() == base::Code::kInvalidArgument), id);
  }
  BOOST_TEST(inflight.wait_idle("tracker", std::chrono::milliseconds(0)));
}

BOOST_AUTO_TEST_CASE(openapi_lists_every_route_with_its_roles) {
  RouteTable routes;
  routes.add(
      "tracker", "/api/v1/tracker/tasks",
      {Method::kGet, "", plugin_api::Access::only({plugin_api::Role::kManager}), nullptr, "list tasks"});
  routes.add("auth", "/api/v1/auth/login",
             {Method::kPost, "", plugin_api::Access::anyone(), nullptr, "log in"});
  const auto document = openapi_document(routes.list());
  const auto& tasks = document["paths"]["/api/v1/tracker/tasks"]["get"];
  BOOST_TEST(tasks["summary"] == "list tasks");
  BOOST_TEST(tasks["x-roles"] == nlohmann::json::array({"manager"}));
  BOOST_TEST(tasks["security"].size() == 1u);
  const auto& login = document["paths"]["/api/v1/auth/login"]["post"];
  BOOST_TEST(!login.contains("security"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
