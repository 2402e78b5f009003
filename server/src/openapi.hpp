// The OpenAPI 3.1 document of the HTTP API, made from the route table and
// the host's own endpoints: every operation with its parameters, request
// body, a response per status (problem+json for errors), the bearer-JWT
// scheme and the roles as `x-roles`. Schemas a route titles are listed
// once under components/schemas and referred to.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "router.hpp"

namespace ates::server {

// The routes the host answers before its route table (health, readiness,
// metrics, the documents, the token keys), with their contracts; served
// by Host::Impl::route_request, listed here for the document.
std::vector<RouteTable::Listed> host_endpoints();

// The document of `routes` plus host_endpoints().
nlohmann::json openapi_document(const std::vector<RouteTable::Listed>& routes);

}  // namespace ates::server
