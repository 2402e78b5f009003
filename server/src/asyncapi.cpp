#include "asyncapi.hpp"

#include <limits>
#include <string>

#include "ates/protocol/registry.hpp"

namespace ates::server {

using protocol::FieldSpec;
using protocol::FieldType;
using protocol::Format;

namespace {

constexpr std::int64_t kNoMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();

const char* const kMicroseconds = "microseconds since 1970-01-01T00:00:00Z (UTC)";

// "TaskCreated.v2": a component key AsyncAPI accepts.
std::string message_id(const protocol::EventSchema& event) {
  return std::string(event.name) + ".v" + std::to_string(event.version);
}

nlohmann::json field_schema(const FieldSpec& field) {
  nlohmann::json schema = nlohmann::json::object();
  const bool has_min = field.min != kNoMin;
  const bool has_max = field.max != kNoMax;
  switch (field.type) {
    case FieldType::kString:
      schema["type"] = "string";
      if (has_min) schema["minLength"] = field.min;
      if (has_max) schema["maxLength"] = field.max;
      break;
    case FieldType::kInt:
      schema["type"] = "integer";
      if (has_min) schema["minimum"] = field.min;
      if (has_max) schema["maximum"] = field.max;
      break;
    case FieldType::kUint:
      schema["type"] = "integer";
      schema["minimum"] = has_min ? field.min : 0;
      schema["maximum"] = has_max ? field.max : kNoMax;
      break;
    case FieldType::kBool:
      schema["type"] = "boolean";
      break;
    case FieldType::kBinary:
      // Raw bytes have no JSON type: the annotation says what it is.
      schema["x-msgpack-type"] = "bin";
      if (has_min) schema["x-min-bytes"] = field.min;
      if (has_max) schema["x-max-bytes"] = field.max;
      break;
    case FieldType::kTime:
      schema["type"] = "integer";
      schema["minimum"] = has_min ? field.min : 0;
      if (has_max) schema["maximum"] = field.max;
      schema["x-unit"] = kMicroseconds;
      break;
  }
  switch (field.format) {
    case Format::kNone:
      break;
    case Format::kUuid:
      schema["format"] = "uuid";
      break;
    case Format::kDay:
      schema["format"] = "date";
      break;
    case Format::kEmail:
      schema["format"] = "email";
      break;
    case Format::kJiraId:
      schema["pattern"] = "^[A-Z][A-Z0-9]+-[0-9]+$";
      break;
    case Format::kUsername:
      schema["pattern"] = "^[a-z0-9_.-]+$";
      break;
    case Format::kTaskTitle:
      schema["pattern"] = "^[^\\[\\]]*$";
      break;
  }
  if (!field.one_of.empty()) {
    nlohmann::json values = nlohmann::json::array();
    for (auto value : field.one_of) values.push_back(std::string(value));
    schema["enum"] = std::move(values);
  }
  if (!field.doc.empty()) schema["description"] = std::string(field.doc);
  // An optional field may be absent or nil.
  if (!field.required && schema.contains("type")) {
    schema["type"] = nlohmann::json::array({schema["type"], "null"});
    if (schema.contains("enum")) schema["enum"].push_back(nullptr);
  }
  return schema;
}

}  // namespace

nlohmann::json payload_schema(const protocol::EventSchema& event) {
  nlohmann::json properties = nlohmann::json::object();
  nlohmann::json required = nlohmann::json::array();
  for (const FieldSpec& field : event.fields) {
    properties[std::string(field.name)] = field_schema(field);
    if (field.required) required.push_back(std::string(field.name));
  }
  nlohmann::json schema = {{"$schema", "http://json-schema.org/draft-07/schema#"},
                           {"title", std::string(event.name) + " v" + std::to_string(event.version)},
                           {"description", std::string(event.doc)},
                           {"type", "object"},
                           {"properties", std::move(properties)},
                           {"additionalProperties", false},
                           {"x-stream", std::string(event.stream)},
                           {"x-kind", std::string(protocol::to_string(event.kind))}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

nlohmann::json envelope_schema() {
  auto text = [](const char* description) {
    return nlohmann::json{{"type", "string"}, {"description", description}};
  };
  nlohmann::json uuid = text("");
  uuid["format"] = "uuid";
  nlohmann::json event_id = uuid;
  event_id["description"] = "unique per event; consumers' idempotency key";
  nlohmann::json epoch = uuid;
  epoch["description"] = "made when the stream was created; a new one means a new log";
  return {
      {"type", "object"},
      {"description",
       "the envelope every event travels in (protocol/include/ates/protocol/envelope.hpp): a "
       "MessagePack map of these fields and `payload`, the event's own map"},
      {"required",
       {"event_id", "name", "version", "producer", "stream", "stream_epoch", "seq", "time", "trace_id"}},
      {"properties",
       {{"event_id", event_id},
        {"name", text("the event's name, e.g. TaskAssigned")},
        {"version", {{"type", "integer"}, {"minimum", 1}, {"description", "the payload's schema version"}}},
        {"producer", text("the plugin that owns the stream")},
        {"stream", text("the stream, e.g. tracker.tasks")},
        {"stream_epoch", epoch},
        {"seq",
         {{"type", "integer"}, {"minimum", 1}, {"description", "gapless per stream and epoch, from 1"}}},
        {"time",
         {{"type", "integer"},
          {"minimum", 0},
          {"x-unit", kMicroseconds},
          {"description", "stamped by the producer's writer"}}},
        {"trace_id", text("ties the event to the request that caused it")}}}};
}

nlohmann::json asyncapi_document() {
  const auto& registry = protocol::Registry::instance();
  nlohmann::json channels = nlohmann::json::object();
  nlohmann::json operations = nlohmann::json::object();
  nlohmann::json messages = nlohmann::json::object();
  for (const auto& stream : registry.streams()) {
    const std::string name(stream.name);
    nlohmann::json channel_messages = nlohmann::json::object();
    nlohmann::json operation_messages = nlohmann::json::array();
    for (const auto& event : registry.events()) {
      if (event.stream != stream.name) continue;
      const std::string id = message_id(event);
      messages[id] = {{"name", std::string(event.name)},
                      {"title", std::string(event.name) + " v" + std::to_string(event.version)},
                      {"summary", std::string(event.doc)},
                      {"contentType", "application/msgpack"},
                      {"headers", {{"$ref", "#/components/schemas/Envelope"}}},
                      {"payload", payload_schema(event)},
                      {"x-version", event.version},
                      {"x-kind", std::string(protocol::to_string(event.kind))}};
      messages[id]["payload"].erase("$schema");
      channel_messages[id] = {{"$ref", "#/components/messages/" + id}};
      operation_messages.push_back({{"$ref", "#/channels/" + name + "/messages/" + id}});
    }
    channels[name] = {
        {"address", name}, {"description", std::string(stream.doc)}, {"messages", channel_messages}};
    const nlohmann::json channel_ref = {{"$ref", "#/channels/" + name}};
    operations[name + ".send"] = {{"action", "send"},
                                  {"channel", channel_ref},
                                  {"summary", std::string(stream.producer) + " publishes " + name},
                                  {"messages", operation_messages},
                                  {"x-plugin", std::string(stream.producer)}};
    for (auto consumer : stream.consumers) {
      operations[name + ".receive." + std::string(consumer)] = {
          {"action", "receive"},
          {"channel", channel_ref},
          {"summary", std::string(consumer) + " consumes " + name + ", each event once"},
          {"messages", operation_messages},
          {"x-plugin", std::string(consumer)}};
    }
  }
  return {
      {"asyncapi", "3.0.0"},
      {"info",
       {{"title", "ates bus"},
        {"version", "1"},
        {"description",
         "The streams of ates: each has one producer, which commits an event with the state change that "
         "caused it (a transactional outbox), and consumers that apply each event once. Events travel as "
         "MessagePack over ZeroMQ PUB/SUB, with FETCH replay from the producer's outbox on any gap "
         "(docs/bus.md). A consumer takes each stream from its configured owner alone."}}},
      {"defaultContentType", "application/msgpack"},
      {"channels", std::move(channels)},
      {"operations", std::move(operations)},
      {"components", {{"schemas", {{"Envelope", envelope_schema()}}}, {"messages", std::move(messages)}}}};
}

}  // namespace ates::server
