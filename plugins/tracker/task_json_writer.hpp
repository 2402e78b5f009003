// Tasks written as JSON text straight into a string, without building a
// nlohmann::json tree: the hot read of a worker's day, GET /tasks/mine, spent
// most of its time building and serialising that tree, and its target is at
// least 50 % of the requests/s of a bare RESTinio route
// (docs/performance.md).
//
// The bytes are those of the tree-based code they replace:
// append_task_json(out, t) appends task_json(t).dump(), and tasks_page_json
// is plugin_api::page_of(tasks, page, id, "tasks", task_json).dump() — keys in
// nlohmann's (sorted) order, strings escaped as dump() escapes them.
// task_json_test.cpp holds them to that.
//
// Free functions of their arguments only: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tasks.hpp"

namespace ates::tracker {

// Appends `text` as a quoted JSON string. Escapes as nlohmann::json::dump()
// does: '"', '\\', \b \f \n \r \t, other control characters as \u00xx;
// everything else, UTF-8 included, is copied. Invalid UTF-8, which input
// validation keeps out of storage and on which dump() throws, becomes
// U+FFFD as dump() with error_handler_t::replace makes it, so the answer
// stays valid JSON.
void append_json_string(std::string& out, std::string_view text);

// Appends protocol::format_utc(micros): "YYYY-MM-DDTHH:MM:SSZ".
void append_utc(std::string& out, std::int64_t micros);

// Appends task_json(task).dump().
void append_task_json(std::string& out, const Task& task);

// One page of tasks, {"next":...,"tasks":[...]}: `tasks` is sorted by id and
// holds at most limit + 1 of them read after the cursor (as
// Tasks::of_assignee returns them); the first `limit` are the page and, when
// there is one more, the last of the page's id is `next` (else null).
std::string tasks_page_json(std::span<const Task> tasks, std::size_t limit);

// The same page from tasks of one assignee written already by
// append_task_json, each without its first member, "assignee_id" (keys are
// sorted, so it is first): `next` is the cursor when there is a further page.
std::string listed_page_json(std::string_view assignee, std::span<const std::string_view> after_assignee,
                             std::optional<std::string_view> next);

}  // namespace ates::tracker
