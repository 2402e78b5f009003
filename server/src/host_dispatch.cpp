// The path of one HTTP request through the host (Host::Impl::dispatch):
// the request id, refusal while stopping, the host's own GET routes and
// the UI's files, the body limit, the route table, the bearer token (the
// request parked while the replica of auth.users catches up), the role,
// the request against the route's contract, then the handler, with
// metrics and the access log on every answer.
#include <chrono>

#include <spdlog/spdlog.h>

#include "host_impl.hpp"
#include "log_format.hpp"

namespace ates::server {

using plugin_api::Method;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;

void Host::Impl::dispatch(Request request, Responder respond, bool may_park) {
  // The HTTP server ignores a second answer, so the fallback below is safe
  // even when the exception came after an answer.
  try {
    route_request(std::move(request), respond, may_park);
  } catch (const std::exception& e) {
    spdlog::error("[host] a request failed: {}", e.what());
    respond(Response::problem(500, "internal", "the request could not be handled"));
  } catch (...) {
    spdlog::error("[host] a request failed with a non-standard exception");
    respond(Response::problem(500, "internal", "the request could not be handled"));
  }
}

void Host::Impl::route_request(Request request, Responder respond, bool may_park) {
  const auto started = std::chrono::steady_clock::now();
  // A request routed again after waiting keeps its id.
  if (request.request_id.empty()) request.request_id = request_prefix + "-" + std::to_string(++next_request);
  // A parked request is routed again from here, so it needs the answer
  // path before the access log's wrapper below.
  const Responder raw_respond = respond;
  const std::string method(plugin_api::to_string(request.method));
  const std::string path = request.path;
  const std::string request_id = request.request_id;
  const std::string client = request.client_address.empty() ? "-" : request.client_address;
  // Every answer goes through here: metrics and the access log (no bodies,
  // no headers: nothing secret is logged).
  auto answer = [this, respond = std::move(respond), started, method, path, request_id, client](
                    Response response, const std::string& route, const std::string& owner) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics.add("ates_http_requests_total",
                {{"method", method}, {"route", route}, {"status", std::to_string(response.status)}}, 1,
                "HTTP requests answered");
    metrics.observe("ates_http_request_duration_seconds", {{"route", route}}, seconds,
                    "time to answer a request");
    spdlog::info("[{}] [{}] {} {} {} {} {:.2f}ms", owner, request_id, client, method, path, response.status,
                 seconds * 1000);
    response.headers.emplace_back("X-Request-Id", request_id);
    respond(std::move(response));
  };

  if (stopping.load()) {
    return answer(Response::problem(503, "shutting-down", "the server is shutting down"), "unmatched",
                  "host");
  }
  if (request.method == Method::kGet) {
    if (path == "/healthz") return answer(Response::json(200, {{"status", "alive"}}), path, "host");
    if (path == "/readyz") {
      Response response = Response::json(ready() ? 200 : 503, status_json(PluginManager::Detail::kPublic));
      if (response.status == 503) response.headers.emplace_back("Retry-After", "1");
      return answer(std::move(response), path, "host");
    }
    if (path == "/metrics") {
      record_bus_metrics();
      return answer(Response{200, "text/plain; version=0.0.4; charset=utf-8", metrics.render(), {}}, path,
                    "host");
    }
    if (path == "/api/v1/openapi.json")
      return answer(Response::json(200, openapi_document(routes.list())), path, "host");
    if (path == "/api/v1/asyncapi.json")
      return answer(Response::json(200, asyncapi_document()), path, "host");
    if (path == "/.well-known/jwks.json") return answer(Response::json(200, auth->jwks()), path, "host");
    // Served from memory (ui_files.hpp): the path only picks a loaded file.
    if (!path.starts_with("/api/"))
      return answer(ui->answer(request.path, request.header("if-none-match")), "static", "host");
  }
  if (request.body.size() > body_limit) {
    return answer(Response::problem(413, "too-large",
                                    "the body has " + std::to_string(request.body.size()) +
                                        " bytes; at most " + std::to_string(body_limit) + " are accepted"),
                  "unmatched", "host");
  }
  RouteMatch match = routes.match(request.method, path);
  switch (match.kind) {
    case RouteMatch::Kind::kNotFound:
      return answer(Response::problem(404, "not-found", "no route " + method + " " + path), "unmatched",
                    "host");
    case RouteMatch::Kind::kMethodNotAllowed:
      return answer(Response::problem(405, "method-not-allowed", method + " is not allowed on " + path),
                    "unmatched", "host");
    case RouteMatch::Kind::kReloading:
      return answer(
          Response::problem(503, "reloading", "plugin " + match.owner + " is reloading; retry shortly"),
          "unmatched", match.owner);
    case RouteMatch::Kind::kFound:
      break;
  }
  // From here the plugin's code is in use: count the request as in flight
  // for its owner (a reload waits for it) until the handler's copy is gone
  // and, separately, until the answer has been sent.
  const std::string owner = match.owner;
  const std::string route = match.pattern;
  InflightWork::Scope handler_in_use(inflight, owner);
  if (request.header("authorization")) {
    TokenCheck check = auth->authenticate(request.header("authorization"));
    if (check.wait_for_seq > 0 && may_park && parking->park(request, raw_respond, check.wait_for_seq)) return;
    if (!check.principal) return answer(Response::from_status(check.principal.status()), route, owner);
    request.principal = std::move(check.principal).value();
  }
  if (!match.access.allows(request.principal)) {
    if (!request.principal) {
      return answer(Response::problem(401, "unauthenticated", "a bearer token is required"), route, owner);
    }
    return answer(
        Response::problem(403, "forbidden",
                          "the role " + std::string(plugin_api::to_string(request.principal->role)) +
                              " may not " + method + " " + path),
        route, owner);
  }
  request.path_params = std::move(match.params);
  if (match.contract) {
    if (auto refused = check_request(*match.contract, request))
      return answer(std::move(*refused), route, owner);
  }
  inflight.begin(owner);
  auto finish = [this, answer, owner, route](Response response) {
    answer(std::move(response), route, owner);
    inflight.end(owner);
  };
  try {
    plugin_api::Handler handler = std::move(match.handler);
    const RequestScope scope(request_id);  // what the handler logs on this thread names the request
    handler(std::move(request), finish);
  } catch (const std::exception& e) {
    spdlog::error("[{}] [{}] handler threw: {}", owner, request_id, e.what());
    finish(Response::problem(500, "internal", "the handler failed"));
  }
}

nlohmann::json Host::Impl::status_json(PluginManager::Detail detail) const {
  const bool is_ready = ready();
  nlohmann::json plugin_list = plugins ? plugins->status(detail) : nlohmann::json::array();
  const bool any_failed = std::any_of(plugin_list.begin(), plugin_list.end(),
                                      [](const auto& p) { return p["state"] == "failed"; });
  const char* status = is_ready ? "ready" : stopping ? "stopping" : any_failed ? "degraded" : "starting";
  nlohmann::json answer = {
      {"status", status}, {"plugins", std::move(plugin_list)}, {"fake_clock", fake_clock != nullptr}};
  // Streams whose feed is in doubt: named, not explained (the reason is on
  // the admin's events route and in the log).
  if (bus) {
    for (const auto& consumer : bus->consumers()) {
      if (!consumer.suspect.empty()) answer["suspect"].push_back(consumer.consumer + " " + consumer.stream);
    }
  }
  return answer;
}

void Host::Impl::record_bus_metrics() {
  if (!bus) return;
  metrics.set_total("ates_bus_refused_connections_total", {}, static_cast<double>(bus->refused_connections()),
                    "connections to this host's tcp endpoints refused: an unknown CurveZMQ key or none");
  for (const auto& consumer : bus->consumers()) {
    metrics.set("ates_bus_consumer_suspect", {{"consumer", consumer.consumer}, {"stream", consumer.stream}},
                consumer.suspect.empty() ? 0 : 1,
                "1 while a stream's live feed is in doubt and its owner's replay server has not answered");
  }
  for (const auto& drop : bus->drops()) {
    metrics.set_total("ates_bus_dropped_total", {{"reason", drop.reason}, {"source", drop.source}},
                      static_cast<double>(drop.count),
                      "what another host sent that its key may not do, or garbage past its cap");
  }
}

bool Host::Impl::ready() const { return !stopping && port != 0 && plugins->all_running(); }

}  // namespace ates::server
