#include "mailer.hpp"

#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "ates/testing/temp_dir.hpp"

namespace ates::accounting {
namespace {

MailMessage receipt() {
  return {.message_id = "0c6f1f86-7e0e-8a55-9d3e-2a61c8d7e4b1@ates",
          .from = "accounting@ates.local",
          .to = "popug@example.com",
          .subject = "Your payout for 2026-03-03: $12.00",
          .body = "Hello popug,\n\nUberPopug Inc paid you $12.00.\n",
          .date_us = std::int64_t{1772496000} * 1'000'000};
}

BOOST_AUTO_TEST_SUITE(mailer)

BOOST_AUTO_TEST_CASE(a_message_is_rfc5322_with_crlf_and_the_payout_as_message_id) {
  const std::string text = render(receipt());
  BOOST_TEST(text.starts_with("Message-ID: <0c6f1f86-7e0e-8a55-9d3e-2a61c8d7e4b1@ates>\r\n"));
  BOOST_TEST(text.find("Date: Tue, 03 Mar 2026 00:00:00 +0000\r\n") != std::string::npos);
  BOOST_TEST(text.find("To: popug@example.com\r\n") != std::string::npos);
  BOOST_TEST(text.find("\r\n\r\nHello popug,\r\n\r\nUberPopug Inc paid you $12.00.\r\n") !=
             std::string::npos);
  BOOST_TEST(text.find("\n\n") == std::string::npos);  // no bare line feeds
}

BOOST_AUTO_TEST_CASE(every_line_break_of_the_body_becomes_crlf) {
  MailMessage message = receipt();
  message.body = "a\rb\nc\r\nd\r\r\ne\n.\r\nf\r";
  const std::string text = render(message);
  const std::string body = text.substr(text.find("\r\n\r\n") + 4);
  BOOST_TEST(body == "a\r\nb\r\nc\r\nd\r\n\r\ne\r\n.\r\nf\r\n");
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r')
      BOOST_TEST_REQUIRE((i + 1 < text.size() && text[i + 1] == '\n'), "a bare CR at " << i);
    if (text[i] == '\n') BOOST_TEST_REQUIRE((i > 0 && text[i - 1] == '\r'), "a bare LF at " << i);
  }
}

BOOST_AUTO_TEST_CASE(a_line_break_in_a_header_value_cannot_add_a_header) {
  MailMessage message = receipt();
  message.to = "popug@example.com\r\nBcc: everyone@example.com";
  const std::string text = render(message);
  BOOST_TEST(text.find("\r\nBcc:") == std::string::npos);
}

// Every CR is followed by LF and every LF preceded by CR.
bool only_crlf(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) return false;
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) return false;
  }
  return true;
}

BOOST_AUTO_TEST_CASE(crlf_lines_makes_one_crlf_of_each_spelling_of_a_line_break) {
  BOOST_TEST(crlf_lines("a\nb") == "a\r\nb");
  BOOST_TEST(crlf_lines("a\r\nb") == "a\r\nb");
  BOOST_TEST(crlf_lines("a\rb") == "a\r\nb");
  BOOST_TEST(crlf_lines("a\r\r\nb") == "a\r\n\r\nb");
  BOOST_TEST(crlf_lines("a\n\rb") == "a\r\n\r\nb");
  BOOST_TEST(crlf_lines("\r") == "\r\n");
  BOOST_TEST(crlf_lines("") == "");
  // A task title from an old event, with every kind of break, in a receipt.
  MailMessage message = receipt();
  message.body = "Hello,\r\nentries:\n  feed\rthe popugs\r\r\n.\r\nQUIT\rend";
  const std::string text = render(message);
  BOOST_TEST(only_crlf(text), text);
  BOOST_TEST(text.ends_with("\r\n.\r\nQUIT\r\nend\r\n"));  // curl dot-stuffs the lone '.'
}

BOOST_AUTO_TEST_CASE(headers_carry_no_control_character_at_all) {
  MailMessage message = receipt();
  message.subject = "Your payout\rBcc: a@example.com\x01\x7f";
  message.to = "popug@example.com\nX-Evil: 1";
  message.from = "accounting@ates.local\r\n";
  const std::string text = render(message);
  BOOST_TEST(only_crlf(text), text);
  const std::string headers = text.substr(0, text.find("\r\n\r\n"));
  BOOST_TEST(headers.find("\r\nBcc:") == std::string::npos);
  BOOST_TEST(headers.find("\r\nX-Evil:") == std::string::npos);
  BOOST_TEST(headers.find('\x01') == std::string::npos);
  BOOST_TEST(headers.find('\x7f') == std::string::npos);
  BOOST_TEST(headers.find("Subject: Your payout Bcc: a@example.com  \r\n") != std::string::npos, headers);
  BOOST_TEST(header_value("a\tb\x1b[2Jc") == "a b [2Jc");
  BOOST_TEST(header_value("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 stays
}

BOOST_AUTO_TEST_CASE(without_smtp_each_message_is_one_eml_file) {
  testing::TempDir dir;
  const MailSettings settings{.smtp_url = {}, .eml_dir = dir / "mail"};
  BOOST_TEST_REQUIRE(deliver(settings, receipt()).is_ok());
  BOOST_TEST_REQUIRE(deliver(settings, receipt()).is_ok());  // again: the same file, not a second one
  std::size_t files = 0;
  for (const auto& file : std::filesystem::directory_iterator(dir / "mail")) {
    ++files;
    BOOST_TEST(file.path().filename() == "0c6f1f86-7e0e-8a55-9d3e-2a61c8d7e4b1@ates.eml");
    std::ifstream in(file.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    BOOST_TEST(text.str() == render(receipt()));
  }
  BOOST_TEST(files == 1u);
}

BOOST_AUTO_TEST_CASE(an_unreachable_smtp_server_is_an_error_to_retry) {
  const MailSettings settings{.smtp_url = "smtp://127.0.0.1:1", .eml_dir = {}, .timeout_s = 5};
  const auto status = deliver(settings, receipt());
  BOOST_TEST(!status.is_ok());
  BOOST_TEST(status.message().starts_with("smtp: "), status.message());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::accounting
