#include "router.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::server {
namespace {

using plugin_api::Method;

plugin_api::Route route(Method method, std::string name) {
  return {method, "", plugin_api::Access::anyone(),
          [name](plugin_api::Request, plugin_api::Responder respond) {
            respond(plugin_api::Response::json(200, {{"route", name}}));
          },
          name};
}

std::string which(const RouteMatch& match) {
  std::string out;
  match.handler({}, [&](plugin_api::Response r) { out = nlohmann::json::parse(r.body)["route"]; });
  return out;
}

BOOST_AUTO_TEST_SUITE(router)

BOOST_AUTO_TEST_CASE(literal_segments_win_and_parameters_are_captured) {
  RouteTable table;
  BOOST_TEST(table.add("tracker", "/api/v1/tracker/tasks/{id}", route(Method::kGet, "one")));
  BOOST_TEST(table.add("tracker", "/api/v1/tracker/tasks/mine", route(Method::kGet, "mine")));
  BOOST_TEST(table.add("tracker", "/api/v1/tracker/tasks/{id}/complete", route(Method::kPost, "complete")));
  BOOST_TEST(!table.add("tracker", "/api/v1/tracker/tasks/mine", route(Method::kGet, "again")));

  const auto mine = table.match(Method::kGet, "/api/v1/tracker/tasks/mine");
  BOOST_TEST_REQUIRE((mine.kind == RouteMatch::Kind::kFound));
  BOOST_TEST(which(mine) == "mine");
  const auto one = table.match(Method::kGet, "/api/v1/tracker/tasks/42");
  BOOST_TEST(which(one) == "one");
  BOOST_TEST(one.params.at("id") == "42");
  BOOST_TEST(one.pattern == "/api/v1/tracker/tasks/{id}");
  BOOST_TEST((table.match(Method::kGet, "/api/v1/tracker/tasks/42/complete").kind ==
              RouteMatch::Kind::kMethodNotAllowed));
  BOOST_TEST((table.match(Method::kGet, "/api/v1/tracker/nothing").kind == RouteMatch::Kind::kNotFound));
}

BOOST_AUTO_TEST_CASE(a_reloading_plugin_answers_as_reloading_and_its_routes_can_go) {
  RouteTable table;
  table.add("tracker", "/api/v1/tracker/tasks", route(Method::kGet, "list"));
  table.add("accounting", "/api/v1/accounting/days", route(Method::kGet, "days"));
  table.set_reloading("tracker", true);
  table.remove_owner("tracker");
  BOOST_TEST((table.match(Method::kGet, "/api/v1/tracker/tasks").kind == RouteMatch::Kind::kReloading));
  BOOST_TEST((table.match(Method::kGet, "/api/v1/trackerx").kind == RouteMatch::Kind::kNotFound));
  BOOST_TEST((table.match(Method::kGet, "/api/v1/accounting/days").kind == RouteMatch::Kind::kFound));
  table.set_reloading("tracker", false);
  BOOST_TEST((table.match(Method::kGet, "/api/v1/tracker/tasks").kind == RouteMatch::Kind::kNotFound));
  BOOST_TEST(table.list().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
