#include "wire.hpp"

#include <cstdint>
#include <string>

#include <boost/test/unit_test.hpp>

namespace ates::bus::wire {
namespace {

// A FetchReply map as another build (or a hostile peer) might pack it.
std::string reply_with_status(const std::string& status) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(7);
  packer.pack(std::string("stream")).pack(std::string("tracker.tasks"));
  packer.pack(std::string("status")).pack(status);
  packer.pack(std::string("epoch")).pack(std::string("e1"));
  packer.pack(std::string("from")).pack(std::uint64_t{3});
  packer.pack(std::string("first_seq")).pack(std::uint64_t{1});
  packer.pack(std::string("head_seq")).pack(std::uint64_t{9});
  packer.pack(std::string("watermark")).pack(std::int64_t{42});
  return {buffer.data(), buffer.size()};
}

BOOST_AUTO_TEST_SUITE(wire_frames)

BOOST_AUTO_TEST_CASE(fetch_status_travels_as_its_name_and_comes_back) {
  for (const FetchStatus status :
       {FetchStatus::kOk, FetchStatus::kTruncated, FetchStatus::kUnknown, FetchStatus::kDenied}) {
    const std::string bytes = pack(FetchReply{.stream = "tracker.tasks", .status = status, .from = 3});
    const auto reply = unpack<FetchReply>(bytes);
    BOOST_TEST_REQUIRE(reply.has_value());
    BOOST_TEST((reply->status == status));
    BOOST_TEST(reply->from == 3u);
  }
  // The name, not a number, is what a peer reads: "truncated" is on the wire.
  const std::string bytes = pack(FetchReply{.stream = "s", .status = FetchStatus::kTruncated});
  BOOST_TEST(bytes.find("truncated") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_reply_packed_by_another_build_reads_the_same) {
  const auto reply = unpack<FetchReply>(reply_with_status("ok"));
  BOOST_TEST_REQUIRE(reply.has_value());
  BOOST_TEST((reply->status == FetchStatus::kOk));
  BOOST_TEST(reply->head_seq == 9u);
}

BOOST_AUTO_TEST_CASE(a_status_no_build_sends_makes_the_reply_malformed) {
  for (const char* status : {"OK", "", "halted", "ok "}) {
    BOOST_TEST(!unpack<FetchReply>(reply_with_status(status)).has_value(), status);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::bus::wire
