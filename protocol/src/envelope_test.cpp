#include "ates/protocol/envelope.hpp"

#include <boost/test/unit_test.hpp>
#include <msgpack.hpp>

#include "test_support.hpp"

namespace ates::protocol {

using base::Code;
using base::Result;

namespace {

Envelope sample() {
  return test::envelope_of(TaskCompleted{.task_id = "11111111-1111-4111-8111-111111111111",
                                         .assignee_id = "22222222-2222-4222-8222-222222222222"},
                           42);
}

// Packs a map like an envelope, with `mutate` free to change any entry.
std::string pack_envelope_map(const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& body,
                              std::uint32_t entries) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(entries);
  body(packer);
  return {buffer.data(), buffer.size()};
}

BOOST_AUTO_TEST_SUITE(envelope)

BOOST_AUTO_TEST_CASE(round_trip_keeps_every_field) {
  const Envelope original = sample();
  const Result<Envelope> decoded = decode_event(encode_envelope(original));
  BOOST_TEST_REQUIRE(decoded.has_value(), decoded.status().to_string());
  BOOST_TEST((*decoded == original));
}

BOOST_AUTO_TEST_CASE(every_truncation_is_rejected_not_crashed) {
  const std::string bytes = encode_envelope(sample());
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    const Result<Envelope> decoded = decode_envelope(std::string_view(bytes).substr(0, size));
    BOOST_TEST_REQUIRE(!decoded.has_value());
    BOOST_TEST(decoded.status().code() == Code::kInvalidArgument);
  }
}

BOOST_AUTO_TEST_CASE(trailing_bytes_are_rejected) {
  const Result<Envelope> decoded = decode_envelope(encode_envelope(sample()) + "x");
  BOOST_TEST_REQUIRE(!decoded.has_value());
  BOOST_TEST(decoded.status().message().find("trailing") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(not_a_map_is_rejected) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, std::vector<int>{1, 2, 3});
  const Result<Envelope> decoded = decode_envelope({buffer.data(), buffer.size()});
  BOOST_TEST_REQUIRE(!decoded.has_value());
  BOOST_TEST(decoded.status().message() == "envelope must be a map");
}

BOOST_AUTO_TEST_CASE(wrong_type_names_the_field) {
  const std::string bytes = pack_envelope_map(
      [](auto& p) {
        p.pack(std::string_view("seq"));
        p.pack(std::string_view("forty-two"));
      },
      1);
  const Result<Envelope> decoded = decode_envelope(bytes);
  BOOST_TEST_REQUIRE(!decoded.has_value());
  BOOST_TEST(decoded.status().message() == "envelope field 'seq' must be a positive integer");
}

BOOST_AUTO_TEST_CASE(missing_field_is_named) {
  const std::string bytes = pack_envelope_map(
      [](auto& p) {
        p.pack(std::string_view("name"));
        p.pack(std::string_view("TaskCompleted"));
      },
      1);
  const Result<Envelope> decoded = decode_envelope(bytes);
  BOOST_TEST_REQUIRE(!decoded.has_value());
  BOOST_TEST(decoded.status().message() == "envelope field 'event_id' is missing");
}

BOOST_AUTO_TEST_CASE(unknown_version_is_rejected_with_reason) {
  Envelope envelope = sample();
  envelope.version = 9;
  const Result<Envelope> decoded = decode_event(encode_envelope(envelope));
  BOOST_TEST_REQUIRE(!decoded.has_value());
  BOOST_TEST(decoded.status().message() == "unknown event TaskCompleted v9");
}

BOOST_AUTO_TEST_CASE(event_on_the_wrong_stream_or_producer_is_rejected) {
  Envelope envelope = sample();
  envelope.stream = "auth.users";
  envelope.producer = "auth";
  BOOST_TEST(validate_event(envelope).message() ==
             "TaskCompleted belongs on tracker.tasks, not on auth.users");
  envelope = sample();
  envelope.producer = "accounting";
  BOOST_TEST(validate_event(envelope).message() == "producer 'accounting' does not own stream tracker.tasks");
}

BOOST_AUTO_TEST_CASE(payload_violating_its_schema_is_rejected) {
  Envelope envelope = sample();
  envelope.payload = encode_payload(
      TaskCompleted{.task_id = "not-a-uuid", .assignee_id = "22222222-2222-4222-8222-222222222222"});
  BOOST_TEST(validate_event(envelope).message() == "field 'task_id' has length 10, allowed 36..36");
}

BOOST_AUTO_TEST_CASE(hostile_sizes_do_not_allocate) {
  // A map header claiming 2^32-1 entries, then nothing.
  const std::string huge_map("\xdf\xff\xff\xff\xff", 5);
  BOOST_TEST(!decode_envelope(huge_map).has_value());
  // A binary claiming 4 GiB.
  const std::string huge_bin("\xc6\xff\xff\xff\xff", 5);
  BOOST_TEST(!decode_envelope(huge_bin).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::protocol
