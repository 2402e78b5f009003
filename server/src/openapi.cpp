#include "openapi.hpp"

#include <algorithm>
#include <set>

namespace ates::server {

using plugin_api::Access;
using plugin_api::Answer;
using plugin_api::Contract;
using plugin_api::Method;
using plugin_api::Parameter;
using plugin_api::Schema;

namespace {

RouteTable::Listed endpoint(std::string pattern, std::string summary, Contract contract) {
  return {"host",
          Method::kGet,
          std::move(pattern),
          std::move(summary),
          Access::anyone(),
          std::make_shared<const Contract>(std::move(contract))};
}

// Moves every titled schema inside `schema` to `components` and leaves a
// $ref in its place. A second schema of the same title that differs stays
// inline: a document that contradicted itself would be worse.
void hoist(nlohmann::json& schema, nlohmann::json& components) {
  if (schema.is_array()) {
    for (auto& item : schema) hoist(item, components);
    return;
  }
  if (!schema.is_object()) return;
  for (const char* key : {"items", "additionalProperties"}) {
    if (auto it = schema.find(key); it != schema.end() && it->is_object()) hoist(*it, components);
  }
  if (auto properties = schema.find("properties"); properties != schema.end()) {
    for (auto& [name, property] : properties->items()) hoist(property, components);
  }
  const auto title = schema.find("title");
  if (title == schema.end() || !title->is_string()) return;
  const std::string name = title->get<std::string>();
  if (components.contains(name) && components[name] != schema) return;
  components[name] = schema;
  schema = {{"$ref", "#/components/schemas/" + name}};
}

// Hoists the schema under every "schema" key of the document.
void hoist_schemas(nlohmann::json& node, nlohmann::json& components) {
  if (node.is_array()) {
    for (auto& item : node) hoist_schemas(item, components);
  } else if (node.is_object()) {
    for (auto& [key, value] : node.items()) {
      if (key == "schema") {
        hoist(value, components);
      } else {
        hoist_schemas(value, components);
      }
    }
  }
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// "post_tracker_tasks_id_complete": unique per method and pattern.
std::string operation_id(Method method, const std::string& pattern) {
  std::string id = lower(plugin_api::to_string(method));
  for (const auto& segment : split_path(pattern)) {
    if (segment == "api" || segment == "v1") continue;
    id += '_';
    for (char c : segment) {
      if (std::isalnum(static_cast<unsigned char>(c)))
        id += c;
      else if (c != '{' && c != '}')
        id += '_';
    }
  }
  return id;
}

nlohmann::json problem_content() {
  return {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}};
}

nlohmann::json error_answer(std::string description) {
  return {{"description", std::move(description)}, {"content", problem_content()}};
}

nlohmann::json retry_after_header() {
  return {{"Retry-After",
           {{"description", "seconds to wait before trying again"}, {"schema", {{"type", "integer"}}}}}};
}

const char* location(Parameter::In in) {
  switch (in) {
    case Parameter::In::kPath:
      return "path";
    case Parameter::In::kQuery:
      return "query";
    case Parameter::In::kHeader:
      return "header";
  }
  return "query";
}

nlohmann::json parameter_json(const Parameter& parameter) {
  nlohmann::json out = {{"name", parameter.name},
                        {"in", location(parameter.in)},
                        {"required", parameter.required},
                        {"schema", parameter.schema.json()}};
  if (!parameter.description.empty()) out["description"] = parameter.description;
  return out;
}

nlohmann::json operation_json(const RouteTable::Listed& route) {
  const Contract& contract = *route.contract;
  nlohmann::json operation = {{"operationId", operation_id(route.method, route.pattern)},
                              {"summary", route.summary},
                              {"tags", {route.owner}}};
  // Parameters: the declared ones, then any path segment left undeclared.
  nlohmann::json parameters = nlohmann::json::array();
  std::set<std::string> declared;
  for (const auto& parameter : contract.parameters) {
    parameters.push_back(parameter_json(parameter));
    if (parameter.in == Parameter::In::kPath) declared.insert(parameter.name);
  }
  for (const auto& segment : split_path(route.pattern)) {
    if (segment.size() < 3 || segment.front() != '{') continue;
    const std::string name = segment.substr(1, segment.size() - 2);
    if (!declared.contains(name))
      parameters.push_back(parameter_json(Parameter::path(name, Schema::string().min_length(1))));
  }
  if (contract.idempotent) {
    parameters.push_back(parameter_json(Parameter::header(
        "Idempotency-Key", Schema::string().min_length(1).max_length(255),
        "a retry with the same key gets the first answer again (Idempotent-Replayed: true)")));
  }
  if (!parameters.empty()) operation["parameters"] = std::move(parameters);
  if (contract.body) {
    operation["requestBody"] = {{"required", contract.body_required},
                                {"content", {{"application/json", {{"schema", contract.body->json()}}}}}};
  }

  nlohmann::json responses = nlohmann::json::object();
  for (const Answer& answer : contract.answers) {
    nlohmann::json response = {{"description", answer.description}};
    if (answer.body) response["content"] = {{answer.content_type, {{"schema", answer.body->json()}}}};
    if (answer.status >= 400 && !answer.body) response["content"] = problem_content();
    responses[std::to_string(answer.status)] = std::move(response);
  }
  // The errors every route of its kind may answer, unless it said more.
  auto error = [&](int status, std::string description) {
    responses.emplace(std::to_string(status), error_answer(std::move(description)));
  };
  if (!contract.parameters.empty() || contract.body)
    error(400, "a parameter or the body breaks this contract");
  if (route.access.authenticated) {
    error(401, "no token, or a token that is malformed, expired or revoked");
    if (!route.access.roles.empty()) error(403, "the token's role may not call this");
  }
  if (contract.body) error(413, "the body is larger than http.body_limit");
  nlohmann::json unavailable = error_answer(
      "the server is stopping, the plugin is reloading or stopped, or a dependency is unreachable");
  unavailable["headers"] = retry_after_header();
  responses.emplace("503", std::move(unavailable));
  responses["503"]["headers"] = retry_after_header();  // every 503 says when to retry
  responses.emplace("default", error_answer("any other error"));
  operation["responses"] = std::move(responses);

  // A plugin that declares nothing of a route is listed, and says so.
  if (!contract.declared()) operation["x-undeclared"] = true;
  if (route.access.authenticated) {
    operation["security"] = {{{"bearer", nlohmann::json::array()}}};
    nlohmann::json roles = nlohmann::json::array();
    for (auto role : route.access.roles) roles.push_back(std::string(plugin_api::to_string(role)));
    operation["x-roles"] = std::move(roles);
  }
  return operation;
}

}  // namespace

std::vector<RouteTable::Listed> host_endpoints() {
  const Schema plugin = Schema::object(
      {{"name", Schema::string()}, {"state", Schema::string()}},
      {{"error", Schema::string()}, {"api", Schema::string()}, {"build_id", Schema::string()}});
  const Schema readiness =
      Schema::object(
          {{"status", Schema::one_of({"ready", "starting", "stopping", "degraded"})},
           {"plugins", Schema::array(plugin)},
           {"fake_clock", Schema::boolean()}},
          {{"suspect", Schema::array(Schema::string())
                           .describe("consumers whose live feed is in doubt: \"<plugin> <stream>\"")}})
          .titled("Readiness");
  const Schema jwk = Schema::object({{"kty", Schema::one_of({"OKP"})},
                                     {"crv", Schema::one_of({"Ed25519"})},
                                     {"kid", Schema::string()},
                                     {"use", Schema::one_of({"sig"})},
                                     {"alg", Schema::one_of({"EdDSA"})},
                                     {"x", Schema::string()}});
  return {
      endpoint("/healthz", "liveness: the process answers",
               {.answers = {{200, "alive", Schema::object({{"status", Schema::one_of({"alive"})}})}}}),
      endpoint("/readyz", "readiness: every plugin running",
               {.answers = {{200, "ready", readiness}, {503, "not ready; the body says why", readiness}}}),
      endpoint("/metrics", "Prometheus metrics",
               {.answers = {{200, "the text exposition format", Schema::string(),
                             "text/plain; version=0.0.4; charset=utf-8"}}}),
      endpoint("/api/v1/openapi.json", "this document",
               {.answers = {{200, "the OpenAPI 3.1 document",
                             Schema::object({{"openapi", Schema::string()},
                                             {"info", Schema()},
                                             {"paths", Schema()},
                                             {"components", Schema()}})}}}),
      endpoint("/api/v1/asyncapi.json",
               "the AsyncAPI 3.0 document of the bus's streams and events, without servers",
               {.answers = {{200, "the AsyncAPI 3.0 document",
                             Schema::object({{"asyncapi", Schema::string()},
                                             {"info", Schema()},
                                             {"defaultContentType", Schema::string()},
                                             {"channels", Schema()},
                                             {"operations", Schema()},
                                             {"components", Schema()}})}}}),
      endpoint("/.well-known/jwks.json", "the Ed25519 public keys that verify tokens",
               {.answers = {{200, "a JSON Web Key Set", Schema::object({{"keys", Schema::array(jwk)}})}}}),
  };
}

nlohmann::json openapi_document(const std::vector<RouteTable::Listed>& routes) {
  std::vector<RouteTable::Listed> all = host_endpoints();
  all.insert(all.end(), routes.begin(), routes.end());
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& route : all) {
    paths[route.pattern][lower(plugin_api::to_string(route.method))] = operation_json(route);
  }
  nlohmann::json schemas = {{"Problem", plugin_api::problem_schema().json()}};
  schemas["Problem"].erase("title");
  hoist_schemas(paths, schemas);
  return {{"openapi", "3.1.0"},
          {"info",
           {{"title", "ates"},
            {"version", "1"},
            {"description",
             "The Awesome Task Exchange System of UberPopug Inc: tasks, accounting and "
             "analytics. Conventions: docs/api.md."}}},
          {"paths", std::move(paths)},
          {"components",
           {{"schemas", std::move(schemas)},
            {"securitySchemes",
             {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}}}}};
}

}  // namespace ates::server
