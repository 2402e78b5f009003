// How money follows the tracker's changes (MISSION 9): one interface, two
// links chosen by tracker.charge_link.
//   events (default): nothing to do here; accounting charges from the
//     TaskAssigned/TaskCompleted events asynchronously, and the tracker keeps
//     working while accounting is down.
//   rpc: a two-phase charge with accounting over the bus (DESIGN §7); it is
//     built with the accounting plugin and refused at start until then.
#pragma once

#include <memory>
#include <string>

#include "ates/protocol/status.hpp"

namespace ates::tracker {

class ChargeLink {
 public:
  virtual ~ChargeLink() = default;
  virtual std::string_view name() const = 0;
};

class EventsChargeLink final : public ChargeLink {
 public:
  std::string_view name() const override { return "events"; }
};

inline protocol::Result<std::unique_ptr<ChargeLink>> make_charge_link(const std::string& name) {
  if (name == "events") return std::unique_ptr<ChargeLink>(std::make_unique<EventsChargeLink>());
  if (name == "rpc") {
    return protocol::Status(
        protocol::Code::kUnavailable,
        "tracker.charge_link = rpc needs accounting's charge endpoint, which is not built yet");
  }
  return protocol::invalid_argument("bad value for 'tracker.charge_link': expected events or rpc, got '" +
                                    name + "'");
}

}  // namespace ates::tracker
