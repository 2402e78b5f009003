#include "client_address.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <arpa/inet.h>

namespace ates::server {

namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  unsigned port = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && ptr == text.data() + text.size() && port <= 65535;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a terminated string; anything longer than the longest
  // IPv6 text is not an address anyway.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string terminated(text);
  IpAddress address;
  if (text.find(':') == std::string_view::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, terminated.c_str(), &v4) != 1) return std::nullopt;
    std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), address.bytes_.begin());
    std::memcpy(address.bytes_.data() + 12, &v4, 4);
    return address;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, terminated.c_str(), &v6) != 1) return std::nullopt;
  std::memcpy(address.bytes_.data(), &v6, 16);
  return address;
}

bool IpAddress::is_v4() const {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes_.begin());
}

IpAddress IpAddress::masked(int prefix) const {
  IpAddress out = *this;
  for (int bit = std::max(prefix, 0); bit < 128; ++bit) {
    out.bytes_[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
  }
  return out;
}

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, bytes_.data() + 12, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, bytes_.data(), text, sizeof text);
  }
  return text;
}

base::Result<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& entries) {
  TrustedProxies trusted;
  for (const std::string& entry : entries) {
    const std::string_view text = trim(entry);
    const auto slash = text.find('/');
    auto base = IpAddress::parse(text.substr(0, slash));
    if (!base) return base::invalid_argument("'" + entry + "' is not an IP address or a CIDR range");
    Range range{*base, 128};
    if (slash != std::string_view::npos) {
      const std::string_view bits = text.substr(slash + 1);
      int prefix = -1;
      const auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      const int max = base->is_v4() ? 32 : 128;
      if (bits.empty() || ec != std::errc() || ptr != bits.data() + bits.size() || prefix < 0 ||
          prefix > max) {
        return base::invalid_argument("'" + entry + "' has a bad prefix length (0.." + std::to_string(max) +
                                      ")");
      }
      range.prefix = base->is_v4() ? 96 + prefix : prefix;
    }
    // Clear the host bits once, so contains() compares the network only.
    range.base = range.base.masked(range.prefix);
    trusted.ranges_.push_back(range);
  }
  return trusted;
}

bool TrustedProxies::contains(const IpAddress& address) const {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [&](const Range& range) { return address.masked(range.prefix) == range.base; });
}

std::optional<IpAddress> parse_forwarded_entry(std::string_view entry) {
  entry = trim(entry);
  if (entry.starts_with('[')) {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = entry.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && is_port(rest.substr(1)))) return std::nullopt;
    auto address = IpAddress::parse(entry.substr(1, close - 1));
    if (!address || address->is_v4()) return std::nullopt;  // brackets are for IPv6 only
    return address;
  }
  // One colon: IPv4 with a port. More: IPv6 without brackets (no port).
  const auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    if (!is_port(entry.substr(colon + 1))) return std::nullopt;
    auto address = IpAddress::parse(entry.substr(0, colon));
    if (!address || !address->is_v4()) return std::nullopt;
    return address;
  }
  return IpAddress::parse(entry);
}

std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           const TrustedProxies& trusted) {
  const std::string_view peer_text = peer.substr(0, peer.find('%'));
  auto current = IpAddress::parse(peer_text);
  if (!current) return std::string(peer_text);  // not an IP peer: nothing to trust
  std::string_view rest = forwarded_for;
  while (trusted.contains(*current) && !trim(rest).empty()) {
    const auto comma = rest.rfind(',');
    const std::string_view entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    auto hop = parse_forwarded_entry(entry);
    if (!hop) break;  // the trusted proxy that appended garbage is the best we know
    current = hop;
  }
  return current->to_string();
}

}  // namespace ates::server
