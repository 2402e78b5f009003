// The AsyncAPI document and the payload schemas, made from the registry,
// agree with the registry: every registered event's sample payload passes
// its schema, and a payload the registry refuses, the schema refuses too.
#include "asyncapi.hpp"

#include <boost/test/unit_test.hpp>

#include "ates/plugin_api/json_schema.hpp"
#include "ates/protocol/registry.hpp"

namespace ates::server {
namespace {

using protocol::Registry;

BOOST_AUTO_TEST_SUITE(asyncapi)

BOOST_AUTO_TEST_CASE(each_event_s_sample_payload_passes_its_schema_and_a_wrong_one_does_not) {
  for (const auto& event : Registry::instance().events()) {
    const std::string label = std::string(event.name) + " v" + std::to_string(event.version);
    const nlohmann::json schema = payload_schema(event);
    const std::string sample = Registry::sample_payload(event);
    BOOST_TEST_REQUIRE(Registry::validate(event, sample).is_ok(), label);
    nlohmann::json payload = nlohmann::json::from_msgpack(sample);
    BOOST_TEST(!plugin_api::validate(schema, payload, "payload"),
               label << ": " << *plugin_api::validate(schema, payload));
    // A field the registry does not know: both refuse it.
    nlohmann::json extra = payload;
    extra["not_a_field"] = 1;
    BOOST_TEST(plugin_api::validate(schema, extra).value_or("") == "not_a_field: unknown field", label);
    // Each required field missing: both refuse it.
    for (const auto& field : event.fields) {
      if (!field.required) continue;
      nlohmann::json missing = payload;
      missing.erase(std::string(field.name));
      BOOST_TEST(plugin_api::validate(schema, missing).value_or("") == std::string(field.name) + ": required",
                 label);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_stream_is_a_channel_and_every_event_version_a_message) {
  const nlohmann::json document = asyncapi_document();
  BOOST_TEST(document["asyncapi"] == "3.0.0");
  BOOST_TEST(!document.contains("servers"));  // the bus's endpoints are not handed out
  const auto& registry = Registry::instance();
  BOOST_TEST(document["channels"].size() == registry.streams().size());
  BOOST_TEST(document["components"]["messages"].size() == registry.events().size());
  for (const auto& stream : registry.streams()) {
    const std::string name(stream.name);
    BOOST_TEST_REQUIRE(document["channels"].contains(name), name);
    BOOST_TEST(document["operations"][name + ".send"]["x-plugin"] == std::string(stream.producer));
    for (auto consumer : stream.consumers) {
      BOOST_TEST(document["operations"].contains(name + ".receive." + std::string(consumer)), name);
    }
  }
  for (const auto& event : registry.events()) {
    const std::string id = std::string(event.name) + ".v" + std::to_string(event.version);
    const auto& message = document["components"]["messages"][id];
    BOOST_TEST(message["contentType"] == "application/msgpack", id);
    BOOST_TEST(message["headers"]["$ref"] == "#/components/schemas/Envelope", id);
    BOOST_TEST(document["channels"][std::string(event.stream)]["messages"].contains(id), id);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
