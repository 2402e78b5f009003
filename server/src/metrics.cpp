#include "metrics.hpp"

#include <array>
#include <charconv>

namespace ates::server {

namespace {

constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1,    10};

std::string escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string label_text(const Labels& labels, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
  std::string out;
  for (const auto& [name, value] : labels)
    out += (out.empty() ? "" : ",") + name + "=\"" + escape(value) + "\"";
  if (!extra_name.empty()) {
    out += (out.empty() ? "" : ",") + std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  return out.empty() ? out : "{" + out + "}";
}

// The shortest text that reads back as the same double.
std::string number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

}  // namespace

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, Kind kind, std::string_view help) {
  auto it = families_.find(name);
  if (it == families_.end())
    it = families_.emplace(std::string(name), Family{kind, std::string(help), {}, {}}).first;
  return it->second;
}

void MetricsRegistry::add(std::string_view name, const Labels& labels, double value, std::string_view help) {
  std::lock_guard lock(mutex_);
  family(name, Kind::kCounter, help).values[labels] += value;
}

void MetricsRegistry::set_total(std::string_view name, const Labels& labels, double value,
                                std::string_view help) {
  std::lock_guard lock(mutex_);
  family(name, Kind::kCounter, help).values[labels] = value;
}

void MetricsRegistry::set(std::string_view name, const Labels& labels, double value, std::string_view help) {
  std::lock_guard lock(mutex_);
  family(name, Kind::kGauge, help).values[labels] = value;
}

void MetricsRegistry::observe(std::string_view name, const Labels& labels, double seconds,
                              std::string_view help) {
  std::lock_guard lock(mutex_);
  Histogram& histogram = family(name, Kind::kHistogram, help).histograms[labels];
  if (histogram.buckets.empty()) histogram.buckets.assign(kBuckets.size(), 0);
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++histogram.buckets[i];
      break;
    }
  }
  histogram.sum += seconds;
  ++histogram.count;
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    const char* type = family.kind == Kind::kCounter ? "counter"
                       : family.kind == Kind::kGauge ? "gauge"
                                                     : "histogram";
    out += "# HELP " + name + " " + escape(family.help) + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, value] : family.values)
      out += name + label_text(labels) + " " + number(value) + "\n";
    for (const auto& [labels, histogram] : family.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        cumulative += histogram.buckets[i];
        out += name + "_bucket" + label_text(labels, "le", number(kBuckets[i])) + " " +
               std::to_string(cumulative) + "\n";
      }
      out +=
          name + "_bucket" + label_text(labels, "le", "+Inf") + " " + std::to_string(histogram.count) + "\n";
      out += name + "_sum" + label_text(labels) + " " + number(histogram.sum) + "\n";
      out += name + "_count" + label_text(labels) + " " + std::to_string(histogram.count) + "\n";
    }
  }
  return out;
}

void StorageMetrics::on_commit(const storage::CommitInfo& info) {
  const Labels labels{{"plugin", plugin_}};
  metrics_.add("ates_storage_commits_total", labels, 1, "write transactions committed");
  metrics_.add("ates_storage_units_total", labels, static_cast<double>(info.units),
               "units committed; divided by commits: the average batch");
  metrics_.set("ates_storage_last_batch_units", labels, static_cast<double>(info.units),
               "units in the last batch");
  metrics_.observe("ates_storage_commit_duration_seconds", labels, info.commit_seconds,
                   "from a batch's begin to its durable commit");
  for (const auto& head : info.heads) {
    const Labels stream{{"stream", head.stream}};
    metrics_.set("ates_outbox_head_seq", stream, static_cast<double>(head.head_seq),
                 "newest sequence of a stream");
    metrics_.set("ates_outbox_watermark_seconds", stream, static_cast<double>(head.watermark) / 1e6,
                 "every event before this time has seq <= head");
  }
}

}  // namespace ates::server
