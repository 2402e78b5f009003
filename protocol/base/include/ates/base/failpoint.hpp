// Failpoints: named places where a crash test can kill the process.
//
// ATES_FAILPOINT=name[:n] makes the n-th pass (default 1) through
// failpoint("name") kill the process with SIGKILL, exactly as `kill -9`
// would: no destructors, no flushing. Crash tests run a child with each
// named point of the money path and check what survived (docs/storage.md).
// Without the variable a failpoint costs one load of a pointer set once.
#pragma once

#include <string_view>

namespace ates::base {

void failpoint(std::string_view name);

}  // namespace ates::base
