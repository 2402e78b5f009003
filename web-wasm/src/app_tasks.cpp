// "My tasks" (open tasks with mark-done, then the done ones) and "Create
// task" (the form, with the host's validation error beside its field); see
// app.hpp.
#include <imgui.h>

#include "app.hpp"
#include "app_layout.hpp"
#include "http.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

// "[UBERPOP-42] Feed the parrots", or the title alone without a jira id.
std::string task_name(const api::Task& task) {
  return task.jira_id.empty() ? task.title : "[" + task.jira_id + "] " + task.title;
}

// The date part of an RFC 3339 time ("2026-03-03T09:00:00Z" -> "2026-03-03").
std::string day_of(const std::string& time) { return time.substr(0, 10); }

}  // namespace

// ---- My tasks ------------------------------------------------------------------

void App::poll_my_tasks(double now_s) {
  auto poll = [this, now_s](Poll& state, const char* path, std::vector<api::Task>& into) {
    if (!state.due(now_s, kRefreshSeconds)) return;
    state.start(now_s);
    const int generation = generation_;
    http::get(path, [this, &state, &into, generation](const http::Response& response) {
      if (generation != generation_) return;  // asked for a session that has ended
      api::Result<api::Page<api::Task>> result = api::parse_tasks(response);
      if (state.take(result)) into = std::move(result.value.items);
    });
  };
  poll(my_tasks_.open_poll, api::kMyOpenTasksPath, my_tasks_.open);
  poll(my_tasks_.done_poll, api::kMyDoneTasksPath, my_tasks_.done);
}

void App::complete_task(const api::Task& task) {
  my_tasks_.completing_id = task.id;
  my_tasks_.action_error.clear();
  const int generation = generation_;
  const std::string name = task_name(task);
  http::post_json(api::complete_task_path(task.id), {},
                  [this, generation, name](const http::Response& response) {
                    if (generation != generation_) return;
                    my_tasks_.completing_id.clear();
                    if (!response.ok())
                      my_tasks_.action_error = name + ": " + api::describe_failure(response);
                    // Either way the lists may have changed, and so has the balance.
                    my_tasks_.open_poll.refresh_now();
                    my_tasks_.done_poll.refresh_now();
                    my_account_.account_poll.refresh_now();
                    my_account_.entries_poll.refresh_now();
                  });
}

void App::draw_my_tasks(const Rect& rect) {
  ImGui::SetNextWindowPos(rect.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(rect.size, ImGuiCond_Always);
  if (widgets::begin_window("My tasks", layout::kPlacedWindow)) {
    if (!my_tasks_.open_poll.error.empty()) {
      widgets::message("Tasks error", my_tasks_.open_poll.error, theme::kError);
    }
    if (!my_tasks_.done_poll.error.empty()) {
      widgets::message("Done tasks error", my_tasks_.done_poll.error, theme::kError);
    }
    if (!my_tasks_.action_error.empty()) {
      widgets::message("Mark done error", my_tasks_.action_error, theme::kError);
    }

    if (!my_tasks_.open_poll.answered) {
      widgets::caption_value("Open", "loading...", theme::kTextMuted);
    } else {
      widgets::caption_value("Open", std::to_string(my_tasks_.open.size()), theme::kAccent);
    }
    const float half = ImGui::GetContentRegionAvail().y * 0.5f;
    if (ImGui::BeginTable("open", 3, layout::kListTable, ImVec2(0, half))) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("Task", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableSetupColumn("Created", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableHeadersRow();
      const api::Task* to_complete = nullptr;
      for (const api::Task& task : my_tasks_.open) {
        ImGui::PushID(task.id.c_str());
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        widgets::message("Open task", task_name(task), ImGui::GetStyle().Colors[ImGuiCol_Text]);
        if (!task.description.empty()) widgets::message("Description", task.description, theme::kTextMuted);
        ImGui::TableNextColumn();
        widgets::text("Created", day_of(task.created_at), theme::kTextMuted);
        ImGui::TableNextColumn();
        const bool busy = !my_tasks_.completing_id.empty();
        const std::string record = "Mark done: " + task.title;
        if (widgets::button(my_tasks_.completing_id == task.id ? "Saving..." : "Mark done", record.c_str(),
                            !busy)) {
          to_complete = &task;
        }
        ImGui::PopID();
      }
      ImGui::EndTable();
      if (to_complete != nullptr) complete_task(*to_complete);
    }

    ImGui::Spacing();
    widgets::caption_value("Done", std::to_string(my_tasks_.done.size()), theme::kGood);
    if (ImGui::BeginTable("done", 2, layout::kListTable, ImVec2(0, 0))) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("Task", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableSetupColumn("Completed", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableHeadersRow();
      for (const api::Task& task : my_tasks_.done) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        widgets::message("Done task", task_name(task), theme::kTextMuted);
        ImGui::TableNextColumn();
        widgets::text("Completed", day_of(task.completed_at), theme::kTextMuted);
      }
      ImGui::EndTable();
    }
  }
  widgets::end_window();
}

// ---- Create task -----------------------------------------------------------------

float App::draw_create_task(const Rect& rect) {
  ImGui::SetNextWindowPos(rect.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(rect.size, ImGuiCond_Always);
  float height = 0;
  if (widgets::begin_window("Create task", layout::kPlacedWindow | ImGuiWindowFlags_AlwaysAutoResize)) {
    // The host's validation error goes under the field it names.
    auto field_error = [this](const char* field, const char* label) {
      if (create_.error_field == field) widgets::message(label, create_.error, theme::kError);
    };
    bool submit = false;
    submit |= widgets::labeled_input("Title", "##title", create_.title, ImGuiInputTextFlags_EnterReturnsTrue);
    field_error("title", "Title error");
    submit |=
        widgets::labeled_input("Jira id", "##jira_id", create_.jira_id, ImGuiInputTextFlags_EnterReturnsTrue);
    field_error("jira_id", "Jira id error");
    submit |= widgets::labeled_input("Description", "##description", create_.description,
                                     ImGuiInputTextFlags_EnterReturnsTrue);
    field_error("description", "Description error");
    ImGui::Spacing();
    submit |= widgets::wide_button(create_.in_flight ? "Creating...###create" : "Create task###create",
                                   !create_.in_flight);
    if (submit && !create_.in_flight) submit_create_task();
    if (!create_.error.empty() && create_.error_field.empty()) {
      widgets::message("Create error", create_.error, theme::kError);
    } else if (!create_.result.empty()) {
      widgets::message("Create result", create_.result, theme::kGood);
    }
    height = ImGui::GetWindowSize().y;
  }
  widgets::end_window();
  return height;
}

void App::submit_create_task() {
  create_.in_flight = true;
  create_.error.clear();
  create_.error_field.clear();
  create_.result.clear();
  const int generation = generation_;
  http::post_json(api::kTasksPath, api::create_task_body(create_.title, create_.jira_id, create_.description),
                  [this, generation](const http::Response& response) {
                    if (generation != generation_) return;
                    create_.in_flight = false;
                    api::Result<api::Task> result = api::parse_task(response);
                    if (!result.ok()) {
                      create_.error = std::move(result.error);
                      // Only a 400 names a field; a 409 (nobody to assign
                      // to) is about the whole form.
                      if (response.status == 400) create_.error_field = api::problem_field(create_.error);
                      if (create_.error_field != "title" && create_.error_field != "jira_id" &&
                          create_.error_field != "description") {
                        create_.error_field.clear();
                      }
                      return;
                    }
                    const api::Task& task = result.value;
                    create_.result = "Created \"" + task.title + "\", assigned to " +
                                     (task.assignee_id == session_.user.id ? "you" : "another popug") + ".";
                    create_.title.clear();
                    create_.jira_id.clear();
                    create_.description.clear();
                    my_tasks_.open_poll.refresh_now();
                    all_tasks_.poll.refresh_now();
                    my_account_.account_poll.refresh_now();
                    my_account_.entries_poll.refresh_now();
                  });
}

}  // namespace ates::ui
