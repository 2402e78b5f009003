// A test plugin named "tracker" (so it may publish on tracker.tasks), built
// in two variants that answer GET /variant differently. Its routes exercise
// what the host offers every plugin: publishing in a unit, Idempotency-Key,
// pagination, the config section, an authenticated route and the client
// address.
#include <atomic>

#include "ates/plugin_api/idempotency.hpp"
#include "ates/plugin_api/plugin.hpp"
#include "ates/protocol/events.hpp"

#ifndef ATES_TEST_PLUGIN_NAME
#define ATES_TEST_PLUGIN_NAME "tracker"
#endif

namespace {

using namespace ates;
using plugin_api::Access;
using plugin_api::Method;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;

const std::string kCreator = "22222222-2222-4222-8222-222222222222";

class EchoPlugin final : public plugin_api::Plugin {
 public:
  explicit EchoPlugin(plugin_api::HostContext& host) : host_(host), idempotency_(host.storage()) {
    cured_ = host.config().get_bool("accept_poison");
    if (host.plugin_name() == "tracker") {
      if (auto status = host.storage().declare_stream(protocol::kTasksStream); !status) {
        throw std::runtime_error(status.to_string());
      }
      // It also consumes its own stream through the bus, counting each
      // event once, so tests can see the host's bus at work.
      seen_ = host.storage().raw_table("seen");
      host.subscribe(
          std::string(protocol::kTasksStream),
          [this, seen = seen_](storage::WriteTxn& txn, const protocol::Envelope& event) -> base::Status {
            auto created = protocol::decode_payload<protocol::TaskCreated>(event);
            if (created && created->title == "poison" && !cured_.load()) {
              return {base::Code::kInvalidArgument, "poison is refused until POST /cure"};
            }
            if (!seen.put(txn, event.event_id, "", storage::Put::kIfAbsent)) {
              return {base::Code::kInternal, "event " + event.event_id + " applied twice"};
            }
            return base::Status::ok();
          });
      // Commands of the read-only tests, registered here so they work in
      // both modes: what the stream holds, read through the host, and a
      // write, which read-only storage refuses.
      host.add_command("count", [this](const nlohmann::json& args) -> base::Result<nlohmann::json> {
        auto events =
            host_.read_stream(args.value("stream", std::string(protocol::kTasksStream)),
                              args.value("from", std::uint64_t{1}), args.value("max", std::size_t{4096}));
        if (!events) return events.status();
        return nlohmann::json{
            {"events", events->size()},
            {"mode", host_.mode() == plugin_api::RunMode::kReadOnly ? "read-only" : "serve"}};
      });
      host.add_command("publish", [this](const nlohmann::json& args) -> base::Result<nlohmann::json> {
        const std::string title = args.value("title", "from a command");
        auto seq = host_.storage().run_for<std::uint64_t>(
            [&](storage::WriteTxn& txn) -> base::Result<std::uint64_t> {
              auto envelope = txn.publish(protocol::TaskCreated{.task_id = protocol::make_uuid(txn.random()),
                                                                .title = title,
                                                                .jira_id = {},
                                                                .description = "",
                                                                .created_by = kCreator});
              if (!envelope) return envelope.status();
              return envelope->seq;
            });
        if (!seq) return seq.status();
        return nlohmann::json{{"seq", *seq}};
      });
    }
  }

  base::Status start() override {
    host_.add_route({Method::kGet, "/variant", Access::anyone(),
                     [](Request, Responder respond) {
                       respond(Response::json(200, {{"variant", ATES_TEST_VARIANT}}));
                     },
                     "which build of the test plugin runs"});
    host_.add_route({Method::kGet, "/greeting", Access::anyone(),
                     [this](Request, Responder respond) {
                       respond(Response::json(200, {{"greeting", host_.config().get_string("greeting")}}));
                     },
                     "a value from the plugin's config section"});
    host_.add_route(
        {Method::kPost, "/events", Access::anyone(),
         [this](Request request, Responder respond) { publish(std::move(request), std::move(respond)); },
         "publish one TaskCreated"});
    host_.add_route({Method::kPost, "/legacy-task", Access::anyone(),
                     [this](Request request, Responder respond) { publish_legacy_task(request, respond); },
                     "publish a task's life as a tracker of the first version did: TaskCreated v1 "
                     "(the jira id inside the title), assigned, completed"});
    host_.add_route({Method::kGet, "/items", Access::anyone(),
                     [](Request request, Responder respond) { list_items(request, respond); },
                     "25 items, paginated"});
    host_.add_route({Method::kGet, "/private", Access::any_role(),
                     [](Request, Responder respond) {
                       respond(Response::json(200, {{"secret", true}}));
                     },
                     "needs a token"});
    host_.add_route({Method::kPost, "/cure", Access::anyone(),
                     [this](Request, Responder respond) {
                       cured_ = true;
                       respond(Response::json(200, {{"cured", true}}));
                     },
                     "accept poison from now on (dead-letter tests)"});
    host_.add_route({Method::kGet, "/seen", Access::anyone(),
                     [this](Request, Responder respond) {
                       storage::ReadTxn txn = host_.storage().read();
                       respond(Response::json(200, {{"seen", seen_.size(txn)}}));
                     },
                     "how many events of tracker.tasks it consumed"});
    host_.add_route({Method::kGet, "/client", Access::anyone(),
                     [](Request request, Responder respond) {
                       respond(Response::json(200, {{"client_address", request.client_address}}));
                     },
                     "the caller's address as the host saw it"});
    host_.log().info("started variant " ATES_TEST_VARIANT);
    return base::Status::ok();
  }

  void stop() override { host_.log().info("stopping variant " ATES_TEST_VARIANT); }

 private:
  void publish(Request request, Responder respond) {
    auto body = plugin_api::parse_json_object(request.body);
    if (!body) return respond(Response::from_status(body.status()));
    const auto title = body->find("title");
    if (title == body->end() || !title->is_string()) {
      return respond(Response::problem(400, "validation", "title must be a string"));
    }
    std::string text = title->get<std::string>();
    idempotency_.run(
        host_.storage(), request, std::move(respond),
        [text](storage::WriteTxn& txn) -> base::Result<Response> {
          const std::string id = protocol::make_uuid(txn.random());
          auto envelope = txn.publish(protocol::TaskCreated{
              .task_id = id, .title = text, .jira_id = {}, .description = "", .created_by = kCreator});
          if (!envelope) return envelope.status();
          return Response::json(201, {{"task_id", id},
                                      {"seq", envelope->seq},
                                      {"time_us", envelope->time_us},
                                      {"variant", ATES_TEST_VARIANT}});
        });
  }

  void publish_legacy_task(const Request& request, const Responder& respond) {
    auto body = plugin_api::parse_json_object(request.body);
    if (!body) return respond(Response::from_status(body.status()));
    const std::string title = body->value("title", "");
    const std::string assignee = body->value("assignee_id", "");
    auto id = host_.storage().run_for<std::string>([&](storage::WriteTxn& txn) -> base::Result<std::string> {
      const std::string task = protocol::make_uuid(txn.random());
      auto created =
          txn.publish(protocol::TaskCreatedV1{.task_id = task, .title = title, .created_by = kCreator});
      if (!created) return created.status();
      auto assigned = txn.publish(protocol::TaskAssigned{.task_id = task,
                                                         .assignee_id = assignee,
                                                         .previous_assignee_id = {},
                                                         .reason = "created",
                                                         .shuffle_id = {}});
      if (!assigned) return assigned.status();
      auto completed = txn.publish(protocol::TaskCompleted{.task_id = task, .assignee_id = assignee});
      if (!completed) return completed.status();
      return task;
    });
    if (!id) return respond(Response::from_status(id.status()));
    respond(Response::json(201, {{"task_id", *id}}));
  }

  static void list_items(const Request& request, const Responder& respond) {
    auto page = plugin_api::parse_page(request);
    if (!page) return respond(Response::from_status(page.status()));
    std::vector<std::string> items;
    for (int i = 0; i < 25 && items.size() <= page->limit; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "item-%02d", i);
      if (!page->after || name > *page->after) items.emplace_back(name);
    }
    respond(Response::json(200, plugin_api::page_of<std::string>(
                                    std::move(items), *page, [](const std::string& item) { return item; },
                                    "items", [](const std::string& item) { return nlohmann::json(item); })));
  }

  plugin_api::HostContext& host_;
  plugin_api::Idempotency idempotency_;
  storage::RawTable seen_;
  std::atomic<bool> cured_{false};
};

const plugin_api::ConfigKeySpec kKeys[] = {
    {"greeting", "string", "hello", "what GET /greeting answers"},
    {"accept_poison", "bool", "false",
     "accept poison from the start, as after POST /cure (dead-letter tests)"}};

}  // namespace

ATES_DEFINE_PLUGIN(ATES_TEST_PLUGIN_NAME, EchoPlugin, kKeys, std::size(kKeys))
