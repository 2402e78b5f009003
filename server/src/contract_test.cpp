// The HTTP contract's three parts: the schema validator, the request check
// the host runs before a handler, and the OpenAPI document made of both.
#include <boost/test/unit_test.hpp>

#include "ates/plugin_api/json_schema.hpp"

#include "openapi.hpp"
#include "request_contract.hpp"

namespace ates::server {
namespace {

using nlohmann::json;
using plugin_api::Access;
using plugin_api::Contract;
using plugin_api::Method;
using plugin_api::Parameter;
using plugin_api::Request;
using plugin_api::Schema;
using plugin_api::validate;

Schema task() {
  return Schema::object({{"title", Schema::string().min_length(1).max_length(5)},
                         {"count", Schema::integer().minimum(0).maximum(10)}},
                        {{"tags", Schema::array(Schema::one_of({"a", "b"})).max_items(2)},
                         {"note", Schema::string().nullable()}})
      .titled("Task");
}

std::string error_of(const Schema& schema, const json& value) {
  return validate(schema, value).value_or("ok");
}

BOOST_AUTO_TEST_SUITE(contract)

BOOST_AUTO_TEST_CASE(the_validator_names_the_field_and_the_rule) {
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", 3}}) == "ok");
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", 3}, {"tags", {"a"}}, {"note", nullptr}}) ==
             "ok");
  BOOST_TEST(error_of(task(), json{{"count", 3}}) == "title: required");
  BOOST_TEST(error_of(task(), json{{"title", ""}, {"count", 3}}) == "title: must not be empty");
  BOOST_TEST(error_of(task(), json{{"title", "abcdef"}, {"count", 3}}) == "title: at most 5 characters");
  // Characters, not bytes: five Cyrillic letters are ten bytes.
  BOOST_TEST(error_of(task(), json{{"title", "попуг"}, {"count", 3}}) == "ok");
  BOOST_TEST(error_of(task(), json{{"title", 7}, {"count", 3}}) == "title: must be a string");
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", 11}}) == "count: must be at most 10");
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", -1}}) == "count: must be at least 0");
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", 1.0}}) == "count: must be an integer");
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", 18446744073709551615ULL}}) ==
             "count: must be at most 10");
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", 1}, {"tags", {"a", "c"}}}) ==
             "tags[1]: must be one of \"a\", \"b\"");
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", 1}, {"tags", {"a", "a", "b"}}}) ==
             "tags: at most 2 items");
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", 1}, {"note", 5}}) ==
             "note: must be a string or null");
  BOOST_TEST(error_of(task(), json{{"title", "x"}, {"count", 1}, {"asignee", "me"}}) ==
             "asignee: unknown field");
  BOOST_TEST(error_of(task(), json::array()) == "must be an object");
  BOOST_TEST(error_of(task().open(), json{{"title", "x"}, {"count", 1}, {"more", 1}}) == "ok");
  BOOST_TEST(error_of(Schema::map_of(Schema::integer()), json{{"a", 1}, {"b", "2"}}) ==
             "b: must be an integer");
  BOOST_TEST(error_of(Schema(), json{{"anything", {1, 2}}}) == "ok");
}

BOOST_AUTO_TEST_CASE(references_resolve_against_the_document_and_never_loop) {
  const json document = {
      {"components",
       {{"schemas", {{"Task", task().json()}, {"Loop", {{"$ref", "#/components/schemas/Loop"}}}}}}}};
  const json ref = {{"$ref", "#/components/schemas/Task"}};
  BOOST_TEST(!validate(ref, json{{"title", "x"}, {"count", 1}}, "body", &document));
  BOOST_TEST(validate(ref, json{{"count", 1}}, "body", &document).value_or("") == "body.title: required");
  BOOST_TEST(validate(ref, json{}, "body", nullptr).value_or("").starts_with("body: unresolvable $ref"));
  BOOST_TEST(validate(json{{"$ref", "#/components/schemas/None"}}, 1, "x", &document).value_or("") ==
             "x: unresolvable $ref #/components/schemas/None");
  BOOST_TEST(validate(json{{"$ref", "#/components/schemas/Loop"}}, 1, "x", &document).value_or("") ==
             "x: the schema nests too deeply");
}

BOOST_AUTO_TEST_CASE(parameters_are_read_as_their_schema_types) {
  const Schema number = Schema::integer();
  BOOST_TEST(parameter_value(number.json(), "42").value_or(json()) == json(42));
  BOOST_TEST(parameter_value(number.json(), "-7").value_or(json()) == json(-7));
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "9223372036854775808"}) {
    BOOST_TEST(!parameter_value(number.json(), bad), bad);
  }
  BOOST_TEST(parameter_value(Schema::boolean().json(), "true").value_or(json()) == json(true));
  BOOST_TEST(!parameter_value(Schema::boolean().json(), "1"));
  BOOST_TEST(parameter_value(Schema::string().json(), "007").value_or(json()) == json("007"));
}

Request request_with(std::string body, std::map<std::string, std::string> query = {}) {
  Request request;
  request.method = Method::kPost;
  request.body = std::move(body);
  request.query = std::move(query);
  request.path_params = {{"id", "t-1"}};
  return request;
}

std::string refusal(const Contract& contract, const Request& request) {
  const auto refused = check_request(contract, request);
  if (!refused) return "ok";
  BOOST_TEST(refused->status == 400);
  BOOST_TEST(refused->content_type == "application/problem+json");
  return json::parse(refused->body)["detail"].get<std::string>();
}

BOOST_AUTO_TEST_CASE(a_request_is_checked_before_its_handler_runs) {
  const Contract contract{
      .parameters = {Parameter::path("id", Schema::string().min_length(1)),
                     Parameter::required_query("day", Schema::day()),
                     Parameter::query("limit", Schema::integer().minimum(1).maximum(1000))},
      .body = task(),
      .answers = {{200, "ok"}}};
  const std::string body = R"({"title":"x","count":1})";
  BOOST_TEST(refusal(contract, request_with(body, {{"day", "2026-12-04"}})) == "ok");
  // Query parameters nobody declared are ignored (caches add their own).
  BOOST_TEST(refusal(contract, request_with(body, {{"day", "2026-12-04"}, {"_", "123"}})) == "ok");
  BOOST_TEST(refusal(contract, request_with(body)) == "day: required");
  BOOST_TEST(refusal(contract, request_with(body, {{"day", "2026-12-4"}})) == "day: at least 10 characters");
  BOOST_TEST(refusal(contract, request_with(body, {{"day", "2026-12-04"}, {"limit", "ten"}})) ==
             "limit: must be an integer");
  BOOST_TEST(refusal(contract, request_with(body, {{"day", "2026-12-04"}, {"limit", "1001"}})) ==
             "limit: must be at most 1000");
  BOOST_TEST(refusal(contract, request_with("{", {{"day", "2026-12-04"}})) == "the body is not valid JSON");
  BOOST_TEST(refusal(contract, request_with("", {{"day", "2026-12-04"}})) == "the body is not valid JSON");
  BOOST_TEST(refusal(contract, request_with("[]", {{"day", "2026-12-04"}})) == "the body must be an object");
  BOOST_TEST(refusal(contract, request_with(R"({"title":"x"})", {{"day", "2026-12-04"}})) ==
             "count: required");
  Contract optional_body = contract;
  optional_body.body_required = false;
  BOOST_TEST(refusal(optional_body, request_with("", {{"day", "2026-12-04"}})) == "ok");
  BOOST_TEST(refusal(optional_body, request_with("{}", {{"day", "2026-12-04"}})) == "title: required");
  // Idempotency-Key, where the route honours it: 1 to 255 characters.
  Contract keyed = optional_body;
  keyed.idempotent = true;
  Request with_key = request_with("", {{"day", "2026-12-04"}});
  with_key.headers["idempotency-key"] = std::string(256, 'k');
  BOOST_TEST(refusal(keyed, with_key) == "Idempotency-Key must have 1 to 255 characters");
  with_key.headers["idempotency-key"] = "";
  BOOST_TEST(refusal(keyed, with_key) == "Idempotency-Key must have 1 to 255 characters");
  with_key.headers["idempotency-key"] = std::string(255, 'k');
  BOOST_TEST(refusal(keyed, with_key) == "ok");
  // A route without a body schema does not read it.
  BOOST_TEST(refusal(Contract{.answers = {{200, "ok"}}}, request_with("not json")) == "ok");
}

RouteTable::Listed listed(std::string pattern, Method method, Access access, Contract contract) {
  return {"tracker",          method,
          std::move(pattern), "a summary",
          std::move(access),  std::make_shared<const Contract>(std::move(contract))};
}

BOOST_AUTO_TEST_CASE(the_document_lists_every_route_with_its_contract) {
  const json document = openapi_document(
      {listed("/api/v1/tracker/tasks/{id}", Method::kPatch, Access::only({plugin_api::Role::kManager}),
              Contract{.body = task(),
                       .answers = {{200, "changed", task()}, {404, "no such task"}},
                       .idempotent = true}),
       listed("/api/v1/tracker/tasks", Method::kGet, Access::any_role(),
              Contract{.parameters = plugin_api::page_parameters(),
                       .answers = {{200, "a page", Schema::object({{"tasks", Schema::array(task())}})}}})});
  BOOST_TEST(document["openapi"] == "3.1.0");
  const json& patch = document["paths"]["/api/v1/tracker/tasks/{id}"]["patch"];
  BOOST_TEST(patch["operationId"] == "patch_tracker_tasks_id");
  BOOST_TEST(patch["x-roles"] == json::array({"manager"}));
  BOOST_TEST(patch["security"][0].contains("bearer"));
  // The undeclared path parameter, and the Idempotency-Key header.
  BOOST_TEST(patch["parameters"].size() == 2U);
  BOOST_TEST(patch["parameters"][0]["name"] == "id");
  BOOST_TEST(patch["parameters"][0]["in"] == "path");
  BOOST_TEST(patch["parameters"][1]["name"] == "Idempotency-Key");
  // The titled schema is listed once and referred to everywhere.
  BOOST_TEST(patch["requestBody"]["content"]["application/json"]["schema"]["$ref"] ==
             "#/components/schemas/Task");
  BOOST_TEST(patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] ==
             "#/components/schemas/Task");
  BOOST_TEST(document["components"]["schemas"]["Task"]["properties"].contains("title"));
  const json& list = document["paths"]["/api/v1/tracker/tasks"]["get"]["responses"]["200"];
  BOOST_TEST(list["content"]["application/json"]["schema"]["properties"]["tasks"]["items"]["$ref"] ==
             "#/components/schemas/Task");
  // Errors: the route's own, the ones of its kind, and a default.
  for (const char* status : {"400", "401", "403", "404", "413", "503", "default"}) {
    BOOST_TEST(patch["responses"][status]["content"].contains("application/problem+json"), status);
  }
  BOOST_TEST(patch["responses"]["503"]["headers"].contains("Retry-After"));
  BOOST_TEST(!document["paths"]["/api/v1/tracker/tasks"]["get"]["responses"].contains("403"));
  // The host's own endpoints are there too, public.
  for (const auto& endpoint : host_endpoints()) {
    const json& operation = document["paths"][endpoint.pattern]["get"];
    BOOST_TEST(operation.contains("responses"), endpoint.pattern);
    BOOST_TEST(!operation.contains("security"), endpoint.pattern);
  }
  // A response the document describes passes its own schema.
  const json task_answer = {{"title", "x"}, {"count", 2}};
  BOOST_TEST(!validate(patch["responses"]["200"]["content"]["application/json"]["schema"], task_answer,
                       "body", &document));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
