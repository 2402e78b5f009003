// The command line's side of the control socket (control_server.hpp is the
// server's): `ates status`, `plugin reload|stop|start`, `events streams`,
// `dead-letters`, the plugin commands, and `ates audit`, which goes there
// when a server runs and loads the plugins read-only when none does.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config.hpp"

namespace ates::server {

// Sends one command to the server running on `data`; its answer, or
// nothing (said on stderr) when no server runs there or none answers
// within `timeout` (std::nullopt: wait as long as it takes).
std::optional<nlohmann::json> ask_server(
    const std::string& data, const nlohmann::json& command,
    std::optional<std::chrono::milliseconds> timeout = std::chrono::seconds(60));

// ask_server, printing the answer as JSON; 0 when it says ok.
int control_and_print(const std::string& data, const nlohmann::json& command);

// `ates audit`: the plugins' audits through the running server (waiting
// as long as they take: a large ledger's may take minutes), or, when none
// runs, on the plugins of `sources` loaded read-only (ReadOnlyHost) from
// `exe`'s folders. Prints the reports; 1 on a mismatch or when a plugin
// was not audited.
int audit_command(const std::string& data, const ConfigSources& sources, const std::filesystem::path& exe);

}  // namespace ates::server
