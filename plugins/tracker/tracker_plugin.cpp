// The tracker plugin: entry point, start and stop, routes, shuffles.
#include "tracker_plugin.hpp"

#include "ates/protocol/events.hpp"
#include "ates/storage/failpoint.hpp"
#include "ates/storage/random.hpp"

namespace ates::tracker {

using plugin_api::Access;
using plugin_api::Method;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;
using plugin_api::Role;
using protocol::Code;
using protocol::Status;

namespace {

const plugin_api::ConfigKeySpec kConfigKeys[] = {
    {"charge_link", "string", "events",
     "how money follows tasks: events (asynchronous) or rpc (two-phase charge)"},
    {"random_seed", "int", "0", "0: assign from a cryptographic source; other values seed it (tests only)"},
    {"shuffle_batch", "int", "1000", "open tasks reassigned per transaction of a shuffle"},
};

std::unique_ptr<protocol::RandomSource> make_random(std::int64_t seed) {
  if (seed == 0) return std::make_unique<storage::SystemRandom>();
  return std::make_unique<protocol::SeededRandom>(static_cast<std::uint64_t>(seed));
}

bool is_manager_or_admin(const plugin_api::Principal& principal) {
  return principal.role == Role::kManager || principal.role == Role::kAdmin;
}

}  // namespace

TrackerPlugin::TrackerPlugin(plugin_api::HostContext& host)
    : host_(host),
      random_(make_random(host.config().get_int("random_seed"))),
      tasks_(host.storage(), *random_),
      idempotency_(host.storage().table<plugin_api::StoredAnswer>("idempotency")),
      shuffle_batch_(
          static_cast<std::size_t>(std::max<std::int64_t>(1, host.config().get_int("shuffle_batch")))) {
  auto link = make_charge_link(host.config().get_string("charge_link"));
  if (!link) throw std::runtime_error(link.status().message());
  charge_link_ = std::move(link).value();
  if (Status s = host.storage().declare_stream(protocol::kTasksStream); !s)
    throw std::runtime_error(s.to_string());
  // The users replica: built only from auth.users, never by asking auth.
  host.subscribe(std::string(protocol::kUsersStream),
                 [this](storage::WriteTxn& txn, const protocol::Envelope& event) {
                   return tasks_.apply_user_event(txn, event);
                 });
}

Status TrackerPlugin::start() {
  add_routes();
  // A shuffle interrupted by a crash or a stop finishes now.
  for (const auto& job : tasks_.unfinished_shuffles()) {
    host_.log().info("resuming shuffle " + job.id + " after " + std::to_string(job.reassigned) + " tasks");
    continue_shuffle(job.id, [this, id = job.id](protocol::Result<ShuffleJob> done) {
      if (done)
        host_.log().info("shuffle " + id + " finished: " + std::to_string(done->reassigned) + " reassigned");
    });
  }
  return Status::ok();
}

void TrackerPlugin::stop() {
  std::unique_lock lock(running_mutex_);
  stopping_ = true;
  // Running shuffles stop after their current batch; they resume at start.
  running_cv_.wait(lock, [&] { return running_ == 0; });
}

void TrackerPlugin::add_routes() {
  host_.add_route({Method::kPost, "/tasks", Access::any_role(),
                   [this](Request r, Responder respond) { create(std::move(r), std::move(respond)); },
                   "create a task; it goes to a random worker or accountant"});
  host_.add_route({Method::kGet, "/tasks/mine", Access::any_role(),
                   [this](Request r, Responder respond) { mine(r, respond); }, "my tasks"});
  host_.add_route({Method::kGet, "/tasks", Access::only({Role::kManager, Role::kAdmin}),
                   [this](Request r, Responder respond) { list(r, respond); },
                   "all tasks, by status and assignee"});
  host_.add_route({Method::kGet, "/tasks/{id}", Access::any_role(),
                   [this](Request r, Responder respond) { get(r, respond); },
                   "one task (its assignee, managers, admins)"});
  host_.add_route({Method::kPatch, "/tasks/{id}", Access::any_role(),
                   [this](Request r, Responder respond) { update(std::move(r), std::move(respond)); },
                   "change a task's title, jira id or description (its assignee, managers, admins)"});
  host_.add_route({Method::kPost, "/tasks/{id}/complete", Access::any_role(),
                   [this](Request r, Responder respond) { complete(std::move(r), std::move(respond)); },
                   "mark my task done"});
  host_.add_route({Method::kPost, "/tasks/shuffle", Access::only({Role::kManager, Role::kAdmin}),
                   [this](Request r, Responder respond) { shuffle(std::move(r), std::move(respond)); },
                   "reassign every open task at random"});
}

void TrackerPlugin::create(Request request, Responder respond) {
  auto body = plugin_api::parse_json_object(request.body);
  if (!body) return respond(Response::from_status(body.status()));
  if (Status s = check_task_fields(*body, true); !s) return respond(Response::from_status(s));
  Task task;
  task.title = (*body)["title"];
  if (body->contains("jira_id") && (*body)["jira_id"].is_string()) task.jira_id = (*body)["jira_id"];
  if (body->contains("description") && (*body)["description"].is_string())
    task.description = (*body)["description"];
  task.created_by = request.principal->user_id;
  idempotency_.run(host_.storage(), request, std::move(respond),
                   [this, task](storage::WriteTxn& txn) -> protocol::Result<Response> {
                     auto created = tasks_.create(txn, task);
                     if (!created) return created.status();
                     return Response::json(201, {{"task", task_json(*created)}});
                   });
}

namespace {

protocol::Result<std::string> status_filter(const Request& request, bool required_default_open) {
  const auto status = request.query_value("status");
  if (!status) return std::string(required_default_open ? "open" : "");
  if (*status != "open" && *status != "done") return protocol::invalid_argument("status: open or done");
  return std::string(*status);
}

nlohmann::json page_json(std::vector<Task> tasks, const plugin_api::Page& page) {
  return plugin_api::page_of<Task>(
      std::move(tasks), page, [](const Task& t) { return t.id; }, "tasks", task_json);
}

}  // namespace

void TrackerPlugin::mine(const Request& request, const Responder& respond) const {
  auto page = plugin_api::parse_page(request);
  if (!page) return respond(Response::from_status(page.status()));
  auto status = status_filter(request, true);
  if (!status) return respond(Response::from_status(status.status()));
  respond(Response::json(
      200,
      page_json(tasks_.of_assignee(request.principal->user_id, *status, page->after, page->limit), *page)));
}

void TrackerPlugin::list(const Request& request, const Responder& respond) const {
  auto page = plugin_api::parse_page(request);
  if (!page) return respond(Response::from_status(page.status()));
  auto status = status_filter(request, false);
  if (!status) return respond(Response::from_status(status.status()));
  if (auto assignee = request.query_value("assignee_id")) {
    if (status->empty()) {
      return respond(
          Response::problem(400, "validation", "status: required with assignee_id (open or done)"));
    }
    return respond(Response::json(
        200, page_json(tasks_.of_assignee(*assignee, *status, page->after, page->limit), *page)));
  }
  respond(Response::json(
      200, page_json(tasks_.all(status->empty() ? std::nullopt : std::optional<std::string>(*status),
                                page->after, page->limit),
                     *page)));
}

void TrackerPlugin::get(const Request& request, const Responder& respond) const {
  const auto task = tasks_.get(request.path_params.at("id"));
  if (!task) return respond(Response::problem(404, "not-found", "no task " + request.path_params.at("id")));
  if (task->assignee_id != request.principal->user_id && !is_manager_or_admin(*request.principal)) {
    return respond(Response::problem(403, "forbidden", "only its assignee, managers and admins see a task"));
  }
  respond(Response::json(200, {{"task", task_json(*task)}}));
}

void TrackerPlugin::update(Request request, Responder respond) {
  auto body = plugin_api::parse_json_object(request.body);
  if (!body) return respond(Response::from_status(body.status()));
  if (Status s = check_task_fields(*body, false); !s) return respond(Response::from_status(s));
  TaskEdit edit;
  if (body->contains("title")) edit.title = (*body)["title"];
  if (body->contains("jira_id"))
    edit.jira_id = (*body)["jira_id"].is_null() ? std::string() : (*body)["jira_id"].get<std::string>();
  if (body->contains("description") && (*body)["description"].is_string())
    edit.description = (*body)["description"];
  const std::string id = request.path_params["id"];
  const auto only_assignee = is_manager_or_admin(*request.principal)
                                 ? std::nullopt
                                 : std::optional<std::string>(request.principal->user_id);
  idempotency_.run(host_.storage(), request, std::move(respond),
                   [this, id, edit, only_assignee](storage::WriteTxn& txn) -> protocol::Result<Response> {
                     auto updated = tasks_.update(txn, id, edit, only_assignee);
                     if (!updated) return updated.status();
                     return Response::json(200, {{"task", task_json(*updated)}});
                   });
}

void TrackerPlugin::complete(Request request, Responder respond) {
  const std::string id = request.path_params["id"];
  const std::string by = request.principal->user_id;
  idempotency_.run(host_.storage(), request, std::move(respond),
                   [this, id, by](storage::WriteTxn& txn) -> protocol::Result<Response> {
                     auto done = tasks_.complete(txn, id, by);
                     if (!done) return done.status();
                     return Response::json(200, {{"task", task_json(*done)}});
                   });
}

void TrackerPlugin::shuffle(Request request, Responder respond) {
  const std::string by = request.principal->user_id;
  auto job = std::make_shared<ShuffleJob>();
  // First the job, durably (so a crash resumes it); then its batches; the
  // caller is answered when the last batch has committed.
  host_.storage().submit(
      [this, by, job](storage::WriteTxn& txn) -> Status {
        auto started = tasks_.start_shuffle(txn, by);
        if (!started) return started.status();
        *job = *started;
        return Status::ok();
      },
      [this, job, respond](Status status) {
        if (!status) return respond(Response::from_status(status));
        continue_shuffle(job->id, [respond](protocol::Result<ShuffleJob> done) {
          if (!done) return respond(Response::from_status(done.status()));
          respond(Response::json(200, {{"reassigned", done->reassigned}, {"shuffle_id", done->id}}));
        });
      });
}

void TrackerPlugin::continue_shuffle(std::string job_id,
                                     std::function<void(protocol::Result<ShuffleJob>)> done) {
  {
    std::lock_guard lock(running_mutex_);
    if (stopping_)
      return done(Status(Code::kUnavailable, "the tracker is stopping; the shuffle resumes at its start"));
    ++running_;
  }
  auto finish = [this, done](protocol::Result<ShuffleJob> result) {
    done(std::move(result));
    std::lock_guard lock(running_mutex_);
    --running_;
    running_cv_.notify_all();
  };
  auto job = std::make_shared<ShuffleJob>();
  host_.storage().submit(
      [this, job_id, job](storage::WriteTxn& txn) -> Status {
        auto batch = tasks_.shuffle_batch(txn, job_id, shuffle_batch_);
        if (!batch) return batch.status();
        *job = *batch;
        return Status::ok();
      },
      [this, job_id, job, done, finish](Status status) {
        if (!status) return finish(status);
        if (job->done) return finish(*job);
        storage::failpoint("tracker.shuffle_between_batches");
        {
          std::lock_guard lock(running_mutex_);
          --running_;
          running_cv_.notify_all();
        }
        continue_shuffle(job_id, done);  // the next batch, after whatever else is queued
      });
}

}  // namespace ates::tracker

ATES_DEFINE_PLUGIN("tracker", ates::tracker::TrackerPlugin, ates::tracker::kConfigKeys, 3)
