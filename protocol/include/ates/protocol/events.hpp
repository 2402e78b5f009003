// The typed events of every stream, one struct per (name, version).
//
// Each struct names itself (kName, kVersion, kStream) and packs as a
// MessagePack map whose keys are its field names, exactly the fields of its
// schema in the registry (registry.cpp); a test keeps the two in step.
// Optional fields are std::optional and pack as nil when empty.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "ates/base/status.hpp"
#include "ates/protocol/envelope.hpp"
#include "ates/protocol/payload.hpp"
#include "ates/protocol/registry.hpp"

namespace ates::protocol {

inline constexpr std::string_view kUsersStream = "auth.users";
inline constexpr std::string_view kTasksStream = "tracker.tasks";
inline constexpr std::string_view kTransactionsStream = "accounting.transactions";

// ---- auth.users ------------------------------------------------------------

struct UserCreated {
  static constexpr std::string_view kName = "UserCreated";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kUsersStream;
  std::string user_id;
  std::string username;
  std::optional<std::string> email;
  std::string role;
  bool active = true;
  bool operator==(const UserCreated&) const = default;
  MSGPACK_DEFINE_MAP(user_id, username, email, role, active)
};

struct UserUpdated {
  static constexpr std::string_view kName = "UserUpdated";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kUsersStream;
  std::string user_id;
  std::string username;
  std::optional<std::string> email;
  std::string role;
  bool active = true;
  bool operator==(const UserUpdated&) const = default;
  MSGPACK_DEFINE_MAP(user_id, username, email, role, active)
};

struct UserRoleChanged {
  static constexpr std::string_view kName = "UserRoleChanged";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kUsersStream;
  std::string user_id;
  std::string old_role;
  std::string new_role;
  bool operator==(const UserRoleChanged&) const = default;
  MSGPACK_DEFINE_MAP(user_id, old_role, new_role)
};

struct UserDeactivated {
  static constexpr std::string_view kName = "UserDeactivated";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kUsersStream;
  std::string user_id;
  bool operator==(const UserDeactivated&) const = default;
  MSGPACK_DEFINE_MAP(user_id)
};

struct SigningKeyAdded {
  static constexpr std::string_view kName = "SigningKeyAdded";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kUsersStream;
  std::string kid;
  std::vector<char> public_key;  // the 32 raw bytes of an Ed25519 public key
  bool operator==(const SigningKeyAdded&) const = default;
  MSGPACK_DEFINE_MAP(kid, public_key)
};

// Tokens issued to the user with a generation below `generation` no
// longer work (a password change, a deactivation, an admin's revocation).
struct TokensRevoked {
  static constexpr std::string_view kName = "TokensRevoked";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kUsersStream;
  std::string user_id;
  std::uint64_t generation = 1;
  std::string reason;  // "password_changed" | "deactivated" | "admin"
  bool operator==(const TokensRevoked&) const = default;
  MSGPACK_DEFINE_MAP(user_id, generation, reason)
};

// One token no longer works (its user logged out with it); kept by
// verifiers until the token would have expired anyway.
struct TokenRevoked {
  static constexpr std::string_view kName = "TokenRevoked";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kUsersStream;
  std::string user_id;
  std::string jti;
  std::int64_t expires_at = 0;  // UTC microseconds: the token's exp
  bool operator==(const TokenRevoked&) const = default;
  MSGPACK_DEFINE_MAP(user_id, jti, expires_at)
};

// A rotation replaced the key: it signs nothing more and verifies tokens
// only until `not_after` (UTC microseconds, the real clock).
struct SigningKeyRetired {
  static constexpr std::string_view kName = "SigningKeyRetired";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kUsersStream;
  std::string kid;
  std::int64_t not_after = 0;
  bool operator==(const SigningKeyRetired&) const = default;
  MSGPACK_DEFINE_MAP(kid, not_after)
};

// ---- tracker.tasks ---------------------------------------------------------

// The first shape of a task: one title holding "[UBERPOP-42] Title".
// Still readable by every consumer through upcast() (upcast.hpp).
struct TaskCreatedV1 {
  static constexpr std::string_view kName = "TaskCreated";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kTasksStream;
  std::string task_id;
  std::string title;
  std::string created_by;
  bool operator==(const TaskCreatedV1&) const = default;
  MSGPACK_DEFINE_MAP(task_id, title, created_by)
};

struct TaskCreated {
  static constexpr std::string_view kName = "TaskCreated";
  static constexpr std::uint32_t kVersion = 2;
  static constexpr std::string_view kStream = kTasksStream;
  std::string task_id;
  std::string title;
  std::optional<std::string> jira_id;
  std::string description;
  std::string created_by;
  bool operator==(const TaskCreated&) const = default;
  MSGPACK_DEFINE_MAP(task_id, title, jira_id, description, created_by)
};

struct TaskUpdated {
  static constexpr std::string_view kName = "TaskUpdated";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kTasksStream;
  std::string task_id;
  std::string title;
  std::optional<std::string> jira_id;
  std::string description;
  bool operator==(const TaskUpdated&) const = default;
  MSGPACK_DEFINE_MAP(task_id, title, jira_id, description)
};

struct TaskAssigned {
  static constexpr std::string_view kName = "TaskAssigned";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kTasksStream;
  std::string task_id;
  std::string assignee_id;
  std::optional<std::string> previous_assignee_id;
  std::string reason;  // "created" | "shuffle"
  std::optional<std::string> shuffle_id;
  bool operator==(const TaskAssigned&) const = default;
  MSGPACK_DEFINE_MAP(task_id, assignee_id, previous_assignee_id, reason, shuffle_id)
};

struct TaskCompleted {
  static constexpr std::string_view kName = "TaskCompleted";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kTasksStream;
  std::string task_id;
  std::string assignee_id;
  bool operator==(const TaskCompleted&) const = default;
  MSGPACK_DEFINE_MAP(task_id, assignee_id)
};

// ---- accounting.transactions -----------------------------------------------

struct DayZoneSet {
  static constexpr std::string_view kName = "DayZoneSet";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kTransactionsStream;
  std::string zone;
  bool operator==(const DayZoneSet&) const = default;
  MSGPACK_DEFINE_MAP(zone)
};

struct TaskPriced {
  static constexpr std::string_view kName = "TaskPriced";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kTransactionsStream;
  std::string task_id;
  std::int64_t fee_cents = 0;
  std::int64_t reward_cents = 0;
  bool operator==(const TaskPriced&) const = default;
  MSGPACK_DEFINE_MAP(task_id, fee_cents, reward_cents)
};

struct TransactionApplied {
  static constexpr std::string_view kName = "TransactionApplied";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kTransactionsStream;
  std::string entry_id;
  std::string user_id;
  std::optional<std::string> task_id;
  std::string kind;  // "fee" | "reward" | "payout" | "fee_reversal" | "reward_reversal"
  std::int64_t amount_cents = 0;
  std::int64_t occurred_at = 0;
  std::string date;
  std::optional<std::string> original_date;
  bool operator==(const TransactionApplied&) const = default;
  MSGPACK_DEFINE_MAP(entry_id, user_id, task_id, kind, amount_cents, occurred_at, date, original_date)
};

struct PayoutMade {
  static constexpr std::string_view kName = "PayoutMade";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kTransactionsStream;
  std::string payout_id;
  std::string user_id;
  std::string date;
  std::int64_t amount_cents = 0;
  bool operator==(const PayoutMade&) const = default;
  MSGPACK_DEFINE_MAP(payout_id, user_id, date, amount_cents)
};

struct DayClosed {
  static constexpr std::string_view kName = "DayClosed";
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::string_view kStream = kTransactionsStream;
  std::string date;
  std::uint64_t payouts = 0;
  std::int64_t paid_cents = 0;
  bool operator==(const DayClosed&) const = default;
  MSGPACK_DEFINE_MAP(date, payouts, paid_cents)
};

}  // namespace ates::protocol
