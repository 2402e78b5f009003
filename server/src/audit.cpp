#include "audit.hpp"

namespace ates::server {

nlohmann::json gather_audit(
    const std::vector<AuditSubject>& subjects,
    const std::function<base::Result<nlohmann::json>(const std::string& plugin)>& run_audit) {
  nlohmann::json audited = nlohmann::json::array();
  nlohmann::json notes = nlohmann::json::array();
  for (const auto& subject : subjects) {
    // A plugin that does not run may keep money nobody checked: the audit
    // is incomplete, not clean.
    if (!subject.runs) {
      audited.push_back({{"plugin", subject.plugin}, {"error", "not audited: " + subject.why}});
      continue;
    }
    if (!subject.has_audit) continue;
    try {
      auto report = run_audit(subject.plugin);
      if (report) {
        audited.push_back({{"plugin", subject.plugin}, {"report", std::move(report).value()}});
      } else {
        audited.push_back({{"plugin", subject.plugin}, {"error", report.status().message()}});
      }
    } catch (const std::exception& e) {
      audited.push_back({{"plugin", subject.plugin}, {"error", std::string("its audit threw: ") + e.what()}});
    } catch (...) {
      audited.push_back({{"plugin", subject.plugin}, {"error", "its audit threw"}});
    }
  }
  return {{"audited", audited}, {"notes", notes}};
}

namespace {

// A plugin's report as plugin_api::AuditReport makes it; anything else is
// the plugin's error, not a clean audit.
bool is_report(const nlohmann::json& report) {
  if (!report.is_object()) return false;
  for (const char* key : {"checks", "lags", "notes"}) {
    if (!report.contains(key) || !report[key].is_array()) return false;
  }
  for (const auto& check : report["checks"]) {
    if (!check.is_object() || !check.value("check", nlohmann::json()).is_string() ||
        !check.value("summary", nlohmann::json()).is_string() ||
        !check.value("mismatches", nlohmann::json()).is_array())
      return false;
    for (const auto& mismatch : check["mismatches"]) {
      if (!mismatch.is_string()) return false;
    }
  }
  for (const auto& lag : report["lags"]) {
    if (!lag.is_object() || !lag.value("consumer", nlohmann::json()).is_string() ||
        !lag.value("stream", nlohmann::json()).is_string() ||
        !lag.value("applied", nlohmann::json()).is_number_unsigned() ||
        !lag.value("head", nlohmann::json()).is_number_unsigned())
      return false;
  }
  for (const auto& note : report["notes"]) {
    if (!note.is_string()) return false;
  }
  return true;
}

}  // namespace

AuditVerdict print_audit(const nlohmann::json& gathered, const std::string& where, std::ostream& out) {
  AuditVerdict verdict;
  out << "audit of " << where << "\n";
  std::vector<std::string> audited;
  const auto field = [](const nlohmann::json& object, const char* key) {
    return object.is_object() && object.contains(key) ? object[key] : nlohmann::json();
  };
  const auto text = [&](const nlohmann::json& object, const char* key, const std::string& otherwise) {
    const auto value = field(object, key);
    return value.is_string() ? value.get<std::string>() : otherwise;
  };
  const auto list = field(gathered, "audited");
  for (const auto& item : list.is_array() ? list : nlohmann::json::array()) {
    const std::string plugin = text(item, "plugin", "?");
    const auto report = field(item, "report");
    if (!is_report(report)) {
      ++verdict.errors;
      out << "ERROR " << plugin << ": " << text(item, "error", "its audit answered no report") << "\n";
      continue;
    }
    audited.push_back(plugin);
    for (const auto& check : report["checks"]) {
      out << check["check"].get<std::string>() << ": " << check["summary"].get<std::string>() << "\n";
      for (const auto& mismatch : check["mismatches"]) {
        ++verdict.mismatches;
        out << "MISMATCH " << mismatch.get<std::string>() << "\n";
      }
    }
    for (const auto& lag : report["lags"]) {
      const auto applied = lag["applied"].get<std::uint64_t>();
      const auto head = lag["head"].get<std::uint64_t>();
      out << "lag " << (head > applied ? head - applied : 0) << ": " << lag["consumer"].get<std::string>()
          << " has applied " << lag["stream"].get<std::string>() << " up to " << applied << " of " << head
          << "\n";
    }
    for (const auto& note : report["notes"]) out << "note: " << note.get<std::string>() << "\n";
  }
  const auto notes = field(gathered, "notes");
  for (const auto& note : notes.is_array() ? notes : nlohmann::json::array()) {
    if (note.is_string()) out << "note: " << note.get<std::string>() << "\n";
  }
  std::string names;
  for (const auto& name : audited) names += (names.empty() ? "" : ", ") + name;
  if (verdict.errors > 0) {
    out << "audit: incomplete, " << verdict.errors << " plugins not audited";
    if (verdict.mismatches > 0) out << "; " << verdict.mismatches << " mismatches";
    out << "\n";
  } else if (verdict.mismatches > 0) {
    out << "audit: " << verdict.mismatches << " mismatches (audited: " << names << ")\n";
  } else if (audited.empty()) {
    out << "audit: nothing to reconcile (no plugin here keeps an audit)\n";
  } else {
    out << "audit: the money reconciles (audited: " << names << ")\n";
  }
  return verdict;
}

}  // namespace ates::server
