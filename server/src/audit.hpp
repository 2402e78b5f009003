// `ates audit --data DIR` (docs/analytics.md): reconciles the money across
// the plugins' environments, read-only, so it is safe beside a running host
// or on a stopped one.
//
// Each consumer is read before its producer, and compared with the
// producer only up to its checkpoint: what the producer wrote after that is
// the consumer's lag, reported as such, never as a mismatch.
#pragma once

#include <filesystem>
#include <ostream>

namespace ates::server {

// Prints what it checked, every mismatch and the lags; returns the number
// of mismatches (the command exits 1 when it is not 0).
int run_audit(const std::filesystem::path& data, std::ostream& out);

}  // namespace ates::server
