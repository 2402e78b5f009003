// Status and Result<T>: expected failures as values.
//
// Every module of ates reports validation errors, not-found, conflicts, a
// full disk and the like as a Status with a code from one small enum, so the
// host can map any of them to an HTTP status without knowing which module
// spoke. Exceptions are kept for broken invariants and start-up errors.
#pragma once

#include <cassert>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ates::base {

enum class Code {
  kOk,
  kInvalidArgument,   // bad input: malformed bytes, schema violation (400)
  kNotFound,          // (404)
  kConflict,          // a state that forbids the change (409)
  kPermissionDenied,  // wrong role or owner (403)
  kUnauthenticated,   // no or bad credentials (401)
  kStorageFull,       // LMDB map full or disk full (507)
  kUnavailable,       // a dependency is unreachable or shutting down (503)
  kInternal,          // an I/O error or a broken invariant (500)
};

std::string_view to_string(Code code);
// The code to_string() named; kInternal for a name it never gives.
Code code_from_string(std::string_view name);
std::ostream& operator<<(std::ostream& out, Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code>: <message>", for logs and test failures.
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string message) { return {Code::kInvalidArgument, std::move(message)}; }

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(state_).is_ok() && "a Result without a value needs an error");
  }

  bool has_value() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; Status::ok() when there is a value.
  Status status() const { return has_value() ? Status::ok() : std::get<Status>(state_); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace ates::base
