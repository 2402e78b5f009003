#include "metrics.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::server {
namespace {

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(renders_the_prometheus_text_format) {
  MetricsRegistry registry;
  registry.add("ates_requests_total", {{"route", "/a\"b"}}, 2, "requests");
  registry.set("ates_head", {}, 7, "head");
  registry.observe("ates_latency_seconds", {{"route", "/a"}}, 0.003, "latency");
  registry.observe("ates_latency_seconds", {{"route", "/a"}}, 20, "latency");
  const std::string text = registry.render();
  BOOST_TEST(text.find("# TYPE ates_requests_total counter\n") != std::string::npos);
  BOOST_TEST(text.find("ates_requests_total{route=\"/a\\\"b\"} 2\n") != std::string::npos);
  BOOST_TEST(text.find("ates_head 7\n") != std::string::npos);
  BOOST_TEST(text.find("ates_latency_seconds_bucket{route=\"/a\",le=\"0.0025\"} 0\n") != std::string::npos);
  BOOST_TEST(text.find("ates_latency_seconds_bucket{route=\"/a\",le=\"0.005\"} 1\n") != std::string::npos);
  BOOST_TEST(text.find("ates_latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 2\n") != std::string::npos);
  BOOST_TEST(text.find("ates_latency_seconds_count{route=\"/a\"} 2\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
