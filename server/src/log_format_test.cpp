// The JSON log line: its fields from the text's "[component] [request id] "
// front, the thread's request when the text names none, and text that is
// no valid UTF-8 or full of quotes still making one valid JSON line.
#include "log_format.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

namespace ates::server {
namespace {

constexpr std::int64_t kAt = std::int64_t{1772528400} * 1'000'000 + 42;  // 2026-03-03T09:00:00.000042Z

BOOST_AUTO_TEST_SUITE(log_format)

BOOST_AUTO_TEST_CASE(component_and_request_become_fields) {
  const auto line = nlohmann::json::parse(
      json_log_line(kAt, "info", "[auth] [e5615912-7] 127.0.0.1 POST /api/v1/auth/login 200 1.9ms", ""));
  BOOST_TEST(line["time"] == "2026-03-03T09:00:00.000042Z");
  BOOST_TEST(line["level"] == "info");
  BOOST_TEST(line["component"] == "auth");
  BOOST_TEST(line["request_id"] == "e5615912-7");
  BOOST_TEST(line["message"] == "127.0.0.1 POST /api/v1/auth/login 200 1.9ms");

  const auto plain =
      nlohmann::json::parse(json_log_line(kAt, "warning", "bus: publishing on inproc://x", ""));
  BOOST_TEST(!plain.contains("component"));
  BOOST_TEST(!plain.contains("request_id"));
  BOOST_TEST(plain["message"] == "bus: publishing on inproc://x");
}

BOOST_AUTO_TEST_CASE(a_line_written_while_handling_a_request_carries_its_id) {
  BOOST_TEST(current_request_id().empty());
  {
    const RequestScope scope("e5615912-9");
    BOOST_TEST(current_request_id() == "e5615912-9");
    const auto line =
        nlohmann::json::parse(json_log_line(kAt, "info", "[tracker] shuffled 3 tasks", current_request_id()));
    BOOST_TEST(line["component"] == "tracker");
    BOOST_TEST(line["request_id"] == "e5615912-9");
    BOOST_TEST(line["message"] == "shuffled 3 tasks");
  }
  BOOST_TEST(current_request_id().empty());
}

BOOST_AUTO_TEST_CASE(hostile_text_stays_one_valid_line) {
  for (const std::string& text :
       {std::string("quote \" backslash \\ newline \n tab \t"), std::string("\xff\xfe broken utf-8"),
        std::string("[unclosed bracket"), std::string("[] empty"), std::string("[a[b] nested"),
        std::string(1, '\0') + "nul"}) {
    const std::string out = json_log_line(kAt, "error", text, "");
    BOOST_TEST(out.find('\n') == std::string::npos, out);
    BOOST_TEST(nlohmann::json::accept(out), out);
  }
  BOOST_TEST(!use_log_format("xml").is_ok());
  BOOST_TEST(use_log_format("text").is_ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
