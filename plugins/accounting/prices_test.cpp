#include "prices.hpp"

#include <map>

#include <boost/test/unit_test.hpp>

namespace ates::accounting {
namespace {

Prices::Key key(std::uint8_t fill) {
  Prices::Key k{};
  k.fill(fill);
  return k;
}

std::string task_id(int n) {
  char text[48];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012d", n);
  return text;
}

BOOST_AUTO_TEST_SUITE(prices)

BOOST_AUTO_TEST_CASE(prices_are_whole_dollars_in_range_and_cover_every_value) {
  const Prices prices(key(7));
  std::map<std::int64_t, int> fees, rewards;
  for (int i = 0; i < 20'000; ++i) {
    const Price p = prices.of(task_id(i));
    BOOST_TEST_REQUIRE(p.fee_cents % 100 == 0);
    BOOST_TEST_REQUIRE(p.reward_cents % 100 == 0);
    BOOST_TEST_REQUIRE((p.fee_cents >= 1000 && p.fee_cents <= 2000));
    BOOST_TEST_REQUIRE((p.reward_cents >= 2000 && p.reward_cents <= 4000));
    ++fees[p.fee_cents];
    ++rewards[p.reward_cents];
  }
  BOOST_TEST(fees.size() == 11u);
  BOOST_TEST(rewards.size() == 21u);
  // Roughly uniform: each value within 20 % of its share.
  for (const auto& [cents, count] : fees) BOOST_TEST(std::abs(count - 20'000 / 11) < 20'000 / 11 / 5, cents);
  for (const auto& [cents, count] : rewards)
    BOOST_TEST(std::abs(count - 20'000 / 21) < 20'000 / 21 / 5, cents);
}

BOOST_AUTO_TEST_CASE(the_same_key_gives_the_same_price_and_another_key_another) {
  const Prices a(key(1)), again(key(1)), b(key(2));
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    BOOST_TEST(a.of(task_id(i)).fee_cents == again.of(task_id(i)).fee_cents);
    BOOST_TEST(a.of(task_id(i)).reward_cents == again.of(task_id(i)).reward_cents);
    if (a.of(task_id(i)).reward_cents != b.of(task_id(i)).reward_cents) ++differ;
  }
  BOOST_TEST(differ > 150);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::accounting
