// Failpoints: named places where a crash test can kill the process.
//
// ATES_FAILPOINT=name[:n] makes the n-th pass (default 1) through
// failpoint("name") kill the process with SIGKILL, exactly as `kill -9`
// would: no destructors, no flushing. Crash tests run a child with each
// named point of the money path and check what survived (docs/storage.md).
// Without the variable a failpoint costs one relaxed atomic load.
#pragma once

#include <string_view>

namespace ates::storage {

void failpoint(std::string_view name);

// The failpoints of the storage layer, in the order a batch passes them.
inline constexpr std::string_view kFailBeforeCommit = "writer.before_commit";
inline constexpr std::string_view kFailAfterCommit = "writer.after_commit";  // before callers learn of it
inline constexpr std::string_view kFailAfterUnit = "writer.after_unit";      // mid-batch

}  // namespace ates::storage
