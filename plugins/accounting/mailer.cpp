#include "mailer.hpp"

#include <cstring>
#include <ctime>
#include <fstream>

#include <curl/curl.h>

namespace ates::accounting {

namespace {

std::string rfc5322_date(std::int64_t time_us) {
  const std::time_t seconds = static_cast<std::time_t>(time_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return text;
}

struct Upload {
  const std::string& text;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, upload->text.size() - upload->offset);
  // curl reads `n` bytes, not a C string: no terminator belongs here.
  // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
  std::memcpy(buffer, upload->text.data() + upload->offset, n);
  upload->offset += n;
  return n;
}

base::Status send_smtp(const MailSettings& settings, const MailMessage& message) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return base::Status(base::Code::kInternal, "curl_easy_init failed");
  const std::string text = render(message);
  Upload upload{text};
  // The envelope too: no control character reaches an SMTP command line.
  const std::string from = "<" + header_value(message.from) + ">";
  curl_slist* recipients = curl_slist_append(nullptr, ("<" + header_value(message.to) + ">").c_str());
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, settings.smtp_url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, settings.timeout_s);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(recipients);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return base::Status(base::Code::kUnavailable,
                        "smtp: " + std::string(error[0] != 0 ? error : curl_easy_strerror(rc)));
  }
  return base::Status::ok();
}

base::Status write_eml(const MailSettings& settings, const MailMessage& message) {
  std::error_code ec;
  std::filesystem::create_directories(settings.eml_dir, ec);
  if (ec) return base::Status(base::Code::kUnavailable, "mail dir: " + ec.message());
  // Written aside, then renamed: a reader never sees half a message, and a
  // second delivery of the same receipt replaces the file with itself.
  const auto final_path = settings.eml_dir / (message.message_id + ".eml");
  const auto temp_path = settings.eml_dir / ("." + message.message_id + ".eml.tmp");
  {
    std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
    out << render(message);
    out.flush();
    if (!out) return base::Status(base::Code::kUnavailable, "cannot write " + temp_path.string());
  }
  std::filesystem::rename(temp_path, final_path, ec);
  if (ec)
    return base::Status(base::Code::kUnavailable, "rename " + final_path.string() + ": " + ec.message());
  return base::Status::ok();
}

}  // namespace

std::string header_value(std::string value) {
  for (char& c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = ' ';
  }
  return value;
}

std::string crlf_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;  // CRLF stays one line break
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string render(const MailMessage& message) {
  // A header value never carries a line break: that would let data add headers.
  const auto header = [](const std::string& value) { return header_value(value); };
  std::string out;
  out += "Message-ID: <" + header(message.message_id) + ">\r\n";
  out += "Date: " + rfc5322_date(message.date_us) + "\r\n";
  out += "From: " + header(message.from) + "\r\n";
  out += "To: " + header(message.to) + "\r\n";
  out += "Subject: " + header(message.subject) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\n";
  // Every line break becomes CRLF, whichever spelling it came in (CRLF,
  // a bare LF or a bare CR): SMTP sees no bare CR or LF, so no text from a
  // task or a user can end the DATA early or smuggle a line in.
  out += crlf_lines(message.body);
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

base::Status deliver(const MailSettings& settings, const MailMessage& message) {
  return settings.smtp_url.empty() ? write_eml(settings, message) : send_smtp(settings, message);
}

}  // namespace ates::accounting
