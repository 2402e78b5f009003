#include "ates/base/status.hpp"

#include <ostream>

namespace ates::base {

Code code_from_string(std::string_view name) {
  for (Code code :
       {Code::kOk, Code::kInvalidArgument, Code::kNotFound, Code::kConflict, Code::kPermissionDenied,
        Code::kUnauthenticated, Code::kStorageFull, Code::kUnavailable, Code::kInternal}) {
    if (to_string(code) == name) return code;
  }
  return Code::kInternal;
}

std::string_view to_string(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kConflict:
      return "conflict";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kStorageFull:
      return "storage_full";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kInternal:
      return "internal";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, Code code) { return out << to_string(code); }

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out(base::to_string(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace ates::base
