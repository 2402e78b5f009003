// Text people type that ates shows to other people or writes into mail and
// logs (task titles and descriptions, usernames, emails): which characters
// it refuses at the HTTP input, so none of it can forge a log line, split a
// mail header, move a terminal's cursor or read differently than it is
// stored.
//
// Refused everywhere:
// - C0 controls U+0000..U+001F (the single-line fields have no room for a
//   line break, and an escape sequence drives a terminal);
// - DEL U+007F and the C1 controls U+0080..U+009F (U+0085 is a line break,
//   U+009B a terminal's escape);
// - the line and paragraph separators U+2028 and U+2029, line breaks to
//   JavaScript and to some mail readers;
// - the bidirectional embeddings and overrides U+202A..U+202E and isolates
//   U+2066..U+2069, which make text read in another order than it is
//   stored ("Trojan Source"). Plain right-to-left text needs none of them
//   (the marks U+200E and U+200F stay allowed).
// Allowed in multi-line text (a description) only: tab, line feed, and a
// carriage return directly before a line feed (what a browser's text area
// sends); a lone carriage return is refused, as it rewrites a line.
//
// Only the HTTP input checks this; the event registry does not, so events
// written before still replay. Pure functions: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ates::protocol {

enum class Lines { kSingle, kMulti };

// The first character of `text` it may not hold, or nothing when it is
// clean. Invalid UTF-8 answers U+FFFD.
std::optional<char32_t> forbidden_character(std::string_view text, Lines lines);

// "U+0007", for an error message.
std::string code_point_name(char32_t code_point);

}  // namespace ates::protocol
