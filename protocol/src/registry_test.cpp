#include "ates/protocol/registry.hpp"

#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#ifndef ATES_SOURCE_DIR
#error "ATES_SOURCE_DIR must point at the project root"
#endif

namespace ates::protocol {

using base::Result;

namespace {

template <class Event>
void check_round_trip() {
  BOOST_TEST_CONTEXT(Event::kName << " v" << Event::kVersion) {
    const EventSchema* schema = Registry::instance().find(Event::kName, Event::kVersion);
    BOOST_TEST_REQUIRE(schema != nullptr);
    BOOST_TEST(schema->stream == Event::kStream);
    // A payload built from the schema decodes into the struct...
    Envelope envelope = test::envelope_of(Event{});
    envelope.payload = Registry::sample_payload(*schema);
    BOOST_TEST_REQUIRE(validate_event(envelope).is_ok(), validate_event(envelope).to_string());
    const Result<Event> decoded = decode_payload<Event>(envelope);
    BOOST_TEST_REQUIRE(decoded.has_value(), decoded.status().to_string());
    // ...and the struct encodes back to a payload the schema accepts, equal
    // after another round trip through the wire format.
    const Envelope again = test::envelope_of(*decoded);
    const Result<Envelope> wire = decode_event(encode_envelope(again));
    BOOST_TEST_REQUIRE(wire.has_value(), wire.status().to_string());
    const Result<Event> twice = decode_payload<Event>(*wire);
    BOOST_TEST_REQUIRE(twice.has_value());
    BOOST_TEST((*twice == *decoded));
  }
}

template <class... Events>
void check_all(std::tuple<Events...>*) {
  (check_round_trip<Events>(), ...);
}

BOOST_AUTO_TEST_SUITE(registry)

BOOST_AUTO_TEST_CASE(every_registered_event_round_trips) {
  check_all(static_cast<test::AllEvents*>(nullptr));
  // Every schema has its struct: the list above covers the registry.
  BOOST_TEST(std::tuple_size_v<test::AllEvents> == Registry::instance().events().size());
}

BOOST_AUTO_TEST_CASE(every_event_is_on_a_known_stream_and_unique) {
  const Registry& registry = Registry::instance();
  for (const auto& event : registry.events()) {
    BOOST_TEST(registry.find_stream(event.stream) != nullptr, event.name);
    BOOST_TEST(registry.find(event.name, event.version) == &event, event.name);
  }
  BOOST_TEST(registry.latest_version("TaskCreated") == 2u);
  BOOST_TEST(registry.latest_version("NoSuchEvent") == 0u);
}

BOOST_AUTO_TEST_CASE(unknown_field_and_missing_field_are_errors) {
  const Registry& registry = Registry::instance();
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(2);
  packer.pack(std::string_view("user_id"));
  packer.pack(std::string_view("11111111-1111-4111-8111-111111111111"));
  packer.pack(std::string_view("mood"));
  packer.pack(std::string_view("happy"));
  BOOST_TEST(registry.validate("UserDeactivated", 1, {buffer.data(), buffer.size()}).message() ==
             "unknown field 'mood' in UserDeactivated v1");
  // UserDeactivated's one field is TaskCompleted's first: the second is missing.
  msgpack::sbuffer only_task;
  msgpack::packer<msgpack::sbuffer> task_packer(only_task);
  task_packer.pack_map(1);
  task_packer.pack(std::string_view("task_id"));
  task_packer.pack(std::string_view("11111111-1111-4111-8111-111111111111"));
  BOOST_TEST(registry.validate("TaskCompleted", 1, {only_task.data(), only_task.size()}).message() ==
             "field 'assignee_id' is required");
}

BOOST_AUTO_TEST_CASE(constraints_are_enforced) {
  const Registry& registry = Registry::instance();
  const std::string task = "11111111-1111-4111-8111-111111111111";
  const std::string user = "22222222-2222-4222-8222-222222222222";
  TaskCreated created{
      .task_id = task, .title = "[X-1] Fix", .jira_id = {}, .description = "", .created_by = user};
  BOOST_TEST(registry.validate("TaskCreated", 2, encode_payload(created)).message() ==
             "field 'title' is not a valid task-title");
  created.title = "Fix";
  created.jira_id = "uberpop-42";
  BOOST_TEST(registry.validate("TaskCreated", 2, encode_payload(created)).message() ==
             "field 'jira_id' is not a valid jira-id");
  created.jira_id = "UBERPOP-42";
  created.description = std::string(4001, 'd');
  BOOST_TEST(registry.validate("TaskCreated", 2, encode_payload(created)).message() ==
             "field 'description' has length 4001, allowed 0..4000");
  created.description = "ok";
  BOOST_TEST(registry.validate("TaskCreated", 2, encode_payload(created)).is_ok());

  TaskAssigned assigned{.task_id = task,
                        .assignee_id = user,
                        .previous_assignee_id = {},
                        .reason = "because",
                        .shuffle_id = {}};
  BOOST_TEST(registry.validate("TaskAssigned", 1, encode_payload(assigned)).message() ==
             "field 'reason' has a value outside its allowed set");

  TaskPriced priced{.task_id = task, .fee_cents = 999, .reward_cents = 3000};
  BOOST_TEST(registry.validate("TaskPriced", 1, encode_payload(priced)).message() ==
             "field 'fee_cents' is 999, allowed 1000..2000");

  DayClosed closed{.date = "2026-02-30", .payouts = 1, .paid_cents = 100};
  BOOST_TEST(registry.validate("DayClosed", 1, encode_payload(closed)).message() ==
             "field 'date' is not a valid day");

  SigningKeyAdded key{.kid = "k1", .public_key = std::vector<char>(31, 'k')};
  BOOST_TEST(registry.validate("SigningKeyAdded", 1, encode_payload(key)).message() ==
             "field 'public_key' has 31 bytes, allowed 32..32");
}

BOOST_AUTO_TEST_CASE(docs_event_catalog_is_the_generated_catalog) {
  std::ifstream file(std::string(ATES_SOURCE_DIR) + "/docs/events.md");
  BOOST_TEST_REQUIRE(file.good(), "docs/events.md is missing; regenerate it with `ates events catalog`");
  std::stringstream text;
  text << file.rdbuf();
  BOOST_TEST((text.str() == Registry::instance().catalog()),
             "docs/events.md differs from the registry: run `ates events catalog > docs/events.md`");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::protocol
