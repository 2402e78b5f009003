// Receipts leave through here: SMTP through libcurl when
// `accounting.smtp_url` is set, otherwise one .eml file per message under
// <data>/mail/. The payout id is the Message-ID, so a copy sent twice (a
// crash between the server's 250 and our commit) is recognisably the same
// message.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ates/base/status.hpp"

namespace ates::accounting {

struct MailMessage {
  std::string message_id;  // without the angle brackets
  std::string from;
  std::string to;
  std::string subject;
  std::string body;  // plain text, UTF-8; lines separated by '\n' (CR and CRLF are taken as breaks too)
  std::int64_t date_us = 0;
};

// The message as RFC 5322 text with CRLF line ends (headers, blank line,
// body; body lines starting with '.' are not special here: curl and SMTP
// dot-stuff on the wire). Header values (and the SMTP envelope's addresses)
// go through header_value, the body through crlf_lines: data written
// before the HTTP input refused control characters (events replay as they
// were) still cannot add a header or put a bare CR or LF on the wire.
std::string render(const MailMessage& message);

// A header value with every control character (C0, DEL) made a space: no
// CR or LF, so no folded or added header.
std::string header_value(std::string value);

// Every line break as CRLF: a lone CR, a lone LF and a CRLF each become one
// CRLF, so no bare CR or LF reaches SMTP (RFC 5321 section 2.3.8).
std::string crlf_lines(std::string_view text);

struct MailSettings {
  std::string smtp_url;           // e.g. smtp://127.0.0.1:2525; empty: write .eml files
  std::filesystem::path eml_dir;  // <data>/mail
  long timeout_s = 30;
};

// Delivers one message; an error says why (and is retried by the caller).
base::Status deliver(const MailSettings& settings, const MailMessage& message);

}  // namespace ates::accounting
