#include "admin_routes.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "ates/protocol/registry.hpp"
#include "ates/protocol/time.hpp"

namespace ates::server {

using base::Status;
using plugin_api::Method;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;

namespace {

// The plugin whose consumer a dead letter belongs to: its id is
// "<consumer>-<number>".
std::string consumer_of(std::string_view dead_letter_id) {
  return std::string(dead_letter_id.substr(0, dead_letter_id.rfind('-')));
}

}  // namespace

nlohmann::json dead_letter_json(const bus::DeadLetter& letter) {
  return {{"id", letter.id},
          {"stream", letter.stream},
          {"seq", letter.seq},
          {"consumer", letter.consumer},
          {"reason", letter.reason},
          {"time", protocol::format_utc(letter.time_us)},
          {"resolved", letter.resolved}};
}

nlohmann::json EventsAdmin::streams() const {
  std::map<std::string, nlohmann::json> streams;
  auto entry = [&](const std::string& name) -> nlohmann::json& {
    auto it = streams.find(name);
    if (it == streams.end()) {
      const auto* spec = protocol::Registry::instance().find_stream(name);
      it = streams
               .emplace(name, nlohmann::json{{"name", name},
                                             {"producer", spec ? std::string(spec->producer) : std::string()},
                                             {"head_seq", nullptr},
                                             {"watermark", nullptr},
                                             {"consumers", nlohmann::json::array()}})
               .first;
    }
    return it->second;
  };
  for (const auto& head : bus_.local_streams()) {
    auto& stream = entry(head.stream);
    stream["head_seq"] = head.head_seq;
    stream["watermark"] = protocol::format_utc(head.watermark);
    stream["epoch"] = head.epoch;
  }
  for (const auto& consumer : bus_.consumers()) {
    auto& stream = entry(consumer.stream);
    if (stream["head_seq"].is_null()) stream["head_seq"] = consumer.head_seq;  // as last heard
    nlohmann::json item = {{"plugin", consumer.consumer},
                           {"applied_seq", consumer.applied_seq},
                           {"lag", consumer.lag()},
                           {"state", std::string(bus::to_string(consumer.state))}};
    if (!consumer.error.empty()) item["error"] = consumer.error;
    if (!consumer.suspect.empty()) item["suspect"] = consumer.suspect;
    stream["consumers"].push_back(std::move(item));
  }
  nlohmann::json list = nlohmann::json::array();
  for (auto& [name, stream] : streams) list.push_back(std::move(stream));
  return {{"streams", std::move(list)}};
}

nlohmann::json EventsAdmin::dead_letters() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [consumer, env] : environments_()) {
    for (const auto& letter : bus::dead_letters(*env, consumer)) list.push_back(dead_letter_json(letter));
  }
  return {{"dead_letters", std::move(list)}};
}

base::Result<bus::DeadLetter> EventsAdmin::redrive(std::string_view id) {
  InflightWork::Scope running(inflight_, consumer_of(id));
  return bus_.redrive(id);
}

void add_events_routes(RouteTable& routes, EventsAdmin& admin) {
  const auto admin_only = plugin_api::Access::only({plugin_api::Role::kAdmin});
  routes.add("host", "/api/v1/events/streams",
             {Method::kGet, "", admin_only,
              [&admin](Request, Responder respond) { respond(Response::json(200, admin.streams())); },
              "streams with head, watermark and each consumer's applied sequence, lag and state"});
  routes.add("host", "/api/v1/events/dead-letters",
             {Method::kGet, "", admin_only,
              [&admin](Request, Responder respond) { respond(Response::json(200, admin.dead_letters())); },
              "dead letters of every consumer"});
  routes.add("host", "/api/v1/events/dead-letters/{id}/redrive",
             {Method::kPost, "", admin_only,
              [&admin](Request request, Responder respond) {
                const auto redriven = admin.redrive(request.path_params["id"]);
                if (!redriven) return respond(Response::from_status(redriven.status()));
                respond(Response::json(200, {{"dead_letter", dead_letter_json(*redriven)}}));
              },
              "apply a dead letter again, once"});
}

void add_dev_routes(RouteTable& routes, base::ManualClock& clock, bus::Bus& bus) {
  const auto admin_only = plugin_api::Access::only({plugin_api::Role::kAdmin});
  routes.add(
      "host", "/api/v1/dev/clock",
      {Method::kPost, "", admin_only,
       [&clock](Request request, Responder respond) {
         auto body = plugin_api::parse_json_object(request.body);
         if (!body) return respond(Response::from_status(body.status()));
         // Whole seconds, and never past the last second the calendar
         // of ates holds: no overflow, no year 10000.
         const auto advance = body->find("advance_seconds");
         const std::int64_t room_s = (kLatestBusinessTimeUs - clock.now_us()) / 1'000'000;
         if (advance == body->end() || !advance->is_number_integer() ||
             (advance->is_number_unsigned() &&
              advance->get<std::uint64_t>() > static_cast<std::uint64_t>(room_s)) ||
             advance->get<std::int64_t>() < 0 || advance->get<std::int64_t>() > room_s) {
           return respond(Response::problem(
               400, "validation",
               "advance_seconds: an integer from 0 to " + std::to_string(std::max<std::int64_t>(0, room_s)) +
                   " (the clock stops at " + protocol::format_utc(kLatestBusinessTimeUs) + ")"));
         }
         clock.advance(advance->get<std::int64_t>() * 1'000'000);
         respond(Response::json(200, {{"now", protocol::format_utc(clock.now_us())}}));
       },
       "advance the fake business clock (only with --fake-clock)"});
  routes.add("host", "/api/v1/dev/hold",
             {Method::kPost, "", admin_only,
              [&bus](Request request, Responder respond) {
                auto body = plugin_api::parse_json_object(request.body);
                if (!body) return respond(Response::from_status(body.status()));
                const auto stream = body->find("stream");
                const auto held = body->find("held");
                if (stream == body->end() || !stream->is_string())
                  return respond(Response::problem(400, "validation", "stream: required, a string"));
                if (held == body->end() || !held->is_boolean())
                  return respond(Response::problem(400, "validation", "held: required, true or false"));
                const Status status = bus.hold(stream->get<std::string>(), held->get<bool>());
                if (!status) return respond(Response::from_status(status));
                respond(Response::json(200, {{"stream", *stream}, {"held", *held}}));
              },
              "hold a local stream back as a partition would (only with --fake-clock)"});
}

nlohmann::json openapi_json(const RouteTable& routes) {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& route : routes.list()) {
    std::string method(plugin_api::to_string(route.method));
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    nlohmann::json operation = {{"summary", route.summary}, {"tags", {route.owner}}};
    if (route.access.authenticated) {
      operation["security"] = {{{"bearer", nlohmann::json::array()}}};
      nlohmann::json roles = nlohmann::json::array();
      for (auto role : route.access.roles) roles.push_back(std::string(plugin_api::to_string(role)));
      operation["x-roles"] = roles;
    }
    paths[route.pattern][method] = std::move(operation);
  }
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "ates"}, {"version", "1"}}},
          {"components", {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
          {"paths", std::move(paths)}};
}

}  // namespace ates::server
