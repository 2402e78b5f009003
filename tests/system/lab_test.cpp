// `ates lab` as processes (docs/lab.md): each demonstration exits 0, and
// the figures it prints are checked here, not its conclusions. charge-modes runs smaller than
// its default to fit CI's budget; what it checks (identical final balances,
// refusals only in rpc mode) does not depend on the size.
#include <sstream>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "ates/testing/process.hpp"

namespace ates {
namespace {

const std::string kAtes = ATES_BINARY;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The table row of `label`: its two columns, events then rpc.
std::pair<std::string, std::string> row(const std::string& out, const std::string& label) {
  const auto at = out.find("\n" + label);
  BOOST_TEST_REQUIRE(at != std::string::npos, "no row " + label + " in:\n" + out);
  std::string line = out.substr(at + 1 + label.size(), out.find('\n', at + 1) - at - 1 - label.size());
  std::istringstream words(line);
  std::vector<std::string> w;
  for (std::string word; words >> word;) w.push_back(word);
  BOOST_TEST_REQUIRE(w.size() == 6u, line);  // "a / b" twice
  return {w[0] + " / " + w[2], w[3] + " / " + w[5]};
}

BOOST_AUTO_TEST_SUITE(lab)

BOOST_AUTO_TEST_CASE(charge_modes_end_with_the_same_balances_and_refuse_only_in_rpc) {
  const auto run = testing::run_to_end({kAtes, "lab", "charge-modes", "--workers", "10", "--tasks", "120",
                                        "--rounds", "3", "--outage-ms", "800", "--probe-ms", "500"});
  BOOST_TEST_MESSAGE(run.out);
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.out + run.err);
  // Every account (ten workers, a manager and an admin) ends with the same
  // balance in both modes: the counts and the sums agree, and the lab's own
  // comparison, account by account, found none that differs.
  const auto [accounts_events, accounts_rpc] = row(run.out, "accounts / sum of balances, $");
  BOOST_TEST(accounts_events == accounts_rpc);
  BOOST_TEST(accounts_events.starts_with("12 / "), accounts_events);
  BOOST_TEST(contains(run.out, "\nfinal balances: 0 of 12 accounts differ between the modes\n"));
  // Creations and shuffles are never refused; completions only in rpc mode,
  // while accounting was stopped.
  const auto [create_events, create_rpc] = row(run.out, "create: answered / refused (503)");
  BOOST_TEST(create_events == "360 / 0");
  BOOST_TEST(create_rpc == "360 / 0");
  const auto [complete_events, complete_rpc] = row(run.out, "complete: answered / refused (503)");
  BOOST_TEST(complete_events.ends_with(" / 0"));
  BOOST_TEST(!complete_rpc.ends_with(" / 0"), complete_rpc);
  BOOST_TEST(complete_events.substr(0, complete_events.find(' ')) ==
             complete_rpc.substr(0, complete_rpc.find(' ')));
  // With accounting down again, events mode creates and rpc mode refuses.
  const auto [probe_events, probe_rpc] = row(run.out, "create, accounting down 0.5 s more: ok / 503 **");
  BOOST_TEST(probe_events.ends_with(" / 0"));
  BOOST_TEST(!probe_events.starts_with("0 "), probe_events);
  BOOST_TEST(probe_rpc.starts_with("0 / "));
  BOOST_TEST(!probe_rpc.ends_with(" / 0"), probe_rpc);
}

BOOST_AUTO_TEST_CASE(day_close_under_lag_waits_then_closes_and_forces_a_late_entry) {
  const auto run = testing::run_to_end({kAtes, "lab", "day-close-under-lag"});
  BOOST_TEST_MESSAGE(run.out);
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.out + run.err);
  BOOST_TEST(contains(run.out, "POST /days/2026-03-03/close -> 409"));
  BOOST_TEST(contains(run.out, "POST /days/2026-03-03/close -> 200"));
  BOOST_TEST(contains(run.out, "POST /days/2026-03-04/close?force=true -> 200"));
  BOOST_TEST(contains(run.out, "keeps original_date 2026-03-04"));
}

BOOST_AUTO_TEST_CASE(dead_letter_is_kept_inspected_and_redriven_once) {
  const auto run = testing::run_to_end({kAtes, "lab", "dead-letter"});
  BOOST_TEST_MESSAGE(run.out);
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.out + run.err);
  BOOST_TEST(contains(run.out, "\"resolved\":false"));
  BOOST_TEST(contains(run.out, "\"resolved\":true"));
  BOOST_TEST(contains(run.out, "re-driven already"));
  // Fees per worker after each step: ann's two while bob's assignment is a
  // dead letter, bob's one after the re-drive, still one after a second.
  std::vector<std::string> fees;
  for (std::size_t at = run.out.find("fees charged: "); at != std::string::npos;
       at = run.out.find("fees charged: ", at + 1)) {
    fees.push_back(run.out.substr(at, run.out.find('\n', at) - at));
  }
  const std::vector<std::string> expected = {"fees charged: ann 2, bob 0", "fees charged: ann 2, bob 1",
                                             "fees charged: ann 2, bob 1"};
  BOOST_TEST(fees == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
