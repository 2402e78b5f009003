// kudos: an example plugin, small but whole. Every task a popug completes
// earns them one kudo; GET /api/v1/kudos/board lists the popugs by kudos.
//
// It shows what every plugin does:
// - it consumes a stream of the bus (tracker.tasks) into its own LMDB
//   environment, exactly once: the count and the consumer's offset commit
//   in one transaction, so a crash or a reload neither loses nor doubles a
//   kudo;
// - it serves a route, for any signed-in user;
// - it keeps no state outside its environment, so a hot reload (a rebuild
//   under `ates serve --dev`) swaps the code and keeps every kudo.
#include <algorithm>
#include <string>
#include <vector>

#include "ates/plugin_api/plugin.hpp"
#include "ates/protocol/dispatch.hpp"

namespace kudos {

using ates::base::Status;
using ates::plugin_api::Access;
using ates::plugin_api::Contract;
using ates::plugin_api::HostContext;
using ates::plugin_api::Method;
using ates::plugin_api::Request;
using ates::plugin_api::Responder;
using ates::plugin_api::Response;
using ates::plugin_api::Schema;
using ates::protocol::Envelope;
using ates::storage::WriteTxn;

// The board's title; docs/plugins.md edits it to show a hot reload.
constexpr const char* kBoardTitle = "Kudos for completed tasks";

// One popug's row in the `kudos` table, keyed by user id.
struct Kudos {
  std::uint64_t count = 0;
  std::string last_task_id;
  MSGPACK_DEFINE_MAP(count, last_task_id)
};

class KudosPlugin final : public ates::plugin_api::Plugin {
 public:
  explicit KudosPlugin(HostContext& host) : host_(host), kudos_(host.storage().table<Kudos>("kudos")) {
    host.subscribe(std::string(ates::protocol::kTasksStream),
                   [this](WriteTxn& txn, const Envelope& event) { return apply(txn, event); });
  }

  Status start() override {
    // The contract says what the route answers: the host lists it in
    // /api/v1/openapi.json and checks each request against it before
    // board() runs (this route takes no parameters and no body).
    host_.add_route({Method::kGet, "/board", Access::any_role(),
                     [this](const Request&, const Responder& respond) { board(respond); },
                     "popugs by the kudos their completed tasks earned",
                     Contract{.answers = {{200, "the board, most kudos first", board_schema()}}}});
    return Status::ok();
  }
  void stop() override {}

 private:
  // Runs inside the bus's transaction: what it writes commits with the
  // consumer's offset, or not at all. dispatch() decodes the one event
  // type it handles (a payload that does not decode is a dead letter, with
  // nothing written) and skips the others.
  Status apply(WriteTxn& txn, const Envelope& event) {
    return ates::protocol::dispatch(event, [&](const ates::protocol::TaskCompleted& completed) -> Status {
      if (!ates::storage::is_storable_key(completed.assignee_id)) {
        return ates::base::invalid_argument("TaskCompleted without a usable assignee_id");
      }
      Kudos kudos = kudos_.get(txn, completed.assignee_id).value_or(Kudos{});
      ++kudos.count;
      kudos.last_task_id = completed.task_id;
      kudos_.put(txn, completed.assignee_id, kudos);
      return Status::ok();
    });
  }

  // What board() answers, field by field.
  static Schema board_schema() {
    const Schema row = Schema::object({{"user_id", Schema::uuid()}, {"kudos", Schema::integer().minimum(1)}});
    return Schema::object({{"title", Schema::string()}, {"board", Schema::array(row)}});
  }

  void board(const Responder& respond) const {
    struct Row {
      std::string user_id;
      std::uint64_t count;
    };
    std::vector<Row> rows;
    {
      const auto txn = host_.storage().read();
      kudos_.scan(txn, "", [&](std::string_view user_id, const Kudos& kudos) {
        rows.push_back({std::string(user_id), kudos.count});
        return true;
      });
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.count > b.count; });
    nlohmann::json list = nlohmann::json::array();
    for (const auto& row : rows) list.push_back({{"user_id", row.user_id}, {"kudos", row.count}});
    respond(Response::json(200, {{"title", kBoardTitle}, {"board", std::move(list)}}));
  }

  HostContext& host_;
  ates::storage::Table<Kudos> kudos_;
};

}  // namespace kudos

ATES_DEFINE_PLUGIN("kudos", kudos::KudosPlugin, nullptr, 0)
