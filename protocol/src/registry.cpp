#include "ates/protocol/registry.hpp"

#include <algorithm>
#include <set>

#include <msgpack.hpp>

#include "ates/protocol/events.hpp"
#include "ates/protocol/uuid.hpp"

#include "unpack.hpp"

namespace ates::protocol {

using base::invalid_argument;
using base::Status;

namespace {

// ---- building blocks of the schemas ----------------------------------------

FieldSpec uuid_field(std::string_view name, std::string_view doc, bool required = true) {
  return {.name = name,
          .type = FieldType::kString,
          .required = required,
          .format = Format::kUuid,
          .min = 36,
          .max = 36,
          .doc = doc};
}

FieldSpec role_field(std::string_view name, std::string_view doc) {
  return {.name = name,
          .type = FieldType::kString,
          .one_of = {"admin", "manager", "accountant", "worker"},
          .doc = doc};
}

FieldSpec day_field(std::string_view name, std::string_view doc, bool required = true) {
  return {.name = name,
          .type = FieldType::kString,
          .required = required,
          .format = Format::kDay,
          .min = 10,
          .max = 10,
          .doc = doc};
}

std::vector<FieldSpec> user_state_fields() {
  return {
      uuid_field("user_id", "public id of the user"),
      {.name = "username",
       .format = Format::kUsername,
       .min = 3,
       .max = 32,
       .doc = "log-in name, [a-z0-9_.-]"},
      {.name = "email",
       .required = false,
       .format = Format::kEmail,
       .min = 3,
       .max = 254,
       .doc = "where receipts go; absent until known"},
      role_field("role", "current role"),
      {.name = "active", .type = FieldType::kBool, .doc = "false once deactivated"},
  };
}

Registry make_registry() {
  std::vector<StreamSpec> streams = {
      {"auth.users",
       "auth",
       {"host", "tracker", "accounting", "analytics"},
       "users, token revocations and signing keys"},
      {"tracker.tasks", "tracker", {"accounting", "analytics"}, "tasks: created, assigned, completed"},
      {"accounting.transactions",
       "accounting",
       {"analytics"},
       "the day zone, prices, ledger entries, payouts and day closes"},
  };
  const FieldSpec task_title_v2{.name = "title",
                                .format = Format::kTaskTitle,
                                .min = 1,
                                .max = 200,
                                .doc = "1-200 characters, no '[' or ']'"};
  const FieldSpec jira_id{.name = "jira_id",
                          .required = false,
                          .format = Format::kJiraId,
                          .min = 3,
                          .max = 64,
                          .doc = "e.g. UBERPOP-42"};
  const FieldSpec description{.name = "description", .min = 0, .max = 4000, .doc = "up to 4000 characters"};
  std::vector<EventSchema> events = {
      // auth.users
      {"UserCreated", 1, "auth.users", EventKind::kDataStreaming, "a user registered or was added",
       user_state_fields()},
      {"UserUpdated", 1, "auth.users", EventKind::kDataStreaming,
       "a user's data changed; carries the whole current state", user_state_fields()},
      {"UserRoleChanged",
       1,
       "auth.users",
       EventKind::kBusiness,
       "an admin changed a role",
       {uuid_field("user_id", "the user"), role_field("old_role", "role before"),
        role_field("new_role", "role after")}},
      {"UserDeactivated",
       1,
       "auth.users",
       EventKind::kBusiness,
       "an admin deactivated a user; their open tasks stay theirs until the next shuffle",
       {uuid_field("user_id", "the user")}},
      {"SigningKeyAdded",
       1,
       "auth.users",
       EventKind::kDataStreaming,
       "a key that signs tokens; every host verifies tokens with it",
       {{.name = "kid", .min = 1, .max = 64, .doc = "key id, the token header's kid"},
        {.name = "public_key",
         .type = FieldType::kBinary,
         .min = 32,
         .max = 32,
         .doc = "Ed25519 public key, 32 bytes"}}},
      {"TokensRevoked",
       1,
       "auth.users",
       EventKind::kBusiness,
       "a user's tokens issued so far stopped working: the password changed, the user was deactivated or an "
       "admin revoked them; tokens whose `gen` claim is below `generation` are refused",
       {uuid_field("user_id", "the user"),
        {.name = "generation",
         .type = FieldType::kUint,
         .min = 1,
         .doc = "the lowest token generation still valid; only ever grows"},
        {.name = "reason", .one_of = {"password_changed", "deactivated", "admin"}, .doc = "why"}}},
      {"TokenRevoked",
       1,
       "auth.users",
       EventKind::kBusiness,
       "a user logged out: the one token with this `jti` stopped working",
       {uuid_field("user_id", "the token's user"),
        {.name = "jti", .min = 1, .max = 64, .doc = "the token's id, its `jti` claim"},
        {.name = "expires_at",
         .type = FieldType::kTime,
         .doc = "the token's `exp`: verifiers forget the revocation after it"}}},
      {"SigningKeyRetired",
       1,
       "auth.users",
       EventKind::kBusiness,
       "a rotation replaced a signing key: it signs nothing more and verifies tokens until `not_after`, then "
       "neither verifies nor is listed",
       {{.name = "kid", .min = 1, .max = 64, .doc = "the retired key's id"},
        {.name = "not_after",
         .type = FieldType::kTime,
         .doc = "from this time (real clock) tokens signed with the key are refused"}}},
      // tracker.tasks
      {"TaskCreated",
       1,
       "tracker.tasks",
       EventKind::kDataStreaming,
       "the first shape of a task: the jira id inside the title; upcast to v2 on receipt",
       {uuid_field("task_id", "the task"),
        {.name = "title", .min = 1, .max = 280, .doc = "\"[UBERPOP-42] Title\" or \"Title\""},
        uuid_field("created_by", "who created it")}},
      {"TaskCreated",
       2,
       "tracker.tasks",
       EventKind::kDataStreaming,
       "a task was created",
       {uuid_field("task_id", "the task"), task_title_v2, jira_id, description,
        uuid_field("created_by", "who created it")}},
      {"TaskUpdated",
       1,
       "tracker.tasks",
       EventKind::kDataStreaming,
       "a task's data changed; carries the whole current data",
       {uuid_field("task_id", "the task"), task_title_v2, jira_id, description}},
      {"TaskAssigned",
       1,
       "tracker.tasks",
       EventKind::kBusiness,
       "a task went to a user, at creation or by a shuffle",
       {uuid_field("task_id", "the task"),
        uuid_field("assignee_id", "the new assignee"),
        uuid_field("previous_assignee_id", "absent at creation", false),
        {.name = "reason", .one_of = {"created", "shuffle"}, .doc = "why"},
        uuid_field("shuffle_id", "the shuffle job, when reason is shuffle", false)}},
      {"TaskCompleted",
       1,
       "tracker.tasks",
       EventKind::kBusiness,
       "the assignee finished a task",
       {uuid_field("task_id", "the task"), uuid_field("assignee_id", "who completed it")}},
      // accounting.transactions
      {"DayZoneSet",
       1,
       "accounting.transactions",
       EventKind::kDataStreaming,
       "the time zone accounting counts its days in; published once, at the first start of the ledger "
       "(or of a version that knows this event), before any entry; the zone never changes after",
       {{.name = "zone",
         .min = 1,
         .max = 64,
         .doc = "an IANA time zone name, e.g. UTC or Europe/Moscow; every entry's date is a day there"}}},
      {"TaskPriced",
       1,
       "accounting.transactions",
       EventKind::kDataStreaming,
       "accounting set a task's prices, once, when it first learnt of the task",
       {uuid_field("task_id", "the task"),
        {.name = "fee_cents",
         .type = FieldType::kInt,
         .min = 1000,
         .max = 2000,
         .doc = "debited on every assignment"},
        {.name = "reward_cents",
         .type = FieldType::kInt,
         .min = 2000,
         .max = 4000,
         .doc = "credited on completion"}}},
      {"TransactionApplied",
       1,
       "accounting.transactions",
       EventKind::kBusiness,
       "a ledger entry: a fee, a reward, a payout, or the reversal of a fee or reward that was committed "
       "over rpc and never confirmed by its tracker.tasks event",
       {uuid_field("entry_id", "the entry"),
        uuid_field("user_id", "whose account"),
        uuid_field("task_id", "absent for a payout", false),
        {.name = "kind",
         .one_of = {"fee", "reward", "payout", "fee_reversal", "reward_reversal"},
         .doc = "what moved money"},
        {.name = "amount_cents",
         .type = FieldType::kInt,
         .doc =
             "negative for fees, payouts and reward reversals; a reversal's is the opposite of its charge's"},
        {.name = "occurred_at", .type = FieldType::kTime, .doc = "time of the event that caused it"},
        day_field("date", "the accounting day the entry belongs to"),
        day_field("original_date", "only on a late entry: the closed day it happened on", false)}},
      {"PayoutMade",
       1,
       "accounting.transactions",
       EventKind::kBusiness,
       "a positive closing balance was paid out",
       {uuid_field("payout_id", "the payout; the receipt's Message-ID"),
        uuid_field("user_id", "who was paid"),
        day_field("date", "the closed day"),
        {.name = "amount_cents", .type = FieldType::kInt, .min = 1, .doc = "paid, positive"}}},
      {"DayClosed",
       1,
       "accounting.transactions",
       EventKind::kBusiness,
       "a day was closed",
       {day_field("date", "the day"),
        {.name = "payouts", .type = FieldType::kUint, .doc = "number of payouts made"},
        {.name = "paid_cents", .type = FieldType::kInt, .min = 0, .doc = "total paid"}}},
  };
  return Registry(std::move(streams), std::move(events));
}

// ---- validation --------------------------------------------------------------

std::string field_error(const FieldSpec& field, std::string_view what) {
  std::string message = "field '";
  message += field.name;
  message += "' ";
  message += what;
  return message;
}

Status validate_field(const FieldSpec& field, const msgpack::object& value) {
  using msgpack::type::object_type;
  switch (field.type) {
    case FieldType::kString: {
      if (value.type != object_type::STR) return invalid_argument(field_error(field, "must be a string"));
      const std::string_view text(value.via.str.ptr, value.via.str.size);
      const std::int64_t length = utf8_length(text);
      if (length < 0) return invalid_argument(field_error(field, "is not valid UTF-8"));
      if (length < field.min || length > field.max) {
        return invalid_argument(field_error(field, "has length " + std::to_string(length) + ", allowed " +
                                                       std::to_string(field.min) + ".." +
                                                       std::to_string(field.max)));
      }
      if (!field.one_of.empty() &&
          std::find(field.one_of.begin(), field.one_of.end(), text) == field.one_of.end()) {
        return invalid_argument(field_error(field, "has a value outside its allowed set"));
      }
      bool format_ok = true;
      switch (field.format) {
        case Format::kNone:
          break;
        case Format::kUuid:
          format_ok = is_uuid(text);
          break;
        case Format::kDay:
          format_ok = is_day(text);
          break;
        case Format::kJiraId:
          format_ok = is_jira_id(text);
          break;
        case Format::kTaskTitle:
          format_ok = is_task_title(text);
          break;
        case Format::kUsername:
          format_ok = is_username(text);
          break;
        case Format::kEmail:
          format_ok = is_email(text);
          break;
      }
      if (!format_ok) {
        return invalid_argument(field_error(field, "is not a valid " + std::string(to_string(field.format))));
      }
      return Status::ok();
    }
    case FieldType::kInt:
    case FieldType::kUint:
    case FieldType::kTime: {
      std::int64_t number = 0;
      if (value.type == object_type::POSITIVE_INTEGER) {
        if (value.via.u64 > static_cast<std::uint64_t>(INT64_MAX)) {
          return invalid_argument(field_error(field, "is out of range"));
        }
        number = static_cast<std::int64_t>(value.via.u64);
      } else if (value.type == object_type::NEGATIVE_INTEGER && field.type == FieldType::kInt) {
        number = value.via.i64;
      } else {
        return invalid_argument(field_error(
            field, field.type == FieldType::kInt ? "must be an integer" : "must be a non-negative integer"));
      }
      if (number < field.min || number > field.max) {
        return invalid_argument(field_error(field, "is " + std::to_string(number) + ", allowed " +
                                                       std::to_string(field.min) + ".." +
                                                       std::to_string(field.max)));
      }
      return Status::ok();
    }
    case FieldType::kBool:
      if (value.type != object_type::BOOLEAN)
        return invalid_argument(field_error(field, "must be a boolean"));
      return Status::ok();
    case FieldType::kBinary: {
      if (value.type != object_type::BIN) return invalid_argument(field_error(field, "must be binary"));
      const std::int64_t size = value.via.bin.size;
      if (size < field.min || size > field.max) {
        return invalid_argument(field_error(field, "has " + std::to_string(size) + " bytes, allowed " +
                                                       std::to_string(field.min) + ".." +
                                                       std::to_string(field.max)));
      }
      return Status::ok();
    }
  }
  return invalid_argument(field_error(field, "has an unknown type"));
}

Status validate_object(const EventSchema& schema, const msgpack::object& payload) {
  using msgpack::type::object_type;
  if (payload.type != object_type::MAP) return invalid_argument("payload must be a map");
  std::set<std::string_view> seen;
  for (std::uint32_t i = 0; i < payload.via.map.size; ++i) {
    const auto& kv = payload.via.map.ptr[i];
    if (kv.key.type != object_type::STR) return invalid_argument("payload keys must be strings");
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    const auto field = std::find_if(schema.fields.begin(), schema.fields.end(),
                                    [&](const FieldSpec& f) { return f.name == key; });
    if (field == schema.fields.end()) {
      return invalid_argument("unknown field '" + std::string(key) + "' in " + std::string(schema.name) +
                              " v" + std::to_string(schema.version));
    }
    if (!seen.insert(key).second) return invalid_argument("field '" + std::string(key) + "' appears twice");
    if (kv.val.type == object_type::NIL) {
      if (field->required) return invalid_argument(field_error(*field, "is required"));
      continue;
    }
    if (Status status = validate_field(*field, kv.val); !status) return status;
  }
  for (const auto& field : schema.fields) {
    if (field.required && !seen.contains(field.name)) {
      return invalid_argument(field_error(field, "is required"));
    }
  }
  return Status::ok();
}

}  // namespace

const Registry& Registry::instance() {
  static const Registry registry = make_registry();
  return registry;
}

Registry::Registry(std::vector<StreamSpec> streams, std::vector<EventSchema> events)
    : streams_(std::move(streams)), events_(std::move(events)) {}

const StreamSpec* Registry::find_stream(std::string_view name) const {
  for (const auto& stream : streams_) {
    if (stream.name == name) return &stream;
  }
  return nullptr;
}

const EventSchema* Registry::find(std::string_view name, std::uint32_t version) const {
  for (const auto& event : events_) {
    if (event.name == name && event.version == version) return &event;
  }
  return nullptr;
}

std::uint32_t Registry::latest_version(std::string_view name) const {
  std::uint32_t latest = 0;
  for (const auto& event : events_) {
    if (event.name == name) latest = std::max(latest, event.version);
  }
  return latest;
}

Status Registry::validate(std::string_view name, std::uint32_t version, std::string_view payload) const {
  const EventSchema* schema = find(name, version);
  if (schema == nullptr) {
    return invalid_argument("unknown event " + std::string(name) + " v" + std::to_string(version));
  }
  return validate(*schema, payload);
}

Status Registry::validate(const EventSchema& schema, std::string_view payload) {
  msgpack::object_handle handle;
  if (Status status = detail::unpack_untrusted(payload, handle); !status) return status;
  return validate_object(schema, handle.get());
}

std::string Registry::sample_payload(const EventSchema& schema) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(static_cast<std::uint32_t>(schema.fields.size()));
  for (const auto& field : schema.fields) {
    packer.pack(field.name);
    switch (field.type) {
      case FieldType::kString: {
        std::string value;
        switch (field.format) {
          case Format::kUuid:
            value = "00000000-0000-4000-8000-000000000001";
            break;
          case Format::kDay:
            value = "2026-03-03";
            break;
          case Format::kJiraId:
            value = "UBERPOP-42";
            break;
          case Format::kUsername:
            value = "popug";
            break;
          case Format::kEmail:
            value = "popug@example.com";
            break;
          case Format::kNone:
          case Format::kTaskTitle:
            value = field.one_of.empty()
                        ? std::string(static_cast<std::size_t>(std::max<std::int64_t>(field.min, 1)), 'a')
                        : std::string(field.one_of.front());
            if (field.max < static_cast<std::int64_t>(value.size()))
              value.resize(static_cast<std::size_t>(field.max));
            break;
        }
        packer.pack(value);
        break;
      }
      case FieldType::kInt:
      case FieldType::kUint:
      case FieldType::kTime:
        packer.pack(std::max<std::int64_t>(field.min, 0));
        break;
      case FieldType::kBool:
        packer.pack(true);
        break;
      case FieldType::kBinary: {
        const auto size = static_cast<std::uint32_t>(std::max<std::int64_t>(field.min, 0));
        const std::string bytes(size, '\x01');
        packer.pack_bin(size);
        packer.pack_bin_body(bytes.data(), size);
        break;
      }
    }
  }
  return {buffer.data(), buffer.size()};
}

namespace {

// For a reader who comes from the course's design, where accounting takes
// a ChargeRequest: where each of its parts lives here.
constexpr std::string_view kCourseNames = R"(
## From the course's names to these

The original design has tracker ask accounting to change a balance with a
`ChargeRequest {charge_type, task_id, user_id, idempotency_key}`, where
`ChargeType` is `Credit` (raise the balance when a task is completed) or
`Debit` (lower it when a task is assigned). Here:

| the course's | here |
|---|---|
| `ChargeRequest` | no request: accounting books a charge on the tracker's own event, `TaskAssigned` or `TaskCompleted` on `tracker.tasks` (in `events` mode); in `rpc` mode also a `Charge` in `PrepareCharges` over the bus's request/reply (`protocol/charge.hpp`), confirmed later by that same event |
| `ChargeType.Debit` | a **fee**: `TransactionApplied` with `kind: fee` and a negative `amount_cents`, at every assignment (creation and each shuffle) |
| `ChargeType.Credit` | a **reward**: `TransactionApplied` with `kind: reward`, at a completion |
| `task_id`, `user_id` | the same fields of `TransactionApplied` (`user_id` is the assignee the event names) |
| `idempotency_key` | the entry's id, `entry_id`: derived from the causing event's `event_id` and the kind, so the same event (replayed, or arriving both by rpc and as the event) books once |
| the amount | not in the request: each task's `fee_cents` and `reward_cents` are drawn once, published in `TaskPriced`, and every charge of the task uses them |

A charge committed over rpc whose event never comes is undone before its
day closes by a `fee_reversal` or `reward_reversal` (docs/accounting.md).
)";

}  // namespace

std::string Registry::catalog() const {
  std::string out =
      "# Event catalog\n\n"
      "Generated by `ates events catalog` from the registry in `protocol/`; a test keeps\n"
      "this file equal to that output. Every event travels in an envelope (`event_id`,\n"
      "`name`, `version`, `producer`, `stream`, `stream_epoch`, `seq`, `time`,\n"
      "`trace_id`: `protocol/include/ates/protocol/envelope.hpp`); its payload is a\n"
      "MessagePack map with exactly these fields (an optional field may be absent or\n"
      "nil; an unknown field is an error).\n\n"
      "For machines the same registry is an AsyncAPI 3.0 document: `docs/asyncapi.json`,\n"
      "served at `GET /api/v1/asyncapi.json` and printed by `ates events catalog --format\n"
      "asyncapi`. Each stream is a channel and each event version a message\n"
      "(`TaskCreated.v2`) whose headers are the envelope and whose payload is a JSON\n"
      "Schema (draft-07); `ates events schema NAME VERSION` prints one of them. The\n"
      "document names no server: the bus's endpoints and keys are configuration.\n\n"
      "## Streams\n\n| stream | producer | consumers | carries |\n|---|---|---|---|\n";
  for (const auto& stream : streams_) {
    std::string consumers;
    for (const auto& consumer : stream.consumers) {
      if (!consumers.empty()) consumers += ", ";
      consumers += consumer;
    }
    out += "| `" + std::string(stream.name) + "` | " + std::string(stream.producer) + " | " + consumers +
           " | " + std::string(stream.doc) + " |\n";
  }
  for (const auto& stream : streams_) {
    out += "\n## " + std::string(stream.name) + "\n";
    for (const auto& event : events_) {
      if (event.stream != stream.name) continue;
      out += "\n### " + std::string(event.name) + " v" + std::to_string(event.version) + " (" +
             std::string(to_string(event.kind)) + ")\n\n" + std::string(event.doc) + ".\n\n" +
             "| field | type | required | constraints | meaning |\n|---|---|---|---|---|\n";
      for (const auto& field : event.fields) {
        std::string constraints;
        auto add = [&](const std::string& c) {
          if (!constraints.empty()) constraints += ", ";
          constraints += c;
        };
        if (field.format != Format::kNone) add(std::string(to_string(field.format)));
        const bool has_min = field.min != std::numeric_limits<std::int64_t>::min();
        const bool has_max = field.max != std::numeric_limits<std::int64_t>::max();
        const char* unit = field.type == FieldType::kString   ? " chars"
                           : field.type == FieldType::kBinary ? " bytes"
                                                              : "";
        if (has_min && has_max)
          add(std::to_string(field.min) + ".." + std::to_string(field.max) + unit);
        else if (has_min)
          add(">= " + std::to_string(field.min) + unit);
        else if (has_max)
          add("<= " + std::to_string(field.max) + unit);
        if (!field.one_of.empty()) {
          std::string values;
          for (const auto& v : field.one_of) values += (values.empty() ? "" : " \\| ") + std::string(v);
          add("one of " + values);
        }
        out += "| `" + std::string(field.name) + "` | " + std::string(to_string(field.type)) + " | " +
               (field.required ? "yes" : "no") + " | " + constraints + " | " + std::string(field.doc) +
               " |\n";
      }
    }
  }
  out += kCourseNames;
  return out;
}

namespace detail {

Status unpack_validated(const Envelope& envelope,
                        const std::function<void(const msgpack::object&)>& convert) {
  const EventSchema* schema = Registry::instance().find(envelope.name, envelope.version);
  if (schema == nullptr) {
    return invalid_argument("unknown event " + envelope.name + " v" + std::to_string(envelope.version));
  }
  msgpack::object_handle handle;
  if (Status status = unpack_untrusted(envelope.payload, handle); !status) return status;
  if (Status status = validate_object(*schema, handle.get()); !status) return status;
  try {
    convert(handle.get());
  } catch (const std::exception& e) {
    return invalid_argument(std::string("payload does not convert: ") + e.what());
  }
  return Status::ok();
}

}  // namespace detail

}  // namespace ates::protocol
