// The HTTP server's options from the host's configuration keys (http.*),
// and the file descriptors they need.
#pragma once

#include <cstddef>

#include "ates/base/status.hpp"

#include "config.hpp"
#include "http_server.hpp"

namespace ates::server {

// An error names the key and where its value came from.
base::Result<HttpOptions> http_options(const Settings& settings);

// Descriptors for `connections` plus storage, the bus and plugins: the soft
// limit is raised towards the hard one if need be, with a warning when it
// cannot be. Running out matters more than an error: the HTTP server stops
// accepting for good after a failed accept().
void ensure_descriptors(std::size_t connections);

}  // namespace ates::server
