// "All tasks" (managers, admins): every task, filtered by status, and the
// shuffle of the open ones behind a confirmation; see app.hpp.
#include <imgui.h>

#include "app.hpp"
#include "app_layout.hpp"
#include "http.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

std::string task_name(const api::Task& task) {
  return task.jira_id.empty() ? task.title : "[" + task.jira_id + "] " + task.title;
}

// Managers may not list users (GET /auth/users is the admin's), so the
// assignee is shown by the start of their id.
std::string short_id(const std::string& id) { return id.substr(0, 8); }

struct Filter {
  const char* label;   // visible
  const char* record;  // for the bridge
  const char* status;  // the query's value
};
constexpr Filter kFilters[] = {{"All##filter", "Filter: all", ""},
                               {"Open##filter", "Filter: open", "open"},
                               {"Done##filter", "Filter: done", "done"}};

}  // namespace

void App::poll_all_tasks(double now_s) {
  if (!all_tasks_.poll.due(now_s, kRefreshSeconds)) return;
  all_tasks_.poll.start(now_s);
  const int generation = generation_;
  const std::string filter = all_tasks_.status_filter;
  http::get(api::all_tasks_path(filter), [this, generation, filter](const http::Response& response) {
    if (generation != generation_) return;
    all_tasks_.poll.in_flight = false;
    // The filter changed while this was in flight: its answer is stale.
    if (filter != all_tasks_.status_filter) {
      all_tasks_.poll.refresh_now();
      return;
    }
    api::Result<api::Page<api::Task>> result = api::parse_tasks(response);
    if (all_tasks_.poll.take(result)) all_tasks_.tasks = std::move(result.value.items);
  });
}

void App::shuffle_tasks() {
  all_tasks_.shuffling = true;
  all_tasks_.shuffle_error.clear();
  all_tasks_.shuffle_result.clear();
  const int generation = generation_;
  http::post_json(api::kShufflePath, {}, [this, generation](const http::Response& response) {
    if (generation != generation_) return;
    all_tasks_.shuffling = false;
    api::Result<long long> result = api::parse_shuffle(response);
    if (result.ok()) {
      all_tasks_.shuffle_result =
          "Reassigned " + std::to_string(result.value) + " open task" + (result.value == 1 ? "." : "s.");
    } else {
      all_tasks_.shuffle_error = std::move(result.error);
    }
    all_tasks_.poll.refresh_now();
  });
}

void App::draw_all_tasks(const Rect& rect) {
  ImGui::SetNextWindowPos(rect.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(rect.size, ImGuiCond_Always);
  if (widgets::begin_window("All tasks", layout::kPlacedWindow)) {
    if (!all_tasks_.poll.error.empty()) widgets::message("Tasks error", all_tasks_.poll.error, theme::kError);

    // Status filter: the chosen one is drawn as selected (disabled).
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Status:");
    for (const Filter& filter : kFilters) {
      ImGui::SameLine();
      const bool chosen = all_tasks_.status_filter == filter.status;
      if (widgets::button(filter.label, filter.record, !chosen)) {
        all_tasks_.status_filter = filter.status;
        all_tasks_.tasks.clear();
        all_tasks_.poll.answered = false;
        all_tasks_.poll.refresh_now();
      }
    }

    // Shuffle, behind a confirmation: it reassigns every open task.
    ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);  // apart from the filter
    if (!all_tasks_.confirming_shuffle) {
      if (widgets::button(all_tasks_.shuffling ? "Shuffling..." : "Shuffle open tasks", "Shuffle",
                          !all_tasks_.shuffling)) {
        all_tasks_.confirming_shuffle = true;
        all_tasks_.shuffle_error.clear();
        all_tasks_.shuffle_result.clear();
      }
    }
    if (all_tasks_.confirming_shuffle) {
      ImGui::NewLine();
      widgets::message(
          "Shuffle confirmation",
          "Reassign every open task to a random worker or accountant? Each new assignee pays the "
          "task's fee.",
          theme::kWarning);
      if (widgets::button("Yes, shuffle")) {
        all_tasks_.confirming_shuffle = false;
        shuffle_tasks();
      }
      ImGui::SameLine();
      if (widgets::button("Cancel")) all_tasks_.confirming_shuffle = false;
    }
    if (!all_tasks_.shuffle_error.empty())
      widgets::message("Shuffle error", all_tasks_.shuffle_error, theme::kError);
    if (!all_tasks_.shuffle_result.empty())
      widgets::message("Shuffle result", all_tasks_.shuffle_result, theme::kGood);

    if (!all_tasks_.poll.answered) {
      widgets::caption_value("Tasks", "loading...", theme::kTextMuted);
    } else {
      widgets::caption_value("Tasks", std::to_string(all_tasks_.tasks.size()), theme::kAccent);
    }
    if (ImGui::BeginTable("all", 4, layout::kListTable, ImVec2(0, 0))) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("Task", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableSetupColumn("Status", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("Assignee", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("Created", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableHeadersRow();
      for (const api::Task& task : all_tasks_.tasks) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        widgets::message("Task", task_name(task), ImGui::GetStyle().Colors[ImGuiCol_Text]);
        ImGui::TableNextColumn();
        widgets::text("Task status", task.status, task.status == "done" ? theme::kGood : theme::kAccent);
        ImGui::TableNextColumn();
        widgets::text("Assignee", short_id(task.assignee_id), theme::kTextMuted);
        ImGui::TableNextColumn();
        widgets::text("Created", task.created_at.substr(0, 10), theme::kTextMuted);
      }
      ImGui::EndTable();
    }
  }
  widgets::end_window();
}

}  // namespace ates::ui
