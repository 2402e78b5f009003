// The bus's contract for machines, made from the event registry
// (protocol/registry.hpp), as docs/events.md is for people:
//
// - payload_schema(): the JSON Schema of one (event, version)'s payload,
//   in the draft-07 dialect AsyncAPI reads by default. MessagePack has what
//   JSON lacks, said with x- annotations: binary fields
//   (`x-msgpack-type: bin`, their sizes in bytes) and times (integers of
//   UTC microseconds, `x-unit`).
// - asyncapi_document(): an AsyncAPI 3.0 document. Every stream is a
//   channel; every (event, version) a message (`Name.vN`) whose payload is
//   that schema and whose headers are the envelope; each stream's
//   producer sends and each consumer receives. It names no server: the
//   bus's endpoints and keys are configuration, not something to hand to
//   whoever reads the document (docs/events.md).
#pragma once

#include <nlohmann/json.hpp>

#include "ates/protocol/schema.hpp"

namespace ates::server {

nlohmann::json payload_schema(const protocol::EventSchema& event);
nlohmann::json envelope_schema();
nlohmann::json asyncapi_document();

}  // namespace ates::server
