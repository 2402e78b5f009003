// Hostile values for every route that takes dates, limits or cursors,
// against a real `ates serve`: the end of year 9999, year 0, reversed
// ranges, spans of 10 000 days, NULs, huge numbers, wrong types. Each
// answer's status is exact and the server still answers /healthz after it.
#include <boost/test/unit_test.hpp>

#include "security_serve.hpp"

namespace ates::security {
namespace {

BOOST_AUTO_TEST_SUITE(hostile_values)

const std::vector<std::string> kBadDays = {"0000-01-01",
                                           "1969-12-31",
                                           "10000-01-01",
                                           "9999-12-32",
                                           "2026-02-29",
                                           "2026-13-01",
                                           "2026-1-1",
                                           "20260101",
                                           "2026-01-01%00",
                                           "%00",
                                           "",
                                           "99999999999999999999",
                                           "-2026-01-01",
                                           "2026-01-01T00%3A00%3A00Z",
                                           "true",
                                           "%C3%BF",
                                           "2026-01-01%0A",
                                           "%E2%80%AE2026-01-01"};

BOOST_AUTO_TEST_CASE(date_ranges_are_bounded_days_of_1970_to_9999) {
  SecureServe serve;
  const auto acc = serve.sign_in("counter", "accountant");
  const auto boss = serve.sign_in("boss", "admin");

  // The end of the calendar is a date like any other: answered, at once.
  const auto last = serve.client().get("/api/v1/accounting/earnings?from=9999-12-31", acc);
  BOOST_TEST(last.status == 200, last.body);
  BOOST_TEST(last.json()["days"].size() == 1u);
  const auto december = serve.client().get("/api/v1/accounting/earnings?from=9999-12-01&to=9999-12-31", acc);
  BOOST_TEST(december.status == 200, december.body);
  BOOST_TEST(december.json()["days"].size() == 31u);
  BOOST_TEST(december.json()["days"].back()["date"] == "9999-12-31");
  const auto first = serve.client().get("/api/v1/accounting/earnings?from=1970-01-01", acc);
  BOOST_TEST(first.status == 200, first.body);
  serve.check_alive("the ends of the calendar");

  // 366 days, both counted, is the longest range; 367 is refused.
  expect_status(serve, "GET", "/api/v1/accounting/earnings?from=2026-01-01&to=2027-01-01", 200, acc);
  expect_status(serve, "GET", "/api/v1/accounting/earnings?from=2026-01-01&to=2027-01-02", 400, acc, {},
                "to: at most 366");
  expect_status(serve, "GET", "/api/v1/accounting/earnings?from=1970-01-01&to=9999-12-31", 400, acc, {},
                "to: at most 366");
  expect_status(serve, "GET", "/api/v1/accounting/earnings?from=2000-01-01&to=2027-05-19", 400, acc, {},
                "to:");
  expect_status(serve, "GET", "/api/v1/accounting/earnings?from=2026-03-05&to=2026-03-01", 400, acc, {},
                "to: must not be before from");
  expect_status(serve, "GET", "/api/v1/analytics/expensive-task?from_date=9999-12-31", 200, boss);
  expect_status(serve, "GET", "/api/v1/analytics/expensive-task?from_date=9999-01-01&end_date=9999-12-31",
                200, boss);
  expect_status(serve, "GET", "/api/v1/analytics/expensive-task?from_date=1972-01-01&end_date=9999-12-31",
                400, boss, {}, "end_date: at most 366");
  expect_status(serve, "GET", "/api/v1/analytics/expensive-task?from_date=2026-03-05&end_date=2026-03-01",
                400, boss, {}, "end_date: must not be before from_date");
  expect_status(serve, "GET", "/api/v1/analytics/summary?date=9999-12-31", 200, boss);
  expect_status(serve, "GET", "/api/v1/analytics/summary?date=1970-01-01", 200, boss);

  for (const auto& bad : kBadDays) {
    expect_status(serve, "GET", "/api/v1/accounting/earnings?from=" + bad, 400, acc, {}, "from:");
    expect_status(serve, "GET", "/api/v1/accounting/earnings?from=2026-01-01&to=" + bad, 400, acc, {}, "to:");
    expect_status(serve, "GET", "/api/v1/accounting/accounts/me/entries?date=" + bad, 400, acc, {}, "date:");
    expect_status(serve, "GET", "/api/v1/analytics/summary?date=" + bad, 400, boss, {}, "date:");
    expect_status(serve, "GET", "/api/v1/analytics/expensive-task?from_date=" + bad, 400, boss, {},
                  "from_date:");
    expect_status(serve, "GET", "/api/v1/analytics/expensive-task?from_date=2026-01-01&end_date=" + bad, 400,
                  boss, {}, "end_date:");
    expect_status(serve, "GET", "/api/v1/accounting/days?after=" + bad, 400, acc, {}, "after");
  }
  // What is not a query string at all is refused before any route sees it.
  expect_status(serve, "GET", "/api/v1/accounting/earnings?from=%FF%FE", 400, acc, {},
                "malformed query string");
  expect_status(serve, "GET", "/api/v1/accounting/earnings?from=%G1", 400, acc, {}, "malformed query string");
  expect_status(serve, "GET", "/api/v1/analytics/summary?date=%", 400, boss, {}, "malformed query string");
}

BOOST_AUTO_TEST_CASE(day_lists_and_closes_stop_at_the_calendar) {
  SecureServe serve;
  const auto boss = serve.sign_in("boss", "admin");
  // The newest day a list can start after, and the oldest: a page or an
  // empty list, never a walk past the calendar.
  expect_status(serve, "GET", "/api/v1/accounting/days?after=9999-12-31&limit=1000", 200, boss);
  const auto oldest = serve.client().get("/api/v1/accounting/days?after=1970-01-01", boss);
  BOOST_TEST(oldest.status == 200, oldest.body);
  BOOST_TEST(oldest.json()["days"].empty());
  // Closing the last day of the calendar: it is not over.
  expect_status(serve, "POST", "/api/v1/accounting/days/9999-12-31/close", 409, boss);
  for (const std::string& bad : std::vector<std::string>{"0000-01-01", "10000-01-01", "1969-12-31",
                                                         "2026-02-30", "%00", "2026-01-01%00"}) {
    expect_status(serve, "POST", "/api/v1/accounting/days/" + bad + "/close", 400, boss, {}, "date:");
  }
}

BOOST_AUTO_TEST_CASE(limits_and_cursors_are_checked_before_use) {
  SecureServe serve;
  const auto boss = serve.sign_in("boss", "admin");
  const std::vector<std::string> lists = {"/api/v1/tracker/tasks/mine",
                                          "/api/v1/tracker/tasks",
                                          "/api/v1/auth/users",
                                          "/api/v1/accounting/accounts",
                                          "/api/v1/accounting/accounts/me/entries",
                                          "/api/v1/accounting/days"};
  for (const auto& list : lists) {
    expect_status(serve, "GET", list + "?limit=1000", 200, boss);
    for (const std::string& bad :
         std::vector<std::string>{"0", "1001", "-1", "1e3", "0x10", "99999999999999999999",
                                  "18446744073709551617", "%00", "", "abc", "1.5", "%201"}) {
      expect_status(serve, "GET", list + "?limit=" + bad, 400, boss, {}, "limit");
    }
    // Cursors: printable, and short enough to be a key.
    for (const std::string& bad : std::vector<std::string>{"", "%00", "a%00b", "a%0Ab", std::string(257, 'a'),
                                                           std::string(5000, 'z'), "%C3%A9"}) {
      expect_status(serve, "GET", list + "?after=" + bad, 400, boss, {}, "after");
    }
  }
  // A cursor of a plausible shape but from nowhere: an empty or shorter page.
  expect_status(serve, "GET", "/api/v1/tracker/tasks?after=" + std::string(256, 'f'), 200, boss);
  expect_status(serve, "GET", "/api/v1/auth/users?after=zzzz", 200, boss);
  expect_status(serve, "GET", "/api/v1/tracker/tasks?status=open&assignee_id=" + std::string(600, 'a'), 400,
                boss, {}, "assignee_id");
  expect_status(serve, "GET", "/api/v1/tracker/tasks?status=open&assignee_id=%00", 400, boss, {},
                "assignee_id");
  // Ids in paths of any length or content are simply not found.
  for (const std::string& id :
       std::vector<std::string>{std::string(600, 'a'), std::string(5000, 'b'), "%00", "%2e%2e"}) {
    expect_status(serve, "GET", "/api/v1/tracker/tasks/" + id, 404, boss);
    expect_status(serve, "GET", "/api/v1/accounting/accounts/" + id, 404, boss);
    expect_status(serve, "PATCH", "/api/v1/auth/users/" + id, 404, boss, R"({"active":false})");
  }
}

BOOST_AUTO_TEST_CASE(the_dev_clock_moves_only_by_sane_amounts) {
  SecureServe serve(ServeOptions{.fake_clock = "2026-03-03T09:00:00Z"});
  const auto boss = serve.sign_in("boss", "admin");
  for (const std::string& bad : std::vector<std::string>{
           R"({"advance_seconds":-1})", R"({"advance_seconds":1e30})", R"({"advance_seconds":1.5})",
           R"({"advance_seconds":"60"})", R"({"advance_seconds":18446744073709551615})",
           R"({"advance_seconds":9223372036854775807})", R"({"advance_seconds":9223372036854})",
           R"({"advance_seconds":253402300800})", R"({"advance_seconds":null})", R"({})", R"([60])", "60"}) {
    expect_status(serve, "POST", "/api/v1/dev/clock", 400, boss, bad);
  }
  const auto moved = serve.client().post("/api/v1/dev/clock", R"({"advance_seconds":3600})", boss);
  BOOST_TEST(moved.status == 200, moved.body);
  BOOST_TEST(moved.json()["now"] == "2026-03-03T10:00:00Z");
  // Up to the last moment the calendar allows, and not a second beyond.
  const std::int64_t room = 253402128000LL - 1772532000LL;  // 9999-12-30T00:00:00Z - 2026-03-03T10:00:00Z
  expect_status(serve, "POST", "/api/v1/dev/clock", 400, boss,
                nlohmann::json{{"advance_seconds", room + 1}}.dump(), "advance_seconds");
  const auto end =
      serve.client().post("/api/v1/dev/clock", nlohmann::json{{"advance_seconds", room}}.dump(), boss);
  BOOST_TEST(end.status == 200, end.body);
  BOOST_TEST(end.json()["now"] == "9999-12-30T00:00:00Z");
  // Every dated route still answers at the end of time.
  expect_status(serve, "GET", "/api/v1/accounting/earnings", 200, boss);
  expect_status(serve, "GET", "/api/v1/accounting/days", 200, boss);
  expect_status(serve, "GET", "/api/v1/analytics/summary", 200, boss);
  expect_status(serve, "POST", "/api/v1/dev/clock", 400, boss, R"({"advance_seconds":1})");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::security
