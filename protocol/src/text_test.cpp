#include "ates/protocol/text.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::protocol {
namespace {

// The refused code point as a number (-1: none), so failures print it.
long found(std::string_view text, Lines lines) {
  const auto c = forbidden_character(text, lines);
  return c ? static_cast<long>(*c) : -1;
}

BOOST_AUTO_TEST_SUITE(text)

BOOST_AUTO_TEST_CASE(plain_text_of_any_script_is_clean) {
  for (const std::string text : {"", "Feed the popugs", "caf\xc3\xa9", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",
                                 "\xe2\x80\x8f marks stay", "emoji \xf0\x9f\xa6\x9c",
                                 "a\xef\xbf\xbd"
                                 "b"}) {
    BOOST_TEST(found(text, Lines::kSingle) == -1, text);
    BOOST_TEST(found(text, Lines::kMulti) == -1, text);
  }
}

BOOST_AUTO_TEST_CASE(controls_separators_and_bidi_overrides_are_refused_everywhere) {
  const std::pair<std::string, char32_t> cases[] = {
      {std::string("a\0b", 3), 0x0},
      {"a\x01", 0x1},
      {"\x1b[2J", 0x1b},
      {"a\x7f", 0x7f},
      {"a\xc2\x80", 0x80},
      {"a\xc2\x85", 0x85},
      {"a\xc2\x9f", 0x9f},
      {"a\xe2\x80\xa8", 0x2028},
      {"a\xe2\x80\xa9", 0x2029},
      {"a\xe2\x80\xaa", 0x202a},
      {"a\xe2\x80\xae", 0x202e},
      {"a\xe2\x81\xa6", 0x2066},
      {"a\xe2\x81\xa9", 0x2069},
      {"a\rb", 0x0d},
      {"a\r", 0x0d},
      {"\x0b", 0x0b},
      {"\x0c", 0x0c},
  };
  for (const auto& [text, code_point] : cases) {
    BOOST_TEST(found(text, Lines::kSingle) == static_cast<long>(code_point), code_point_name(code_point));
    BOOST_TEST(found(text, Lines::kMulti) == static_cast<long>(code_point), code_point_name(code_point));
  }
  // Neighbours of the refused ranges stay allowed.
  for (const std::string text :
       {"\x20", "\x7e", "\xc2\xa0", "\xe2\x80\xa7", "\xe2\x80\xaf", "\xe2\x81\xa5", "\xe2\x81\xaa"}) {
    BOOST_TEST(found(text, Lines::kSingle) == -1);
  }
}

BOOST_AUTO_TEST_CASE(tabs_and_line_breaks_only_in_multi_line_text) {
  for (const std::string text : {"a\tb", "a\nb", "a\r\nb", "a\r\n", "\n\n\t"}) {
    BOOST_TEST(found(text, Lines::kMulti) == -1, text);
    BOOST_TEST(found(text, Lines::kSingle) != -1, text);
  }
  BOOST_TEST(found("a\r\rb", Lines::kMulti) == 0x0d);
  BOOST_TEST(found("a\n\rb", Lines::kMulti) == 0x0d);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_refused_as_u_fffd) {
  for (const std::string text : {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x80"}) {
    BOOST_TEST(found(text, Lines::kSingle) == 0xfffd);
  }
  BOOST_TEST(code_point_name(0x7) == "U+0007");
  BOOST_TEST(code_point_name(0x202e) == "U+202E");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::protocol
