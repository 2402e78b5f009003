#include "tasks.hpp"

#include <ctime>
#include <deque>

#include "ates/protocol/dispatch.hpp"
#include "ates/protocol/events.hpp"
#include "ates/protocol/schema.hpp"
#include "ates/protocol/text.hpp"
#include "ates/protocol/time.hpp"

#include "task_json_writer.hpp"

namespace ates::tracker {

using base::Code;
using base::Status;

namespace {

std::string assignee_key(std::string_view assignee, TaskStatus status, std::string_view id) {
  std::string key(assignee);
  key += '\0';
  key += storage::name_of(status);
  key += '\0';
  key += id;
  return key;
}

bool eligible_role(const std::string& role) { return role == "worker" || role == "accountant"; }

// A task's JSON without its first member (the keys are sorted):
// `{"assignee_id":"…"` is written from the assignee index's key, so a
// shuffle, which changes only assignees, leaves the listed copy as it is.
constexpr std::string_view kAssigneeHead = R"({"assignee_id":)";
std::string json_after_assignee(Task task) {
  task.assignee_id.clear();
  std::string out;
  append_task_json(out, task);
  return out.substr(kAssigneeHead.size() + 2);  // and the empty string's quotes
}

}  // namespace

nlohmann::json task_json(const Task& task) {
  return {{"id", task.id},
          {"title", task.title},
          {"jira_id", task.jira_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(task.jira_id)},
          {"description", task.description},
          {"status", storage::name_of(task.status)},
          {"assignee_id", task.assignee_id},
          {"created_at", protocol::format_utc(task.created_at)},
          {"completed_at", task.completed_at == 0 ? nlohmann::json(nullptr)
                                                  : nlohmann::json(protocol::format_utc(task.completed_at))}};
}

plugin_api::Schema task_status_schema() {
  std::vector<std::string> names;
  for (const auto& [status, name] : storage::EnumNames<TaskStatus>::kNames) names.emplace_back(name);
  return plugin_api::Schema::one_of(names);
}

plugin_api::Schema task_schema() {
  using plugin_api::Schema;
  return Schema::object({{"id", Schema::uuid()},
                         {"title", Schema::string()},
                         {"jira_id", Schema::string().nullable().describe("like UBERPOP-42; null: none")},
                         {"description", Schema::string().describe("empty when there is none")},
                         {"status", task_status_schema()},
                         {"assignee_id", Schema::uuid()},
                         {"created_at", Schema::time()},
                         {"completed_at", Schema::time().nullable().describe("null while the task is open")}})
      .titled("Task");
}

plugin_api::Schema tasks_page_schema() {
  using plugin_api::Schema;
  return Schema::object({{"tasks", Schema::array(task_schema())},
                         {"next", Schema::uuid().nullable().describe(
                                      "the next page's `after` (the page's last id); null: the last page")}});
}

Tasks::Tasks(storage::Environment& env, base::RandomSource& random)
    : env_(env),
      random_(random),
      tasks_(env.table<Task>("tasks")),
      by_assignee_(env.raw_table("tasks_by_assignee")),
      listed_(env.raw_table("tasks_listed")),
      open_(env.raw_table("open_tasks")),
      users_(env.table<ReplicaUser>("users")),
      eligible_(env.raw_table("eligible_users")),
      shuffles_(env.table<ShuffleJob>("shuffles")),
      intents_(env.table<Intent>("intents")),
      undecided_(env.raw_table("undecided_intents")) {}

std::optional<Task> Tasks::get(std::string_view id) const {
  storage::ReadTxn txn = env_.read();
  return tasks_.get(txn, id);
}

std::vector<Task> Tasks::of_assignee(std::string_view assignee, TaskStatus status,
                                     const std::optional<std::string>& after, std::size_t limit) const {
  storage::ReadTxn txn = env_.read();
  const std::string prefix = assignee_key(assignee, status, "");
  std::vector<Task> out;
  // A full page without regrowing (moving every task read so far), within
  // reason: a limit of 1000 would reserve ~250 KB whether the tasks exist
  // or not.
  out.reserve(std::min<std::size_t>(limit + 1, 128));
  // Decoded as Table::decode does, but into one zone for the whole page
  // (not a zone of 8 KiB per task) and with the strings read in place from
  // LMDB's map, valid while `txn` is: each is copied once, into its Task.
  // GET /tasks/mine spent more time here than writing its JSON.
  msgpack::zone zone;
  const auto in_place = [](msgpack::type::object_type, std::size_t, void*) { return true; };
  by_assignee_.scan(txn, after ? prefix + *after : prefix, [&](std::string_view key, std::string_view) {
    if (!key.starts_with(prefix)) return false;
    const std::string_view id = key.substr(prefix.size());
    if (after && id == *after) return true;
    if (const auto bytes = tasks_.raw().get(txn, id)) {
      std::size_t offset = 0;
      bool referenced = false;
      const msgpack::object object =
          msgpack::unpack(zone, bytes->data(), bytes->size(), offset, referenced, in_place);
      object.convert(out.emplace_back());
      zone.clear();
    }
    return out.size() <= limit;
  });
  return out;
}

std::string Tasks::of_assignee_json(std::string_view assignee, TaskStatus status,
                                    const std::optional<std::string>& after, std::size_t limit) const {
  storage::ReadTxn txn = env_.read();
  const std::string prefix = assignee_key(assignee, status, "");
  // Views into LMDB's map, valid while `txn` is: each is copied once, into
  // the page.
  std::vector<std::string_view> listed;
  listed.reserve(std::min<std::size_t>(limit, 128));
  std::deque<std::string> written;               // for a task the listed table lacks
  storage::RawLookup listed_json(txn, listed_);  // ids come in order
  std::string_view last_id;
  bool more = false;
  by_assignee_.scan(txn, after ? prefix + *after : prefix, [&](std::string_view key, std::string_view) {
    if (!key.starts_with(prefix)) return false;
    const std::string_view id = key.substr(prefix.size());
    if (after && id == *after) return true;
    if (listed.size() == limit) {
      more = true;
      return false;
    }
    if (const auto json = listed_json.get(id)) {
      listed.push_back(*json);
    } else if (const auto task = tasks_.get(txn, id)) {
      listed.push_back(written.emplace_back(json_after_assignee(*task)));
    } else {
      return true;
    }
    last_id = id;
    return true;
  });
  return listed_page_json(assignee, listed, more && !listed.empty() ? std::optional(last_id) : std::nullopt);
}

std::vector<Task> Tasks::all(std::optional<TaskStatus> status, const std::optional<std::string>& after,
                             std::size_t limit) const {
  storage::ReadTxn txn = env_.read();
  std::vector<Task> out;
  tasks_.scan(txn, after.value_or(""), [&](std::string_view id, Task task) {
    if (after && id == *after) return true;
    if (!status || task.status == *status) out.push_back(std::move(task));
    return out.size() <= limit;
  });
  return out;
}

std::vector<ShuffleJob> Tasks::unfinished_shuffles() const {
  storage::ReadTxn txn = env_.read();
  std::vector<ShuffleJob> out;
  shuffles_.scan(txn, {}, [&](std::string_view, ShuffleJob job) {
    if (!job.done) out.push_back(std::move(job));
    return true;
  });
  return out;
}

std::optional<ShuffleJob> Tasks::shuffle_job(const storage::Txn& txn, std::string_view id) const {
  return shuffles_.get(txn, id);
}

std::vector<std::string> Tasks::eligible(const storage::Txn& txn) const {
  std::vector<std::string> ids;
  eligible_.scan(txn, {}, [&](std::string_view id, std::string_view) {
    ids.emplace_back(id);
    return true;
  });
  return ids;
}

std::string Tasks::pick(const std::vector<std::string>& eligible) const {
  // Uniform without modulo bias: reject the top sliver of the range.
  const std::uint64_t n = eligible.size();
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t value = 0;
  do {
    random_.fill({reinterpret_cast<std::uint8_t*>(&value), sizeof value});
  } while (value >= limit);
  return eligible[value % n];
}

void Tasks::index(storage::WriteTxn& txn, const Task& task) const {
  by_assignee_.put(txn, assignee_key(task.assignee_id, task.status, task.id), "");
  listed_.put(txn, task.id, json_after_assignee(task));
  if (task.status == TaskStatus::kOpen) open_.put(txn, task.id, "");
}

void Tasks::unindex(storage::WriteTxn& txn, const Task& task) const {
  by_assignee_.erase(txn, assignee_key(task.assignee_id, task.status, task.id));
  open_.erase(txn, task.id);
}

base::Result<Task> Tasks::create(storage::WriteTxn& txn, Task task) const {
  auto plan = plan_create(txn, std::move(task));
  if (!plan) return plan.status();
  return apply_create(txn, *plan);
}

base::Result<PlannedCreate> Tasks::plan_create(storage::WriteTxn& txn, Task task) const {
  const auto candidates = eligible(txn);
  if (candidates.empty()) {
    return Status(Code::kConflict, "no one can take the task: there is no active worker or accountant");
  }
  // From the tracker's own source, so a seeded history repeats exactly; a
  // seeded source restarted on the same data repeats its ids, so one that
  // exists is drawn again.
  do {
    task.id = protocol::make_uuid(random_);
  } while (tasks_.get(txn, task.id));
  task.assignee_id = pick(candidates);
  return PlannedCreate{std::move(task), {}, {}};
}

base::Result<Task> Tasks::apply_create(storage::WriteTxn& txn, const PlannedCreate& plan) const {
  Task task = plan.task;
  task.created_at = txn.now_us();
  tasks_.put(txn, task.id, task);
  index(txn, task);
  auto created = txn.publish(
      protocol::TaskCreated{
          .task_id = task.id,
          .title = task.title,
          .jira_id = task.jira_id.empty() ? std::nullopt : std::optional<std::string>(task.jira_id),
          .description = task.description,
          .created_by = task.created_by},
      {}, plan.created_event_id);
  if (!created) return created.status();
  auto assigned = txn.publish(protocol::TaskAssigned{.task_id = task.id,
                                                     .assignee_id = task.assignee_id,
                                                     .previous_assignee_id = {},
                                                     .reason = "created",
                                                     .shuffle_id = {}},
                              {}, plan.assigned_event_id);
  if (!assigned) return assigned.status();
  return task;
}

base::Result<Task> Tasks::check_complete(const storage::Txn& txn, std::string_view id,
                                         std::string_view by) const {
  auto task = tasks_.get(txn, id);
  if (!task) return Status(Code::kNotFound, "no task " + std::string(id));
  if (task->assignee_id != by)
    return Status(Code::kPermissionDenied, "only the assignee may complete a task");
  if (task->status == TaskStatus::kDone) return Status(Code::kConflict, "the task is done already");
  return *task;
}

base::Result<Task> Tasks::complete(storage::WriteTxn& txn, std::string_view id, std::string_view by,
                                   std::string_view event_id) const {
  auto task = check_complete(txn, id, by);
  if (!task) return task.status();
  unindex(txn, *task);
  task->status = TaskStatus::kDone;
  task->completed_at = txn.now_us();
  tasks_.put(txn, task->id, *task);
  index(txn, *task);
  auto completed = txn.publish(protocol::TaskCompleted{.task_id = task->id, .assignee_id = task->assignee_id},
                               {}, event_id);
  if (!completed) return completed.status();
  return *task;
}

base::Result<Task> Tasks::update(storage::WriteTxn& txn, std::string_view id, const TaskEdit& edit,
                                 const std::optional<std::string>& only_assignee) const {
  auto task = tasks_.get(txn, id);
  if (!task) return Status(Code::kNotFound, "no task " + std::string(id));
  if (only_assignee && task->assignee_id != *only_assignee)
    return Status(Code::kPermissionDenied, "only its assignee, managers and admins change a task");
  Task next = *task;
  if (edit.title) next.title = *edit.title;
  if (edit.jira_id) next.jira_id = *edit.jira_id;
  if (edit.description) next.description = *edit.description;
  if (next.title == task->title && next.jira_id == task->jira_id && next.description == task->description)
    return next;  // nothing changed: no event
  tasks_.put(txn, next.id, next);
  listed_.put(txn, next.id, json_after_assignee(next));
  auto updated = txn.publish(protocol::TaskUpdated{
      .task_id = next.id,
      .title = next.title,
      .jira_id = next.jira_id.empty() ? std::nullopt : std::optional<std::string>(next.jira_id),
      .description = next.description});
  if (!updated) return updated.status();
  return next;
}

base::Result<ShuffleJob> Tasks::start_shuffle(storage::WriteTxn& txn, std::string_view by) const {
  if (eligible_.size(txn) == 0) {
    return Status(Code::kConflict, "no one can take tasks: there is no active worker or accountant");
  }
  ShuffleJob job{protocol::make_uuid(txn.random()), std::string(by), false, "", 0};
  shuffles_.put(txn, job.id, job);
  return job;
}

base::Result<ShuffleJob> Tasks::shuffle_batch(storage::WriteTxn& txn, std::string_view job_id,
                                              std::size_t batch) const {
  auto plan = plan_shuffle_batch(txn, job_id, batch, false);
  if (!plan) return plan.status();
  return apply_shuffle_batch(txn, job_id, *plan, batch, nullptr);
}

base::Result<std::vector<Reassignment>> Tasks::plan_shuffle_batch(storage::WriteTxn& txn,
                                                                  std::string_view job_id, std::size_t batch,
                                                                  bool name_events) const {
  auto job = shuffles_.get(txn, job_id);
  if (!job) return Status(Code::kNotFound, "no shuffle " + std::string(job_id));
  std::vector<Reassignment> plan;
  if (job->done) return plan;
  const auto candidates = eligible(txn);
  if (candidates.empty()) return plan;
  open_.scan(txn, job->cursor, [&](std::string_view id, std::string_view) {
    if (id == job->cursor) return true;
    plan.push_back({std::string(id), pick(candidates), name_events ? protocol::make_uuid(txn.random()) : ""});
    return plan.size() < batch;
  });
  return plan;
}

base::Result<ShuffleJob> Tasks::apply_shuffle_batch(storage::WriteTxn& txn, std::string_view job_id,
                                                    const std::vector<Reassignment>& plan, std::size_t batch,
                                                    std::vector<std::string>* published) const {
  auto job = shuffles_.get(txn, job_id);
  if (!job) return Status(Code::kNotFound, "no shuffle " + std::string(job_id));
  if (job->done) return *job;
  for (const auto& step : plan) {
    auto task = tasks_.get(txn, step.task_id);
    if (!task || task->status != TaskStatus::kOpen) continue;  // completed since: skipped
    const std::string previous = task->assignee_id;
    // Still open: only the assignee index moves (open_tasks stays as is).
    by_assignee_.erase(txn, assignee_key(previous, task->status, task->id));
    task->assignee_id = step.assignee_id;
    tasks_.put(txn, task->id, *task);
    by_assignee_.put(txn, assignee_key(task->assignee_id, task->status, task->id), "");
    auto assigned = txn.publish(protocol::TaskAssigned{.task_id = task->id,
                                                       .assignee_id = task->assignee_id,
                                                       .previous_assignee_id = previous,
                                                       .reason = "shuffle",
                                                       .shuffle_id = job->id},
                                {}, step.event_id);
    if (!assigned) return assigned.status();
    if (published != nullptr) published->push_back(assigned->event_id);
    ++job->reassigned;
  }
  if (!plan.empty()) job->cursor = plan.back().task_id;
  if (plan.size() < batch) job->done = true;  // the last batch (or nobody to take tasks)
  shuffles_.put(txn, job->id, *job);
  return *job;
}

Status Tasks::stop_shuffle(storage::WriteTxn& txn, std::string_view job_id) const {
  auto job = shuffles_.get(txn, job_id);
  if (!job) return Status(Code::kNotFound, "no shuffle " + std::string(job_id));
  job->done = true;
  job->stopped = true;
  shuffles_.put(txn, job_id, *job);
  return Status::ok();
}

void Tasks::put_intent(storage::WriteTxn& txn, const Intent& intent) const {
  if (intent.decision.empty()) {
    intents_.put(txn, intent.op_id, intent);
    undecided_.put(txn, intent.op_id, "");
  } else {
    // Decided: nothing needs it any more (a late commit or abort of the same
    // op finds it gone and does nothing), so the table does not grow.
    intents_.erase(txn, intent.op_id);
    undecided_.erase(txn, intent.op_id);
  }
}

std::optional<Intent> Tasks::intent(const storage::Txn& txn, std::string_view op_id) const {
  return intents_.get(txn, op_id);
}

std::vector<Intent> Tasks::undecided_intents() const {
  storage::ReadTxn txn = env_.read();
  std::vector<Intent> out;
  undecided_.scan(txn, {}, [&](std::string_view op_id, std::string_view) {
    if (auto found = intents_.get(txn, op_id)) out.push_back(std::move(*found));
    return true;
  });
  return out;
}

Status Tasks::apply_user_event(storage::WriteTxn& txn, const protocol::Envelope& event) const {
  using namespace protocol;
  // A user first seen through a change gets a placeholder that the change
  // fills.
  const auto current = [&](const std::string& user) {
    return users_.get(txn, user).value_or(ReplicaUser{"worker", true});
  };
  const auto keep = [&](const std::string& id, const ReplicaUser& next) {
    users_.put(txn, id, next);
    // A deactivated user keeps their open tasks until the next shuffle;
    // only new assignments look at this set.
    if (next.active && eligible_role(next.role)) {
      eligible_.put(txn, id, "");
    } else {
      eligible_.erase(txn, id);
    }
  };
  // Signing keys and revocations are the host's business: skipped.
  return dispatch(
      event,
      [&](const UserCreated& created) {
        keep(created.user_id, {created.role, created.active});
      },
      [&](const UserUpdated& updated) {
        keep(updated.user_id, {updated.role, updated.active});
      },
      [&](const UserRoleChanged& change) {
        auto next = current(change.user_id);
        next.role = change.new_role;
        keep(change.user_id, next);
      },
      [&](const UserDeactivated& change) {
        auto next = current(change.user_id);
        next.active = false;
        keep(change.user_id, next);
      });
}

namespace {

// A 400 naming `field` when `text` holds a character no typed text may
// (protocol/text.hpp): titles and descriptions reach other people's
// screens, receipts' mail and logs.
Status check_text(std::string_view field, std::string_view text, protocol::Lines lines) {
  if (const auto bad = protocol::forbidden_character(text, lines)) {
    return base::invalid_argument(
        std::string(field) + ": must not contain " + protocol::code_point_name(*bad) +
        (lines == protocol::Lines::kMulti
             ? " (control characters other than tab and line breaks, line separators and bidirectional "
               "controls are refused)"
             : " (control characters, line breaks, line separators and bidirectional controls are refused)"));
  }
  return Status::ok();
}

}  // namespace

Status check_task_fields(const nlohmann::json& body, bool title_required) {
  const auto title = body.find("title");
  if (title != body.end() || title_required) {
    if (title == body.end() || !title->is_string())
      return base::invalid_argument(title_required ? "title: required, a string" : "title: must be a string");
    const std::string text = *title;
    const auto length = protocol::utf8_length(text);
    if (length < 1 || length > kMaxTitleChars) return base::invalid_argument("title: 1 to 200 characters");
    if (Status clean = check_text("title", text, protocol::Lines::kSingle); !clean) return clean;
    if (!protocol::is_task_title(text)) {
      return base::invalid_argument("title: must not contain '[' or ']' (the jira id has its own field)");
    }
  }
  if (const auto jira = body.find("jira_id"); jira != body.end() && !jira->is_null()) {
    if (!jira->is_string() || jira->get<std::string>().size() > kMaxJiraIdBytes ||
        !protocol::is_jira_id(jira->get<std::string>())) {
      return base::invalid_argument("jira_id: like UBERPOP-42");
    }
  }
  if (const auto description = body.find("description");
      description != body.end() && !description->is_null()) {
    if (!description->is_string()) return base::invalid_argument("description: must be a string");
    const auto chars = protocol::utf8_length(description->get<std::string>());
    if (chars < 0 || chars > kMaxDescriptionChars)
      return base::invalid_argument("description: at most 4000 characters");
    if (Status clean =
            check_text("description", description->get_ref<const std::string&>(), protocol::Lines::kMulti);
        !clean) {
      return clean;
    }
  }
  for (const auto& [field, value] : body.items()) {
    if (field != "title" && field != "jira_id" && field != "description")
      return base::invalid_argument(field + ": unknown field (title, jira_id, description)");
  }
  return Status::ok();
}

plugin_api::Schema task_fields_schema(bool title_required) {
  using plugin_api::Schema;
  const Schema title = Schema::string()
                           .min_length(1)
                           .max_length(kMaxTitleChars)
                           .describe("one line, without '[' or ']' (the jira id has its own field)");
  // Its form allows only ASCII, so its characters are its bytes.
  const Schema jira_id =
      Schema::string()
          .max_length(kMaxJiraIdBytes)
          .nullable()
          .describe(title_required ? "like UBERPOP-42; null or absent: none"
                                   : "like UBERPOP-42; null removes it, absent: unchanged");
  const Schema description =
      Schema::string()
          .max_length(kMaxDescriptionChars)
          .nullable()
          .describe(title_required ? "tabs and line breaks allowed; null or absent: empty"
                                   : "tabs and line breaks allowed; null or absent: unchanged");
  if (title_required)
    return Schema::object({{"title", title}}, {{"jira_id", jira_id}, {"description", description}});
  return Schema::object({}, {{"title", title}, {"jira_id", jira_id}, {"description", description}});
}

}  // namespace ates::tracker
