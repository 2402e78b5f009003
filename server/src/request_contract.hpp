// Checks a request against its route's contract before the handler runs:
// every declared path, query and header parameter, read as its schema's
// type says, and the JSON body. The first breach is a 400 problem whose
// detail names the parameter or field ("title: at most 200 characters").
// Query parameters a route does not declare are ignored, as HTTP caches
// and proxies add their own.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ates/plugin_api/http.hpp"

namespace ates::server {

// nullopt when the request may go to the handler.
std::optional<plugin_api::Response> check_request(const plugin_api::Contract& contract,
                                                  const plugin_api::Request& request);

// A parameter's text as the JSON value its schema describes: digits as an
// integer, true/false as a boolean, anything else as the string. nullopt
// when the text cannot be that type (the error names the parameter).
std::optional<nlohmann::json> parameter_value(const nlohmann::json& schema, const std::string& text);

}  // namespace ates::server
