#include "request_contract.hpp"

#include <charconv>

namespace ates::server {

using plugin_api::Parameter;
using plugin_api::Response;

namespace {

std::string type_of(const nlohmann::json& schema) {
  const auto type = schema.find("type");
  if (type == schema.end()) return {};
  if (type->is_string()) return type->get<std::string>();
  for (const auto& one : *type) {
    if (one != "null") return one.get<std::string>();
  }
  return {};
}

Response invalid(const std::string& detail) { return Response::problem(400, "validation", detail); }

}  // namespace

std::optional<nlohmann::json> parameter_value(const nlohmann::json& schema, const std::string& text) {
  const std::string type = type_of(schema);
  if (type == "integer") {
    // Decimal digits with an optional minus: no plus, no spaces, no hex,
    // nothing from_chars would stop early on.
    const bool negative = !text.empty() && text.front() == '-';
    const std::string_view digits = std::string_view(text).substr(negative ? 1 : 0);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return nlohmann::json(value);
  }
  if (type == "boolean") {
    if (text == "true") return nlohmann::json(true);
    if (text == "false") return nlohmann::json(false);
    return std::nullopt;
  }
  return nlohmann::json(text);
}

std::optional<Response> check_request(const plugin_api::Contract& contract,
                                      const plugin_api::Request& request) {
  for (const Parameter& parameter : contract.parameters) {
    const std::map<std::string, std::string>* source = nullptr;
    switch (parameter.in) {
      case Parameter::In::kPath:
        source = &request.path_params;
        break;
      case Parameter::In::kQuery:
        source = &request.query;
        break;
      case Parameter::In::kHeader:
        source = &request.headers;
        break;
    }
    const auto found = source->find(parameter.name);
    if (found == source->end()) {
      if (parameter.required) return invalid(parameter.name + ": required");
      continue;
    }
    const auto value = parameter_value(parameter.schema.json(), found->second);
    if (!value) {
      const std::string type = type_of(parameter.schema.json());
      return invalid(parameter.name + ": must be " + (type == "integer" ? "an integer" : "true or false"));
    }
    if (auto error = plugin_api::validate(parameter.schema, *value, parameter.name)) return invalid(*error);
  }
  if (contract.idempotent) {
    const auto key = request.headers.find("idempotency-key");
    if (key != request.headers.end() && (key->second.empty() || key->second.size() > 255)) {
      return invalid("Idempotency-Key must have 1 to 255 characters");
    }
  }
  if (!contract.body) return std::nullopt;
  if (request.body.empty() && !contract.body_required) return std::nullopt;
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return invalid("the body is not valid JSON");
  if (auto error = plugin_api::validate(*contract.body, body, {})) {
    return invalid(error->starts_with("must be") ? "the body " + *error : *error);
  }
  return std::nullopt;
}

}  // namespace ates::server
