// What a plugin's "audit" command answers (plugin API 2.1): `ates audit`
// runs that command on every plugin that registered it, against a running
// server or on plugins loaded read-only (docs/operations.md, "Audit"), and
// prints the reports. A plugin checks its own state against the streams it
// consumes (HostContext::read_stream): it reads its state first, then the
// producer, and compares only up to what it applied, so the producer's
// newer events are a lag, reported as such, never a mismatch.
//
// The report as JSON:
//   {"checks": [{"check": "charges", "summary": "…", "mismatches": ["…"]}],
//    "lags":   [{"consumer": "accounting", "stream": "tracker.tasks",
//                "applied": 10, "head": 12}],
//    "notes":  ["…"]}
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace ates::plugin_api {

class AuditReport {
 public:
  // Begins a check; summary() and mismatch() apply to the one begun last.
  void check(std::string name) {
    checks_.push_back({{"check", std::move(name)}, {"summary", ""}, {"mismatches", nlohmann::json::array()}});
  }
  void summary(std::string line) { current()["summary"] = std::move(line); }
  void mismatch(std::string what) {
    current()["mismatches"].push_back(std::move(what));
    ++mismatches_;
  }
  // Recorded only when the consumer is behind.
  void lag(std::string consumer, std::string stream, std::uint64_t applied, std::uint64_t head) {
    if (head <= applied) return;
    lags_.push_back({{"consumer", std::move(consumer)},
                     {"stream", std::move(stream)},
                     {"applied", applied},
                     {"head", head}});
  }
  // Something the audit could not check, and why.
  void note(std::string text) { notes_.push_back(std::move(text)); }

  std::size_t mismatches() const { return mismatches_; }
  nlohmann::json to_json() const { return {{"checks", checks_}, {"lags", lags_}, {"notes", notes_}}; }

 private:
  nlohmann::json& current() {
    if (checks_.empty()) check("audit");
    return checks_.back();
  }

  nlohmann::json checks_ = nlohmann::json::array();
  nlohmann::json lags_ = nlohmann::json::array();
  nlohmann::json notes_ = nlohmann::json::array();
  std::size_t mismatches_ = 0;
};

}  // namespace ates::plugin_api
