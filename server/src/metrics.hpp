// Prometheus metrics of the host: counters, gauges and histograms with
// labels, rendered in the text exposition format at GET /metrics.
// Thread-safe (one mutex; metrics are updated per request and per commit,
// not per event).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ates/storage/environment.hpp"

namespace ates::server {

// Sorted label pairs, e.g. {{"route", "/api/v1/tracker/tasks"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
 public:
  // `help` is recorded the first time a name is seen.
  void add(std::string_view name, const Labels& labels, double value, std::string_view help);
  void set(std::string_view name, const Labels& labels, double value, std::string_view help);
  // A counter kept elsewhere (the bus's), copied in at its current total.
  void set_total(std::string_view name, const Labels& labels, double value, std::string_view help);
  // Histogram with fixed buckets from 0.5 ms to 10 s.
  void observe(std::string_view name, const Labels& labels, double seconds, std::string_view help);

  std::string render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Histogram {
    std::vector<std::uint64_t> buckets;  // cumulative at render time
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct Family {
    Kind kind = Kind::kCounter;
    std::string help;
    std::map<Labels, double> values;
    std::map<Labels, Histogram> histograms;
  };
  Family& family(std::string_view name, Kind kind, std::string_view help);

  mutable std::mutex mutex_;  // guards families_
  std::map<std::string, Family, std::less<>> families_;
};

// Records each commit of one plugin's environment: commits, units per
// batch, commit time, and the heads and watermarks of its streams.
class StorageMetrics final : public storage::CommitObserver {
 public:
  StorageMetrics(MetricsRegistry& metrics, std::string plugin)
      : metrics_(metrics), plugin_(std::move(plugin)) {}
  void on_commit(const storage::CommitInfo& info) override;

 private:
  MetricsRegistry& metrics_;
  std::string plugin_;
};

}  // namespace ates::server
