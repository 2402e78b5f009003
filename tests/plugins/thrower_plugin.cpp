// A test plugin whose start() throws after registering a route: the host
// must contain the exception, take the route away, unload the plugin and go
// on serving the others.
#include "ates/plugin_api/plugin.hpp"

namespace {

using namespace ates;

class ThrowerPlugin final : public plugin_api::Plugin {
 public:
  explicit ThrowerPlugin(plugin_api::HostContext& host) : host_(host) {}
  base::Status start() override {
    host_.add_route({plugin_api::Method::kGet, "/ping", plugin_api::Access::anyone(),
                     [](plugin_api::Request, plugin_api::Responder respond) {
                       respond(plugin_api::Response::json(200, {{"pong", true}}));
                     },
                     "never reachable"});
    throw std::runtime_error("boom at start");
  }
  void stop() override {}

 private:
  plugin_api::HostContext& host_;
};

}  // namespace

ATES_DEFINE_PLUGIN("thrower", ThrowerPlugin, nullptr, 0)
