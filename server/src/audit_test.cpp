// gather_audit and print_audit: which plugins are asked, and what a
// report, a failed audit or a hostile plugin's answer prints and decides.
#include "audit.hpp"

#include <sstream>

#include <boost/test/unit_test.hpp>

#include "ates/plugin_api/audit.hpp"

namespace ates::server {
namespace {

using base::Code;
using base::Status;

nlohmann::json clean_report() {
  plugin_api::AuditReport report;
  report.check("charges");
  report.summary("2 fees and 1 rewards match their tracker.tasks events");
  report.lag("accounting", "tracker.tasks", 7, 7);  // not behind: not recorded
  return report.to_json();
}

struct Printed {
  AuditVerdict verdict;
  std::string text;
};

Printed print(const nlohmann::json& gathered) {
  std::ostringstream out;
  const auto verdict = print_audit(gathered, "the test's data", out);
  return {verdict, out.str()};
}

BOOST_AUTO_TEST_SUITE(audit)

BOOST_AUTO_TEST_CASE(only_running_plugins_with_an_audit_are_asked) {
  std::vector<std::string> asked;
  const auto gathered =
      gather_audit({{.plugin = "auth", .has_audit = false},
                    {.plugin = "accounting", .has_audit = true},
                    {.plugin = "analytics", .runs = false, .has_audit = false, .why = "it is stopped"}},
                   [&](const std::string& plugin) -> base::Result<nlohmann::json> {
                     asked.push_back(plugin);
                     return clean_report();
                   });
  BOOST_TEST(asked == std::vector<std::string>{"accounting"});
  // A stopped plugin may keep money nobody checked: incomplete, exit 1.
  const auto printed = print(gathered);
  BOOST_TEST(printed.verdict.errors == 1u);
  BOOST_TEST(printed.text ==
             "audit of the test's data\n"
             "charges: 2 fees and 1 rewards match their tracker.tasks events\n"
             "ERROR analytics: not audited: it is stopped\n"
             "audit: incomplete, 1 plugins not audited\n");
  const auto all_running = print(
      gather_audit({{.plugin = "auth", .has_audit = false}, {.plugin = "accounting", .has_audit = true}},
                   [](const std::string&) -> base::Result<nlohmann::json> { return clean_report(); }));
  BOOST_TEST(all_running.verdict.clean());
  BOOST_TEST(all_running.text.ends_with("audit: the money reconciles (audited: accounting)\n"),
             all_running.text);
}

BOOST_AUTO_TEST_CASE(mismatches_lags_and_notes_are_printed_and_mismatches_decide) {
  plugin_api::AuditReport report;
  report.check("ledger");
  report.summary("1 balances");
  report.mismatch("balance of u1 is 5 cents, its entries sum to 4");
  report.check("charges");
  report.summary("not checked");
  report.note("charges not checked: tracker.tasks is produced by tracker, whose storage is not in this host");
  report.lag("accounting", "tracker.tasks", 3, 10);
  BOOST_TEST(report.mismatches() == 1u);
  const auto printed = print(
      gather_audit({{.plugin = "accounting", .has_audit = true}},
                   [&](const std::string&) -> base::Result<nlohmann::json> { return report.to_json(); }));
  BOOST_TEST(printed.verdict.mismatches == 1u);
  BOOST_TEST(!printed.verdict.clean());
  BOOST_TEST(
      printed.text ==
      "audit of the test's data\n"
      "ledger: 1 balances\n"
      "MISMATCH balance of u1 is 5 cents, its entries sum to 4\n"
      "charges: not checked\n"
      "lag 7: accounting has applied tracker.tasks up to 3 of 10\n"
      "note: charges not checked: tracker.tasks is produced by tracker, whose storage is not in this host\n"
      "audit: 1 mismatches (audited: accounting)\n");
}

BOOST_AUTO_TEST_CASE(a_failed_audit_makes_it_incomplete) {
  const auto printed = print(gather_audit({{.plugin = "accounting", .has_audit = true}},
                                          [](const std::string&) -> base::Result<nlohmann::json> {
                                            return Status(Code::kInternal, "reading the ledger: disk error");
                                          }));
  BOOST_TEST(printed.verdict.errors == 1u);
  BOOST_TEST(printed.text.find("ERROR accounting: reading the ledger: disk error\n") != std::string::npos,
             printed.text);
  BOOST_TEST(printed.text.find("audit: incomplete, 1 plugins not audited\n") != std::string::npos,
             printed.text);
}

// A plugin's audit that throws (a storage error, a bug) is its error; the
// others are still asked, and nothing crashes.
BOOST_AUTO_TEST_CASE(an_audit_that_throws_is_that_plugins_error) {
  const auto printed = print(
      gather_audit({{.plugin = "accounting", .has_audit = true}, {.plugin = "analytics", .has_audit = true}},
                   [](const std::string& plugin) -> base::Result<nlohmann::json> {
                     if (plugin == "accounting") throw std::runtime_error("mdb_txn_begin: MDB_READERS_FULL");
                     return clean_report();
                   }));
  BOOST_TEST(printed.verdict.errors == 1u);
  BOOST_TEST(printed.text.find("ERROR accounting: its audit threw: mdb_txn_begin: MDB_READERS_FULL\n") !=
                 std::string::npos,
             printed.text);
  BOOST_TEST(printed.text.find("charges: 2 fees") != std::string::npos, printed.text);
}

// A plugin answers what it likes: anything but a report is an error,
// never a clean audit, and never a crash of the printer.
BOOST_AUTO_TEST_CASE(an_answer_that_is_no_report_is_an_error_not_a_pass) {
  const std::vector<nlohmann::json> hostile = {
      nullptr,
      "all good",
      nlohmann::json::object(),
      {{"checks", nlohmann::json::array()}, {"lags", nlohmann::json::array()}},
      {{"checks", {{{"check", "x"}, {"summary", "y"}, {"mismatches", {42}}}}},
       {"lags", nlohmann::json::array()},
       {"notes", nlohmann::json::array()}},
      {{"checks", nlohmann::json::array()},
       {"lags", {{{"consumer", "a"}, {"stream", "s"}, {"applied", -1}, {"head", 2}}}},
       {"notes", nlohmann::json::array()}},
      {{"checks", {"not an object"}}, {"lags", nlohmann::json::array()}, {"notes", nlohmann::json::array()}},
  };
  for (const auto& answer : hostile) {
    const auto printed =
        print(gather_audit({{.plugin = "evil", .has_audit = true}},
                           [&](const std::string&) -> base::Result<nlohmann::json> { return answer; }));
    BOOST_TEST(printed.verdict.errors == 1u, answer.dump());
    BOOST_TEST(printed.text.find("ERROR evil: its audit answered no report") != std::string::npos,
               printed.text);
  }
  // Nor is a malformed gathered form (a hostile control socket answer).
  for (const auto& gathered : std::vector<nlohmann::json>{nullptr, 7, {{"audited", "x"}, {"notes", 3}}}) {
    const auto printed = print(gathered);
    BOOST_TEST(printed.text.find("audit: nothing to reconcile") != std::string::npos, printed.text);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
