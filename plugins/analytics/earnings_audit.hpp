// analytics' "audit" command (`ates audit`, docs/operations.md): the
// earnings of each day in the live read models against the fees and
// rewards accounting published on accounting.transactions, up to what
// analytics applied. Its own tables are read first, in one transaction
// (a rebuild's swap cannot fall between reading which set is live and
// reading it); the producer's newer events are a lag, not a mismatch.
#pragma once

#include <nlohmann/json.hpp>

#include "ates/plugin_api/context.hpp"

namespace ates::analytics {

base::Result<nlohmann::json> audit(plugin_api::HostContext& host);

}  // namespace ates::analytics
