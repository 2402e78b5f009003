// `ates audit` (docs/operations.md, "Audit"): the host's part is only to
// gather and print. Each plugin that keeps money checks itself through its
// "audit" command (plugin_api/audit.hpp): accounting its ledger against
// tracker.tasks, analytics its earnings against accounting.transactions.
// The host knows no plugin's tables. Against a running server the
// commands run there, through the control socket; with none, on the
// plugins loaded read-only (read_only_host.hpp).
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/base/status.hpp"

namespace ates::server {

// One plugin as the audit sees it: `runs` false when it is loaded but not
// running (stopped, failed), with `why`.
struct AuditSubject {
  std::string plugin;
  bool runs = true;
  bool has_audit = false;
  std::string why;
};

// Runs "audit" on each subject that has it:
//   {"audited": [{"plugin", "report"} | {"plugin", "error"}], "notes": []}
// A plugin that does not run, an audit that fails or throws, is an error
// (the audit is incomplete); `notes` is for what a caller adds.
nlohmann::json gather_audit(
    const std::vector<AuditSubject>& subjects,
    const std::function<base::Result<nlohmann::json>(const std::string& plugin)>& run_audit);

struct AuditVerdict {
  std::size_t mismatches = 0;
  std::size_t errors = 0;  // plugins not running, audits that failed or answered no report
  bool clean() const { return mismatches == 0 && errors == 0; }
};

// Prints what was checked, every mismatch, the lags and notes, and a last
// line with the verdict; `where` says what was audited (the first line).
AuditVerdict print_audit(const nlohmann::json& gathered, const std::string& where, std::ostream& out);

}  // namespace ates::server
