// Who is calling: the client address the host prints in its access log
// (and any per-address limit keys on), from the TCP peer and, behind
// trusted reverse proxies, from X-Forwarded-For. RESTinio-free:
// http_server.cpp hands the peer and the header in as text.
//
// Why only trusted proxies count: every proxy appends the address it got
// the request from to X-Forwarded-For, and the client may send the header
// with anything in it. So only the entries that trusted proxies appended
// are facts. The client address is the TCP peer unless that peer is a
// trusted proxy; then, reading the header from the right, the first entry
// that is not itself a trusted proxy. A malformed entry ends the walk at the
// trusted proxy that appended it (nothing to its left can be believed);
// a header of trusted proxies only gives its left-most entry.
//
// Thread-safety: IpAddress and TrustedProxies are values, immutable once
// parsed; share them between threads freely.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ates/base/status.hpp"

namespace ates::server {

// An IPv4 or IPv6 address. IPv4 is held as IPv4-mapped IPv6, so a peer seen
// by a dual-stack socket as ::ffff:10.0.0.1 and 10.0.0.1 are one address.
class IpAddress {
 public:
  // "10.0.0.1" or "2001:db8::1": no brackets, ports or zones.
  static std::optional<IpAddress> parse(std::string_view text);
  // A dotted quad for IPv4 (mapped ones too), RFC 5952 text for IPv6.
  std::string to_string() const;
  bool is_v4() const;
  // This address with every bit past the first `prefix` (of 128) cleared.
  IpAddress masked(int prefix) const;
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

// The reverse proxies whose X-Forwarded-For is believed: addresses, or
// CIDR ranges ("10.0.0.0/8", "fd00::/8").
class TrustedProxies {
 public:
  // An error names the entry it cannot read.
  static base::Result<TrustedProxies> parse(const std::vector<std::string>& entries);
  bool contains(const IpAddress& address) const;
  bool empty() const { return ranges_.empty(); }

 private:
  struct Range {
    IpAddress base;    // with the bits past `prefix` cleared
    int prefix = 128;  // over the 128-bit (mapped) form
  };
  std::vector<Range> ranges_;
};

// One X-Forwarded-For entry: an address, an IPv6 address in brackets, and
// either with a port ("192.0.2.1:4711", "[2001:db8::1]:4711"), as some
// proxies write them; surrounding spaces are ignored. Anything else
// (empty, "unknown", a host name) is nothing.
std::optional<IpAddress> parse_forwarded_entry(std::string_view entry);

// The client's address as text. `peer` is the TCP peer as the socket
// prints it (an IPv6 zone "%eth0" is dropped); `forwarded_for` is every
// X-Forwarded-For field of the request joined by commas, empty when there
// is none.
std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           const TrustedProxies& trusted);

}  // namespace ates::server
