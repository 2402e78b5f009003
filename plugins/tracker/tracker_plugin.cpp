// The tracker plugin: entry point, start and stop, routes, shuffles.
#include "tracker_plugin.hpp"

#include <algorithm>
#include <iterator>

#include "ates/base/failpoint.hpp"
#include "ates/protocol/charge.hpp"
#include "ates/protocol/events.hpp"
#include "ates/storage/random.hpp"

namespace ates::tracker {

using base::Code;
using base::Status;
using plugin_api::Access;
using plugin_api::Answer;
using plugin_api::Contract;
using plugin_api::Method;
using plugin_api::Parameter;
using plugin_api::Request;
using plugin_api::Responder;
using plugin_api::Response;
using plugin_api::Role;
using plugin_api::Schema;

namespace {

const plugin_api::ConfigKeySpec kConfigKeys[] = {
    {"charge_link", "string", "events",
     "how money follows tasks: events (asynchronous) or rpc (two-phase charge)"},
    {"random_seed", "int", "0", "0: assign from a cryptographic source; other values seed it (tests only)"},
    {"shuffle_batch", "int", "1000",
     "open tasks reassigned per transaction of a shuffle (1 to 4096: one rpc prepare carries a batch's "
     "charges)"},
    {"accounting_peer", "string", "",
     "rpc link: accounting's replay endpoint as \"ENDPOINT SERVER_KEY\" (the key required on tcp); empty: "
     "the "
     "accounting of this host"},
    {"rpc_timeout_ms", "int", "2000", "rpc link: how long a charge may wait for accounting, in milliseconds"},
};

std::unique_ptr<base::RandomSource> make_random(std::int64_t seed) {
  if (seed == 0) return std::make_unique<storage::SystemRandom>();
  return std::make_unique<base::SeededRandom>(static_cast<std::uint64_t>(seed));
}

bool is_manager_or_admin(const plugin_api::Principal& principal) {
  return principal.role == Role::kManager || principal.role == Role::kAdmin;
}

}  // namespace

TrackerPlugin::TrackerPlugin(plugin_api::HostContext& host)
    : host_(host),
      random_(make_random(host.config().get_int("random_seed"))),
      tasks_(host.storage(), *random_),
      idempotency_(host.storage()),
      rpc_timeout_us_(std::max<std::int64_t>(1, host.config().get_int("rpc_timeout_ms")) * 1000),
      shuffle_batch_(static_cast<std::size_t>(std::clamp<std::int64_t>(host.config().get_int("shuffle_batch"),
                                                                       1, protocol::kMaxChargesPerMessage))) {
  auto link = make_charge_link(host.config().get_string("charge_link"), host,
                               host.config().get_string("accounting_peer"),
                               std::chrono::milliseconds(rpc_timeout_us_ / 1000));
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
  // Step 5 of the two-phase charge (docs/tracker.md): an intent without a
  // decision (a crash between its steps) is aborted, so accounting drops what
  // it holds for it.
  for (const auto& intent : tasks_.undecided_intents()) {
    Status aborted = host_.storage().run([&](storage::WriteTxn& txn) {
      auto current = tasks_.intent(txn, intent.op_id);
      if (!current || !current->decision.empty()) return Status::ok();
      current->decision = "abort";
      tasks_.put_intent(txn, *current);
      return Status::ok();
    });
    if (!aborted) return aborted;
    host_.log().info("aborted charge " + intent.op_id + " (" + intent.kind +
                     ") left undecided by the last run");
    charge_link_->decide({intent.op_id, "abort", {}, 0});
  }
  add_routes();
  // A shuffle interrupted by a crash or a stop finishes now.
  for (const auto& job : tasks_.unfinished_shuffles()) {
    host_.log().info("resuming shuffle " + job.id + " after " + std::to_string(job.reassigned) + " tasks");
    continue_shuffle(
        job.id,
        [this, id = job.id](base::Result<ShuffleJob> done) {
          if (done) {
            host_.log().info("shuffle " + id + " finished: " + std::to_string(done->reassigned) +
                             " reassigned");
          } else {
            host_.log().warn("shuffle " + id + " paused: " + done.status().message() +
                             "; it resumes at the next start");
          }
        },
        /*caller_waits=*/false);
  }
  return Status::ok();
}

void TrackerPlugin::stop() {
  std::unique_lock lock(running_mutex_);
  stopping_ = true;
  // Running shuffles stop after their current batch (they resume at
  // start); two-phase changes finish within the rpc timeout.
  running_cv_.wait(lock, [&] { return running_ == 0; });
}

bool TrackerPlugin::begin_work() {
  std::lock_guard lock(running_mutex_);
  if (stopping_) return false;
  ++running_;
  return true;
}

void TrackerPlugin::end_work() {
  std::lock_guard lock(running_mutex_);
  --running_;
  running_cv_.notify_all();
}

void TrackerPlugin::add_routes() {
  const Access managers = Access::only({Role::kManager, Role::kAdmin});
  const Parameter task_id = Parameter::path("id", Schema::string().min_length(1), "a task id");
  const Schema one_task = Schema::object({{"task", task_schema()}});
  const Answer no_task{404, "no task of that id"};
  // Lists: ?status= and the page (parse_page).
  const auto list_parameters = [](Parameter status, std::vector<Parameter> more = {}) {
    std::vector<Parameter> parameters = {std::move(status)};
    parameters.insert(parameters.end(), more.begin(), more.end());
    for (Parameter& page : plugin_api::page_parameters()) parameters.push_back(std::move(page));
    return parameters;
  };

  host_.add_route(
      {Method::kPost, "/tasks", Access::any_role(),
       [this](Request r, Responder respond) { create(std::move(r), std::move(respond)); },
       "create a task; it goes to a random worker or accountant",
       Contract{.body = task_fields_schema(/*title_required=*/true),
                .answers = {{201, "the task, assigned", one_task},
                            {409,
                             "no active worker or accountant to take it, or the Idempotency-Key came with "
                             "another request"}},
                .idempotent = true}});
  host_.add_route(
      {Method::kGet, "/tasks/mine", Access::any_role(),
       [this](Request r, Responder respond) { mine(r, respond); }, "my tasks",
       Contract{
           .parameters = list_parameters(Parameter::query("status", task_status_schema(), "by default open")),
           .answers = {{200, "a page of the caller's tasks of that status, by id", tasks_page_schema()}}}});
  host_.add_route(
      {Method::kGet, "/tasks", managers, [this](Request r, Responder respond) { list(r, respond); },
       "all tasks, by status and assignee",
       Contract{.parameters = list_parameters(
                    Parameter::query("status", task_status_schema(),
                                     "by default both; independent of assignee_id"),
                    {Parameter::query("assignee_id",
                                      Schema::string().min_length(1).max_length(plugin_api::kMaxCursorBytes),
                                      "only this user's tasks (printable ASCII, as ids are)")}),
                .answers = {{200, "a page of tasks, by id", tasks_page_schema()}}}});
  host_.add_route({Method::kGet, "/tasks/{id}", Access::any_role(),
                   [this](Request r, Responder respond) { get(r, respond); },
                   "one task (its assignee, managers, admins)",
                   Contract{.parameters = {task_id},
                            .answers = {{200, "the task", one_task},
                                        {403, "the caller is not its assignee, a manager or an admin"},
                                        no_task}}});
  host_.add_route(
      {Method::kPatch, "/tasks/{id}", Access::any_role(),
       [this](Request r, Responder respond) { update(std::move(r), std::move(respond)); },
       "change a task's title, jira id or description (its assignee, managers, admins)",
       Contract{.parameters = {task_id},
                .body = task_fields_schema(/*title_required=*/false),
                .answers = {{200, "the task as it is now (TaskUpdated published when something changed)",
                             one_task},
                            {403, "the caller is not its assignee, a manager or an admin"},
                            no_task,
                            {409, "the Idempotency-Key came with another request"}},
                .idempotent = true}});
  host_.add_route(
      {Method::kPost, "/tasks/{id}/complete", Access::any_role(),
       [this](Request r, Responder respond) { complete(std::move(r), std::move(respond)); },
       "mark my task done",
       Contract{
           .parameters = {task_id},
           .answers = {{200, "the task, done", one_task},
                       {403, "the caller is not its assignee"},
                       no_task,
                       {409, "the task is done already, or the Idempotency-Key came with another request"}},
           .idempotent = true}});
  host_.add_route(
      {Method::kPost, "/tasks/shuffle", managers,
       [this](Request r, Responder respond) { shuffle(std::move(r), std::move(respond)); },
       "reassign every open task at random",
       Contract{.answers = {{200, "the shuffle has finished",
                             Schema::object({{"reassigned", Schema::integer().minimum(0).describe(
                                                                "open tasks given a new (random) assignee")},
                                             {"shuffle_id", Schema::uuid()}})},
                            {409,
                             "no active worker or accountant to take tasks; (rpc charge link) a batch's "
                             "charges could not be held or applied: the batches before it stand; or the "
                             "shuffle this Idempotency-Key started is still running"}},
                .idempotent = true}});
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
  if (charge_link_->two_phase()) {
    auto op = std::make_shared<TwoPhaseOp>();
    op->request = request;
    op->plan = [this, task](storage::WriteTxn& txn) -> base::Result<Intent> {
      auto plan = tasks_.plan_create(txn, task);
      if (!plan) return plan.status();
      plan->created_event_id = protocol::make_uuid(txn.random());
      plan->assigned_event_id = protocol::make_uuid(txn.random());
      Intent intent;
      intent.kind = "create";
      intent.charges = {{plan->assigned_event_id, "fee", plan->task.id, plan->task.assignee_id}};
      intent.create = std::move(*plan);
      return intent;
    };
    op->apply = [this](storage::WriteTxn& txn, const Intent& intent,
                       std::vector<std::string>& published) -> base::Result<Response> {
      auto created = tasks_.apply_create(txn, intent.create);
      if (!created) return created.status();
      published = {intent.create.assigned_event_id};
      return Response::json(201, {{"task", task_json(*created)}});
    };
    return two_phase(op, true, std::move(respond));
  }
  idempotency_.run(host_.storage(), request, std::move(respond),
                   [this, task](storage::WriteTxn& txn) -> base::Result<Response> {
                     auto created = tasks_.create(txn, task);
                     if (!created) return created.status();
                     return Response::json(201, {{"task", task_json(*created)}});
                   });
}

namespace {

// ?status=open|done; absent: `absent` (open for a worker's own tasks, any
// for the list of all).
base::Result<std::optional<TaskStatus>> status_filter(const Request& request,
                                                      std::optional<TaskStatus> absent) {
  const auto text = request.query_value("status");
  if (!text) return absent;
  const auto status = storage::enum_named<TaskStatus>(*text);
  if (!status) return base::invalid_argument("status: open or done");
  return std::optional<TaskStatus>(*status);
}

nlohmann::json page_json(std::vector<Task> tasks, const plugin_api::Page& page) {
  return plugin_api::page_of<Task>(
      std::move(tasks), page, [](const Task& t) { return t.id; }, "tasks", task_json);
}

}  // namespace

void TrackerPlugin::mine(const Request& request, const Responder& respond) const {
  auto page = plugin_api::parse_page(request);
  if (!page) return respond(Response::from_status(page.status()));
  auto status = status_filter(request, TaskStatus::kOpen);
  if (!status) return respond(Response::from_status(status.status()));
  // Copied from the assignee index's JSON, not built through page_json's
  // tree: this is a worker's hottest read (its target: at least 50 % of a
  // bare route's requests/s, docs/performance.md); task_json_test holds the
  // bytes to page_json's.
  respond(Response{200,
                   "application/json",
                   tasks_.of_assignee_json(request.principal->user_id, **status, page->after, page->limit),
                   {}});
}

void TrackerPlugin::list(const Request& request, const Responder& respond) const {
  auto page = plugin_api::parse_page(request);
  if (!page) return respond(Response::from_status(page.status()));
  auto status = status_filter(request, std::nullopt);
  if (!status) return respond(Response::from_status(status.status()));
  if (auto assignee = request.query_value("assignee_id")) {
    if (!plugin_api::is_cursor(*assignee)) {
      return respond(Response::problem(400, "validation", "assignee_id: a user id"));
    }
    if (!*status) {
      // Both statuses: the two index ranges merged by task id. A task
      // completed between the two reads is in both; it is listed once.
      std::vector<Task> open = tasks_.of_assignee(*assignee, TaskStatus::kOpen, page->after, page->limit);
      std::vector<Task> done = tasks_.of_assignee(*assignee, TaskStatus::kDone, page->after, page->limit);
      std::vector<Task> both;
      const auto by_id = [](const Task& a, const Task& b) { return a.id < b.id; };
      std::merge(std::make_move_iterator(open.begin()), std::make_move_iterator(open.end()),
                 std::make_move_iterator(done.begin()), std::make_move_iterator(done.end()),
                 std::back_inserter(both), by_id);
      both.erase(
          std::unique(both.begin(), both.end(), [](const Task& a, const Task& b) { return a.id == b.id; }),
          both.end());
      if (both.size() > page->limit + 1) both.resize(page->limit + 1);
      return respond(Response::json(200, page_json(std::move(both), *page)));
    }
    return respond(Response::json(
        200, page_json(tasks_.of_assignee(*assignee, **status, page->after, page->limit), *page)));
  }
  respond(Response::json(200, page_json(tasks_.all(*status, page->after, page->limit), *page)));
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
                   [this, id, edit, only_assignee](storage::WriteTxn& txn) -> base::Result<Response> {
                     auto updated = tasks_.update(txn, id, edit, only_assignee);
                     if (!updated) return updated.status();
                     return Response::json(200, {{"task", task_json(*updated)}});
                   });
}

void TrackerPlugin::complete(Request request, Responder respond) {
  const std::string id = request.path_params["id"];
  const std::string by = request.principal->user_id;
  if (charge_link_->two_phase()) {
    auto op = std::make_shared<TwoPhaseOp>();
    op->request = request;
    op->plan = [this, id, by](storage::WriteTxn& txn) -> base::Result<Intent> {
      auto task = tasks_.check_complete(txn, id, by);
      if (!task) return task.status();
      Intent intent;
      intent.kind = "complete";
      intent.task_id = id;
      intent.by = by;
      intent.completed_event_id = protocol::make_uuid(txn.random());
      intent.charges = {{intent.completed_event_id, "reward", id, by}};
      return intent;
    };
    op->apply = [this](storage::WriteTxn& txn, const Intent& intent,
                       std::vector<std::string>& published) -> base::Result<Response> {
      auto done = tasks_.complete(txn, intent.task_id, intent.by, intent.completed_event_id);
      if (!done) return done.status();
      published = {intent.completed_event_id};
      return Response::json(200, {{"task", task_json(*done)}});
    };
    return two_phase(op, true, std::move(respond));
  }
  idempotency_.run(host_.storage(), request, std::move(respond),
                   [this, id, by](storage::WriteTxn& txn) -> base::Result<Response> {
                     auto done = tasks_.complete(txn, id, by);
                     if (!done) return done.status();
                     return Response::json(200, {{"task", task_json(*done)}});
                   });
}

void TrackerPlugin::shuffle(Request request, Responder respond) {
  const std::string by = request.principal->user_id;
  auto job = std::make_shared<ShuffleJob>();
  auto replayed = std::make_shared<bool>(false);
  // First the job, durably (so a crash resumes it), and under the request's
  // Idempotency-Key the job's id; then its batches; the caller is answered
  // when the last batch has committed. A retry with the key starts
  // nothing: it is answered from the job the key names.
  host_.storage().submit(
      [this, by, job, replayed, request](storage::WriteTxn& txn) -> Status {
        if (auto remembered = idempotency_.remembered(txn, request)) {
          if (!*remembered) return remembered->status();  // the key came with another request
          const auto named = nlohmann::json::parse((*remembered)->body, nullptr, false);
          const auto earlier =
              tasks_.shuffle_job(txn, named.is_object() ? named.value("shuffle_id", "") : "");
          if (!earlier) return Status(Code::kInternal, "the shuffle this Idempotency-Key names is gone");
          if (!earlier->stopped) {
            *job = *earlier;
            *replayed = true;
            return Status::ok();
          }
          // That shuffle failed and its caller was told so: failed requests
          // are not remembered, so the retry is a new shuffle (decided in
          // this unit, so no retry can take the failed one for an answer).
          idempotency_.forget(txn, request);
        }
        auto started = tasks_.start_shuffle(txn, by);
        if (!started) return started.status();
        *job = *started;
        idempotency_.remember(txn, request, Response::json(202, {{"shuffle_id", started->id}}));
        return Status::ok();
      },
      [this, job, replayed, respond](Status status) {
        if (!status) return respond(Response::from_status(status));
        const auto answer_of = [](const ShuffleJob& done) {
          return Response::json(200, {{"reassigned", done.reassigned}, {"shuffle_id", done.id}});
        };
        if (*replayed) {
          if (!job->done) {
            return respond(
                Response::problem(409, "conflict",
                                  "the shuffle " + job->id +
                                      " with this Idempotency-Key is still running; retry for its answer"));
          }
          Response answer = answer_of(*job);
          answer.headers.emplace_back("Idempotent-Replayed", "true");
          return respond(std::move(answer));
        }
        continue_shuffle(
            job->id,
            // A failure either stopped the shuffle (a retry with the key
            // then starts a new one) or left it to resume at the next start
            // (a retry then gets 409 until it has finished, then its answer).
            [respond, answer_of](base::Result<ShuffleJob> done) {
              respond(done ? answer_of(*done) : Response::from_status(done.status()));
            },
            /*caller_waits=*/true);
      });
}

void TrackerPlugin::continue_shuffle(const std::string& job_id,
                                     const std::function<void(base::Result<ShuffleJob>)>& done,
                                     bool caller_waits) {
  {
    std::lock_guard lock(running_mutex_);
    if (stopping_)
      return done(Status(Code::kUnavailable, "the tracker is stopping; the shuffle resumes at its start"));
    ++running_;
  }
  auto finish = [this, done](base::Result<ShuffleJob> result) {
    done(std::move(result));
    std::lock_guard lock(running_mutex_);
    --running_;
    running_cv_.notify_all();
  };
  auto job = std::make_shared<ShuffleJob>();
  auto next = [this, job_id, job, done, finish, caller_waits](Status status) {
    if (!status) return finish(status);
    if (job->done) return finish(*job);
    base::failpoint("tracker.shuffle_between_batches");
    {
      std::lock_guard lock(running_mutex_);
      --running_;
      running_cv_.notify_all();
    }
    continue_shuffle(job_id, done, caller_waits);  // the next batch, after whatever else is queued
  };
  if (charge_link_->two_phase()) {
    // One two-phase charge per batch: one PREPARE holds all its fees.
    auto op = std::make_shared<TwoPhaseOp>();
    op->plan = [this, job_id](storage::WriteTxn& txn) -> base::Result<Intent> {
      auto plan = tasks_.plan_shuffle_batch(txn, job_id, shuffle_batch_, true);
      if (!plan) return plan.status();
      Intent intent;
      intent.kind = "shuffle";
      intent.shuffle_id = job_id;
      for (const auto& step : *plan)
        intent.charges.push_back({step.event_id, "fee", step.task_id, step.assignee_id});
      intent.reassignments = std::move(*plan);
      return intent;
    };
    op->apply = [this, job_id, job](storage::WriteTxn& txn, const Intent& intent,
                                    std::vector<std::string>& published) -> base::Result<Response> {
      auto batch = tasks_.apply_shuffle_batch(txn, job_id, intent.reassignments, shuffle_batch_, &published);
      if (!batch) return batch.status();
      *job = *batch;
      return Response::json(200, {});
    };
    // This batch is counted as running already (above), so two_phase does
    // not count it again (nor refuse it while stopping).
    return two_phase(op, /*count_work=*/false, [this, job_id, next, caller_waits](Response answer) {
      if (answer.status < 400) return next(Status::ok());
      const Status failed(answer.status == 503 ? Code::kUnavailable : Code::kConflict,
                          nlohmann::json::parse(answer.body, nullptr, false).value("detail", answer.body));
      // A resumed shuffle answers nobody: it stays unfinished and tries
      // again at the next start.
      if (!caller_waits) return next(failed);
      // The caller hears that the shuffle stopped here: it must not go on by
      // itself at the next start (that resume is for a crash, which answers
      // nobody). The batches before this one stand, each charged whole.
      host_.storage().submit(
          [this, job_id](storage::WriteTxn& txn) { return tasks_.stop_shuffle(txn, job_id); },
          [this, job_id, failed, next](Status stopped) {
            if (!stopped) host_.log().error("shuffle " + job_id + ": " + stopped.message());
            host_.log().warn("shuffle " + job_id + " stopped: " + failed.message());
            next(failed);
          });
    });
  }
  host_.storage().submit(
      [this, job_id, job](storage::WriteTxn& txn) -> Status {
        auto batch = tasks_.shuffle_batch(txn, job_id, shuffle_batch_);
        if (!batch) return batch.status();
        *job = *batch;
        return Status::ok();
      },
      next);
}

// [SECTION] the two-phase charge (rpc mode) ----------------------------------------

void TrackerPlugin::two_phase(const std::shared_ptr<TwoPhaseOp>& op, bool count_work, Responder respond) {
  if (count_work && !begin_work()) {
    return respond(Response::problem(503, "unavailable", "the tracker is stopping; try again"));
  }
  Responder finish = [this, respond, count_work](Response answer) {
    respond(std::move(answer));
    if (count_work) end_work();
  };
  auto intent = std::make_shared<Intent>();
  auto replayed = std::make_shared<std::optional<base::Result<Response>>>();
  host_.storage().submit(
      [this, op, intent, replayed](storage::WriteTxn& txn) -> Status {
        // A retry with an Idempotency-Key gets the first answer, and no
        // intent or PREPARE is made for it.
        if (op->request) {
          *replayed = idempotency_.remembered(txn, *op->request);
          if (*replayed) return Status::ok();
        }
        auto planned = op->plan(txn);
        if (!planned) return planned.status();
        *intent = std::move(*planned);
        intent->op_id = protocol::make_uuid(txn.random());
        intent->deadline_us = txn.now_us() + rpc_timeout_us_;
        tasks_.put_intent(txn, *intent);
        return Status::ok();
      },
      [this, op, intent, replayed, finish](Status status) {
        if (!status) return finish(Response::from_status(status));
        if (*replayed) {
          auto& answer = **replayed;
          return finish(answer ? *answer : Response::from_status(answer.status()));
        }
        base::failpoint("tracker.rpc_after_intent");
        if (intent->charges.empty()) return commit_two_phase(op, intent, finish);  // nothing to hold
        charge_link_->prepare({intent->op_id, intent->charges, intent->deadline_us},
                              [this, op, intent, finish](Status prepared) {
                                if (!prepared) {
                                  return abort_two_phase(
                                      intent,
                                      Response::problem(503, "unavailable",
                                                        "accounting did not take the charge, so nothing was "
                                                        "changed: " +
                                                            prepared.message()),
                                      finish);
                                }
                                base::failpoint("tracker.rpc_before_decision");
                                commit_two_phase(op, intent, finish);
                              });
      });
}

void TrackerPlugin::commit_two_phase(const std::shared_ptr<TwoPhaseOp>& op,
                                     const std::shared_ptr<Intent>& intent, Responder finish) {
  auto published = std::make_shared<std::vector<std::string>>();
  auto ran = std::make_shared<bool>(false);
  auto time = std::make_shared<std::int64_t>(0);
  plugin_api::Idempotency::Unit unit = [this, op, intent, published, ran,
                                        time](storage::WriteTxn& txn) -> base::Result<Response> {
    *ran = true;
    auto current = tasks_.intent(txn, intent->op_id);
    if (!current || !current->decision.empty())
      return Status(Code::kConflict, "the charge was decided already");
    if (txn.now_us() >= intent->deadline_us) {
      return Status(Code::kUnavailable,
                    "accounting answered after the charge's deadline; nothing was changed");
    }
    published->clear();
    auto answer = op->apply(txn, *intent, *published);
    if (!answer) return answer.status();
    current->decision = "commit";
    tasks_.put_intent(txn, *current);
    *time = txn.now_us();
    return answer;
  };
  Responder after = [this, intent, published, ran, time, finish](Response answer) {
    if (*ran && answer.status < 400) {
      base::failpoint("tracker.rpc_after_decision");
      charge_link_->decide({intent->op_id, "commit", *published, *time});
      return finish(std::move(answer));
    }
    // Not applied (refused, or an Idempotency-Key answered from before):
    // nothing of this op may stand.
    abort_two_phase(intent, std::move(answer), finish);
  };
  if (op->request) return idempotency_.run(host_.storage(), *op->request, std::move(after), std::move(unit));
  auto result = std::make_shared<Response>();
  host_.storage().submit(
      [unit, result](storage::WriteTxn& txn) -> Status {
        auto answer = unit(txn);
        if (!answer) return answer.status();
        *result = std::move(*answer);
        return Status::ok();
      },
      [after, result](Status status) { after(status ? *result : Response::from_status(status)); });
}

void TrackerPlugin::abort_two_phase(const std::shared_ptr<Intent>& intent, Response answer,
                                    Responder finish) {
  host_.storage().submit(
      [this, intent](storage::WriteTxn& txn) -> Status {
        auto current = tasks_.intent(txn, intent->op_id);
        if (!current || !current->decision.empty()) return Status::ok();
        current->decision = "abort";
        tasks_.put_intent(txn, *current);
        return Status::ok();
      },
      [this, intent, answer = std::move(answer), finish](Status recorded) {
        // Unrecorded, the abort still stands: the next start aborts every
        // undecided intent.
        if (!recorded)
          host_.log().error("charge " + intent->op_id + ": abort not recorded: " + recorded.message());
        charge_link_->decide({intent->op_id, "abort", {}, 0});
        finish(answer);
      });
}

}  // namespace ates::tracker

ATES_DEFINE_PLUGIN("tracker", ates::tracker::TrackerPlugin, ates::tracker::kConfigKeys, 5)
