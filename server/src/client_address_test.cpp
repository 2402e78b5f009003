#include "client_address.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::server {
namespace {

TrustedProxies trust(const std::vector<std::string>& entries) {
  auto trusted = TrustedProxies::parse(entries);
  BOOST_TEST_REQUIRE(trusted.has_value(), trusted.status().to_string());
  return *trusted;
}

BOOST_AUTO_TEST_SUITE(client_addresses)

BOOST_AUTO_TEST_CASE(addresses_parse_and_print_canonically) {
  BOOST_TEST(IpAddress::parse("192.0.2.1")->to_string() == "192.0.2.1");
  BOOST_TEST(IpAddress::parse("2001:DB8:0:0:0:0:0:1")->to_string() == "2001:db8::1");
  // A dual-stack socket's view of an IPv4 peer is that IPv4 address.
  BOOST_TEST(IpAddress::parse("::ffff:192.0.2.1")->to_string() == "192.0.2.1");
  BOOST_TEST((*IpAddress::parse("::ffff:192.0.2.1") == *IpAddress::parse("192.0.2.1")));
  for (const char* bad : {"", "192.0.2", "192.0.2.256", "192.0.2.1.5", "01.2.3.4", "example.com",
                          "2001:db8::1::2", " 192.0.2.1", "192.0.2.1/24", "[::1]"}) {
    BOOST_TEST(!IpAddress::parse(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(trusted_proxies_are_addresses_or_ranges) {
  const TrustedProxies trusted = trust({"10.0.0.0/8", "192.0.2.7", "fd00::/8", "2001:db8::1"});
  BOOST_TEST(trusted.contains(*IpAddress::parse("10.200.3.4")));
  BOOST_TEST(trusted.contains(*IpAddress::parse("::ffff:10.1.1.1")));
  BOOST_TEST(!trusted.contains(*IpAddress::parse("11.0.0.1")));
  BOOST_TEST(trusted.contains(*IpAddress::parse("192.0.2.7")));
  BOOST_TEST(!trusted.contains(*IpAddress::parse("192.0.2.8")));
  BOOST_TEST(trusted.contains(*IpAddress::parse("fdab::5")));
  BOOST_TEST(!trusted.contains(*IpAddress::parse("fe80::5")));
  BOOST_TEST(trusted.contains(*IpAddress::parse("2001:db8::1")));
  BOOST_TEST(!trusted.contains(*IpAddress::parse("2001:db8::2")));
  // An IPv4 range does not swallow the IPv6 space around the mapped block.
  BOOST_TEST(!trust({"0.0.0.0/0"}).contains(*IpAddress::parse("::1")));
  BOOST_TEST(trust({"0.0.0.0/0"}).contains(*IpAddress::parse("203.0.113.9")));
  BOOST_TEST(trust({"192.0.2.0/25"}).contains(*IpAddress::parse("192.0.2.127")));
  BOOST_TEST(!trust({"192.0.2.0/25"}).contains(*IpAddress::parse("192.0.2.128")));
  BOOST_TEST(trust({}).empty());

  for (const char* bad :
       {"proxy.example", "10.0.0.0/33", "10.0.0.0/", "fd00::/129", "10.0.0.0/-1", "10.0.0.0/8x", ""}) {
    const auto parsed = TrustedProxies::parse({bad});
    BOOST_TEST(!parsed.has_value(), bad);
    BOOST_TEST(parsed.status().message().find("'" + std::string(bad) + "'") != std::string::npos,
               parsed.status().message());
  }
}

BOOST_AUTO_TEST_CASE(forwarded_entries_take_brackets_and_ports) {
  BOOST_TEST(parse_forwarded_entry(" 198.51.100.7 ")->to_string() == "198.51.100.7");
  BOOST_TEST(parse_forwarded_entry("198.51.100.7:4711")->to_string() == "198.51.100.7");
  BOOST_TEST(parse_forwarded_entry("2001:db8::7")->to_string() == "2001:db8::7");
  BOOST_TEST(parse_forwarded_entry("[2001:db8::7]")->to_string() == "2001:db8::7");
  BOOST_TEST(parse_forwarded_entry("[2001:db8::7]:443")->to_string() == "2001:db8::7");
  for (const char* bad :
       {"", "unknown", "_hidden", "198.51.100.7:", "198.51.100.7:99999", "198.51.100.7:x", "[198.51.100.7]",
        "[2001:db8::7", "[2001:db8::7]x", "[2001:db8::7]:", "host.example:80", "198.51.100.7 198.51.100.8"}) {
    BOOST_TEST(!parse_forwarded_entry(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(untrusted_peers_are_the_client_whatever_they_forward) {
  // No proxy is trusted by default: a spoofed header changes nothing.
  BOOST_TEST(client_address("203.0.113.9", "198.51.100.7", trust({})) == "203.0.113.9");
  // A peer outside the trusted set is the client even if proxies are trusted.
  BOOST_TEST(client_address("203.0.113.9", "198.51.100.7", trust({"10.0.0.1"})) == "203.0.113.9");
  BOOST_TEST(client_address("::ffff:203.0.113.9", "", trust({})) == "203.0.113.9");
  BOOST_TEST(client_address("fe80::1%eth0", "198.51.100.7", trust({})) == "fe80::1");
}

BOOST_AUTO_TEST_CASE(a_trusted_proxy_names_the_client) {
  const TrustedProxies trusted = trust({"10.0.0.1", "10.0.0.2"});
  BOOST_TEST(client_address("10.0.0.1", "198.51.100.7", trusted) == "198.51.100.7");
  // The right-most untrusted entry: what the client wrote itself is to its left.
  BOOST_TEST(client_address("10.0.0.1", "6.6.6.6, 198.51.100.7", trusted) == "198.51.100.7");
  // Chains of trusted proxies are walked through.
  BOOST_TEST(client_address("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2", trusted) == "198.51.100.7");
  // Several header fields arrive joined by commas.
  BOOST_TEST(client_address("10.0.0.1", "6.6.6.6,198.51.100.7:5000", trusted) == "198.51.100.7");
  // No header, or an empty one: the proxy itself is the client.
  BOOST_TEST(client_address("10.0.0.1", "", trusted) == "10.0.0.1");
  BOOST_TEST(client_address("10.0.0.1", "  ", trusted) == "10.0.0.1");
  // Only trusted proxies in the header: the left-most of them.
  BOOST_TEST(client_address("10.0.0.1", "10.0.0.2", trusted) == "10.0.0.2");
  // A dual-stack peer matches its IPv4 form in the trusted list.
  BOOST_TEST(client_address("::ffff:10.0.0.1", "198.51.100.7", trusted) == "198.51.100.7");
}

BOOST_AUTO_TEST_CASE(malformed_entries_stop_at_the_proxy_that_wrote_them) {
  const TrustedProxies trusted = trust({"10.0.0.1", "10.0.0.2"});
  BOOST_TEST(client_address("10.0.0.1", "unknown", trusted) == "10.0.0.1");
  BOOST_TEST(client_address("10.0.0.1", "198.51.100.7, garbage", trusted) == "10.0.0.1");
  BOOST_TEST(client_address("10.0.0.1", "198.51.100.7, garbage, 10.0.0.2", trusted) == "10.0.0.2");
  BOOST_TEST(client_address("10.0.0.1", "198.51.100.7,,", trusted) == "10.0.0.1");
  // Garbage left of the client is never read.
  BOOST_TEST(client_address("10.0.0.1", "garbage, 198.51.100.7", trusted) == "198.51.100.7");
}

BOOST_AUTO_TEST_CASE(ipv6_proxies_and_clients) {
  const TrustedProxies trusted = trust({"2001:db8:1::/48"});
  BOOST_TEST(client_address("2001:db8:1::5", "2001:db8:2::9", trusted) == "2001:db8:2::9");
  BOOST_TEST(client_address("2001:db8:1::5", "[2001:db8:2::9]:443, 2001:db8:1::6", trusted) ==
             "2001:db8:2::9");
  BOOST_TEST(client_address("2001:db8:1::5", "192.0.2.33", trusted) == "192.0.2.33");
  BOOST_TEST(client_address("2001:db8:2::5", "192.0.2.33", trusted) == "2001:db8:2::5");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
