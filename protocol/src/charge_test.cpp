#include "ates/protocol/charge.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::protocol {
namespace {

Charge fee(int n) {
  return {.event_id = "e" + std::to_string(n), .kind = "fee", .task_id = "t", .user_id = "u"};
}

BOOST_AUTO_TEST_SUITE(charge_messages)

BOOST_AUTO_TEST_CASE(a_batch_of_charges_travels_and_comes_back) {
  PrepareCharges prepare{.op_id = "op", .deadline_us = 42};
  for (int n = 0; n < static_cast<int>(kMaxChargesPerMessage); ++n) prepare.charges.push_back(fee(n));
  const std::string bytes = pack_message(prepare);
  BOOST_TEST(bytes.size() < std::size_t{1} << 20);  // inside the bus's largest message
  const auto back = unpack_message<PrepareCharges>(bytes);
  BOOST_TEST_REQUIRE(back.has_value(), back.status().to_string());
  BOOST_TEST(back->charges.size() == kMaxChargesPerMessage);
  BOOST_TEST((back->charges.back() == prepare.charges.back()));
}

BOOST_AUTO_TEST_CASE(what_a_hostile_peer_declares_is_refused_before_it_is_allocated) {
  // An array header claiming four billion charges, in six bytes.
  const std::string huge_array = std::string(
      "\x83\xa5op_id\xa1x\xa7"
      "charges\xdd\xff\xff\xff\xf0",
      22);
  const auto refused = unpack_message<PrepareCharges>(huge_array);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST((refused.status().code() == base::Code::kInvalidArgument));
  // One charge more than a batch may hold.
  PrepareCharges too_many{.op_id = "op"};
  for (int n = 0; n <= static_cast<int>(kMaxChargesPerMessage); ++n) too_many.charges.push_back(fee(n));
  BOOST_TEST(!unpack_message<PrepareCharges>(pack_message(too_many)).has_value());
  // A string longer than any id.
  ChargeDecision long_id{.op_id = std::string(10'000, 'x'), .decision = "commit"};
  BOOST_TEST(!unpack_message<ChargeDecision>(pack_message(long_id)).has_value());
  // Garbage and the wrong shape.
  BOOST_TEST(!unpack_message<ChargeDecision>("\xc1").has_value());
  BOOST_TEST(!unpack_message<ChargeDecision>(pack_message(std::vector<int>{1, 2})).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::protocol
