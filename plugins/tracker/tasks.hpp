// tracker's storage: tasks with their indexes, the user replica built from
// auth.users, and shuffle jobs. Every change publishes its tracker.tasks
// events in the same unit. Random choices come from the RandomSource the
// plugin was given (seeded in tests).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ates/plugin_api/context.hpp"
#include "ates/plugin_api/json_schema.hpp"
#include "ates/protocol/charge.hpp"
#include "ates/storage/named_enum.hpp"

namespace ates::tracker {

enum class TaskStatus { kOpen, kDone };

}  // namespace ates::tracker

// Stored, indexed and shown as "open" and "done".
template <>
struct ates::storage::EnumNames<ates::tracker::TaskStatus> {
  static constexpr std::array<std::pair<ates::tracker::TaskStatus, std::string_view>, 2> kNames{
      {{ates::tracker::TaskStatus::kOpen, "open"}, {ates::tracker::TaskStatus::kDone, "done"}}};
};

namespace ates::tracker {

struct Task {
  std::string id;
  std::string title;
  std::string jira_id;  // empty: none
  std::string description;
  TaskStatus status = TaskStatus::kOpen;
  std::string assignee_id;
  std::string created_by;
  std::int64_t created_at = 0;    // business clock, µs
  std::int64_t completed_at = 0;  // 0: not done
  MSGPACK_DEFINE(id, title, jira_id, description, status, assignee_id, created_by, created_at, completed_at)
};

nlohmann::json task_json(const Task& task);
// The shapes task_json and the pages of tasks (page_of, tasks_page_json,
// listed_page_json) write, as the routes' contracts declare them: the
// OpenAPI document's component Task, and {tasks: [Task], next}.
plugin_api::Schema task_schema();
plugin_api::Schema tasks_page_schema();
// A task's status as the routes write and take it: "open" or "done".
plugin_api::Schema task_status_schema();

// A change of a task's data; absent fields stay as they are, an empty
// jira_id removes it.
struct TaskEdit {
  std::optional<std::string> title;
  std::optional<std::string> jira_id;
  std::optional<std::string> description;
};

struct ReplicaUser {
  std::string role;
  bool active = true;
  MSGPACK_DEFINE(role, active)
};

struct ShuffleJob {
  std::string id;
  std::string requested_by;
  bool done = false;
  std::string cursor;  // the last task id reassigned (task ids sort as text)
  std::uint64_t reassigned = 0;
  // Ended by a failure its caller was told of (stop_shuffle), not by
  // reassigning every open task. Appended last: a record written before it
  // existed reads as false.
  bool stopped = false;
  MSGPACK_DEFINE(id, requested_by, done, cursor, reassigned, stopped)
};

// A task about to be created: its id and assignee drawn, its events named
// (rpc mode names them before publishing; empty ids: drawn at publishing).
struct PlannedCreate {
  Task task;
  std::string created_event_id;
  std::string assigned_event_id;
  MSGPACK_DEFINE(task, created_event_id, assigned_event_id)
};

struct Reassignment {
  std::string task_id;
  std::string assignee_id;
  std::string event_id;
  MSGPACK_DEFINE(task_id, assignee_id, event_id)
};

// rpc mode: what the tracker is about to do, committed before it asks
// accounting to hold the charges (step 1 of the two-phase charge in
// docs/tracker.md).
struct Intent {
  std::string op_id;
  std::string kind;  // "create" | "complete" | "shuffle"
  PlannedCreate create;
  std::string task_id;             // complete
  std::string by;                  // complete: the assignee
  std::string completed_event_id;  // complete
  std::string shuffle_id;          // shuffle
  std::vector<Reassignment> reassignments;
  std::vector<protocol::Charge> charges;
  std::int64_t deadline_us = 0;  // business time
  std::string decision;          // "" | "commit" | "abort" (a decided intent is erased)
  MSGPACK_DEFINE(op_id, kind, create, task_id, by, completed_event_id, shuffle_id, reassignments, charges,
                 deadline_us, decision)
};

class Tasks {
 public:
  // `random` draws assignees and task ids (so a seeded source makes a
  // scripted history repeat exactly); other ids come from the unit's.
  Tasks(storage::Environment& env, base::RandomSource& random);

  // Reads (any thread).
  std::optional<Task> get(std::string_view id) const;
  // Tasks of one assignee and status, by id after `after`, at most limit + 1.
  std::vector<Task> of_assignee(std::string_view assignee, TaskStatus status,
                                const std::optional<std::string>& after, std::size_t limit) const;
  // The same page as tasks_page_json(of_assignee(...), limit) writes, but
  // copied from each task's JSON kept in the listed table: no decoding and
  // no writing (GET /tasks/mine, a worker's hottest read).
  std::string of_assignee_json(std::string_view assignee, TaskStatus status,
                               const std::optional<std::string>& after, std::size_t limit) const;
  // Every task (optionally of one status), by id after `after`, at most limit + 1.
  std::vector<Task> all(std::optional<TaskStatus> status, const std::optional<std::string>& after,
                        std::size_t limit) const;
  std::vector<ShuffleJob> unfinished_shuffles() const;
  std::optional<ShuffleJob> shuffle_job(const storage::Txn& txn, std::string_view id) const;

  // Units.
  base::Result<Task> create(storage::WriteTxn& txn, Task task) const;
  // create() in two steps: draw the id and the assignee, then write it.
  base::Result<PlannedCreate> plan_create(storage::WriteTxn& txn, Task task) const;
  base::Result<Task> apply_create(storage::WriteTxn& txn, const PlannedCreate& plan) const;
  // `event_id` empty: drawn at publishing.
  base::Result<Task> complete(storage::WriteTxn& txn, std::string_view id, std::string_view by,
                              std::string_view event_id = {}) const;
  base::Result<Task> check_complete(const storage::Txn& txn, std::string_view id, std::string_view by) const;
  // Publishes TaskUpdated when something changed. With `only_assignee`, the
  // task must be assigned to that user.
  base::Result<Task> update(storage::WriteTxn& txn, std::string_view id, const TaskEdit& edit,
                            const std::optional<std::string>& only_assignee) const;
  base::Result<ShuffleJob> start_shuffle(storage::WriteTxn& txn, std::string_view by) const;
  // Reassigns the next batch of open tasks of a shuffle; returns the job.
  base::Result<ShuffleJob> shuffle_batch(storage::WriteTxn& txn, std::string_view job_id,
                                         std::size_t batch) const;
  // shuffle_batch() in two steps: draw the next batch's assignees, then
  // reassign those still open. `published` gets the event ids written.
  base::Result<std::vector<Reassignment>> plan_shuffle_batch(storage::WriteTxn& txn, std::string_view job_id,
                                                             std::size_t batch, bool name_events) const;
  base::Result<ShuffleJob> apply_shuffle_batch(storage::WriteTxn& txn, std::string_view job_id,
                                               const std::vector<Reassignment>& plan, std::size_t batch,
                                               std::vector<std::string>* published) const;

  // Ends a shuffle where it stands (its caller was told it failed).
  base::Status stop_shuffle(storage::WriteTxn& txn, std::string_view job_id) const;

  // rpc mode's intents.
  void put_intent(storage::WriteTxn& txn, const Intent& intent) const;
  std::optional<Intent> intent(const storage::Txn& txn, std::string_view op_id) const;
  std::vector<Intent> undecided_intents() const;

  // The user replica, from auth.users (event_handlers).
  base::Status apply_user_event(storage::WriteTxn& txn, const protocol::Envelope& event) const;

 private:
  std::vector<std::string> eligible(const storage::Txn& txn) const;
  std::string pick(const std::vector<std::string>& eligible) const;
  void index(storage::WriteTxn& txn, const Task& task) const;
  void unindex(storage::WriteTxn& txn, const Task& task) const;

  storage::Environment& env_;
  base::RandomSource& random_;
  storage::Table<Task> tasks_;
  storage::RawTable by_assignee_;  // assignee \0 status \0 id
  storage::RawTable listed_;       // id -> its JSON after "assignee_id" (a page's bytes)
  storage::RawTable open_;         // id of every open task
  storage::Table<ReplicaUser> users_;
  storage::RawTable eligible_;  // ids of active workers and accountants
  storage::Table<ShuffleJob> shuffles_;
  storage::Table<Intent> intents_;
  storage::RawTable undecided_;  // op ids of intents without a decision
};

// The limits of a task's fields.
inline constexpr std::int64_t kMaxTitleChars = 200;
inline constexpr std::size_t kMaxJiraIdBytes = 64;
inline constexpr std::int64_t kMaxDescriptionChars = 4000;

// Request checks that name the field: a new task (title required) or an
// edit (every field optional; jira_id null removes it).
base::Status check_task_fields(const nlohmann::json& body, bool title_required);
// The body check_task_fields takes, as the routes' contracts declare it;
// the handler still checks what the schema cannot say (the characters, the
// jira id's form).
plugin_api::Schema task_fields_schema(bool title_required);

}  // namespace ates::tracker
