// Upcasters: every consumer reads old event versions through these, so
// handlers only ever see the latest shape of each event.
#pragma once

#include "ates/protocol/envelope.hpp"
#include "ates/protocol/events.hpp"

namespace ates::protocol {

// TaskCreated v1 → v2. "[UBERPOP-42] Title" becomes jira_id "UBERPOP-42"
// and title "Title". A title without that prefix stays the title. Brackets
// left anywhere in the title are dropped (v2 forbids them), and a title that
// would end up empty becomes the jira id. The description is empty.
TaskCreated upcast(const TaskCreatedV1& v1);

// Rewrites a validated envelope of an old version into the latest version
// of the same event (same id, seq and time); the latest version passes
// through unchanged. The payload of the result is valid for its schema.
base::Result<Envelope> upcast(Envelope envelope);

}  // namespace ates::protocol
