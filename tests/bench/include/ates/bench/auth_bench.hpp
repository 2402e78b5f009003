// `ates bench auth`: log-ins/s (bound by argon2id; the hash parameters are
// printed) and verified requests/s of GET /api/v1/auth/me, against a bare
// route on the same HTTP server code and thread count, in the same run.
#pragma once

#include <ostream>
#include <string>

namespace ates::bench {

struct AuthBenchOptions {
  bool full = false;
  std::string dir;
};

void run_auth_bench(const AuthBenchOptions& options, std::ostream& out);

}  // namespace ates::bench
