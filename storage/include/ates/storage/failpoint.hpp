// The failpoints of the storage layer (ates/base/failpoint.hpp), in the
// order a batch passes them.
#pragma once

#include <string_view>

namespace ates::storage {

inline constexpr std::string_view kFailBeforeCommit = "writer.before_commit";
inline constexpr std::string_view kFailAfterCommit = "writer.after_commit";  // before callers learn of it
inline constexpr std::string_view kFailAfterUnit = "writer.after_unit";      // mid-batch

}  // namespace ates::storage
