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

namespace ates::tracker {

struct Task {
  std::string id;
  std::string title;
  std::string jira_id;  // empty: none
  std::string description;
  std::string status = "open";  // "open" | "done"
  std::string assignee_id;
  std::string created_by;
  std::int64_t created_at = 0;    // business clock, µs
  std::int64_t completed_at = 0;  // 0: not done
  MSGPACK_DEFINE(id, title, jira_id, description, status, assignee_id, created_by, created_at, completed_at)
};

nlohmann::json task_json(const Task& task);

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
  MSGPACK_DEFINE(id, requested_by, done, cursor, reassigned)
};

class Tasks {
 public:
  Tasks(storage::Environment& env, protocol::RandomSource& random);

  // Reads (any thread).
  std::optional<Task> get(std::string_view id) const;
  // Tasks of one assignee and status, by id after `after`, at most limit + 1.
  std::vector<Task> of_assignee(std::string_view assignee, std::string_view status,
                                const std::optional<std::string>& after, std::size_t limit) const;
  // Every task (optionally of one status), by id after `after`, at most limit + 1.
  std::vector<Task> all(const std::optional<std::string>& status, const std::optional<std::string>& after,
                        std::size_t limit) const;
  std::vector<ShuffleJob> unfinished_shuffles() const;

  // Units.
  protocol::Result<Task> create(storage::WriteTxn& txn, Task task) const;
  protocol::Result<Task> complete(storage::WriteTxn& txn, std::string_view id, std::string_view by) const;
  // Publishes TaskUpdated when something changed. With `only_assignee`, the
  // task must be assigned to that user.
  protocol::Result<Task> update(storage::WriteTxn& txn, std::string_view id, const TaskEdit& edit,
                                const std::optional<std::string>& only_assignee) const;
  protocol::Result<ShuffleJob> start_shuffle(storage::WriteTxn& txn, std::string_view by) const;
  // Reassigns the next batch of open tasks of a shuffle; returns the job.
  protocol::Result<ShuffleJob> shuffle_batch(storage::WriteTxn& txn, std::string_view job_id,
                                             std::size_t batch) const;

  // The user replica, from auth.users (event_handlers).
  protocol::Status apply_user_event(storage::WriteTxn& txn, const protocol::Envelope& event) const;

 private:
  std::vector<std::string> eligible(MDB_txn* txn) const;
  std::string pick(const std::vector<std::string>& eligible) const;
  void index(MDB_txn* txn, const Task& task) const;
  void unindex(MDB_txn* txn, const Task& task) const;

  storage::Environment& env_;
  protocol::RandomSource& random_;
  storage::Table<Task> tasks_;
  storage::RawTable by_assignee_;  // assignee \0 status \0 id
  storage::RawTable open_;         // id of every open task
  storage::Table<ReplicaUser> users_;
  storage::RawTable eligible_;  // ids of active workers and accountants
  storage::Table<ShuffleJob> shuffles_;
};

// Request checks that name the field: a new task (title required) or an
// edit (every field optional; jira_id null removes it).
protocol::Status check_task_fields(const nlohmann::json& body, bool title_required);

}  // namespace ates::tracker
