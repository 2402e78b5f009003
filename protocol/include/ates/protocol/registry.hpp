// The registry of every stream and every (event name, version) ates knows.
//
// One registry, in one place: producers validate each event against it before
// appending, consumers on receipt, and `ates events catalog` prints it. The
// registry is immutable after construction and safe to use from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ates/base/status.hpp"
#include "ates/protocol/schema.hpp"

namespace ates::protocol {

class Registry {
 public:
  // Every stream and event of ates.
  static const Registry& instance();

  Registry(std::vector<StreamSpec> streams, std::vector<EventSchema> events);

  const std::vector<StreamSpec>& streams() const { return streams_; }
  const std::vector<EventSchema>& events() const { return events_; }

  const StreamSpec* find_stream(std::string_view name) const;
  const EventSchema* find(std::string_view name, std::uint32_t version) const;
  // The highest registered version of `name`, or 0 when unknown.
  std::uint32_t latest_version(std::string_view name) const;

  // Checks a payload (MessagePack bytes) against the schema of
  // (name, version): a map with the schema's fields, nothing else.
  base::Status validate(std::string_view name, std::uint32_t version, std::string_view payload) const;
  static base::Status validate(const EventSchema& schema, std::string_view payload);

  // A valid payload for the schema (minimal values), for tests and examples.
  static std::string sample_payload(const EventSchema& schema);

  // The catalog as Markdown: streams with producer and consumers, then each
  // event with its version, kind and fields. docs/events.md is this text.
  std::string catalog() const;

 private:
  std::vector<StreamSpec> streams_;
  std::vector<EventSchema> events_;
};

}  // namespace ates::protocol
