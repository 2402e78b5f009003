// "Users" (admins): every user; pick one to change their role or to
// deactivate (or reactivate) them; see app.hpp.
#include <imgui.h>

#include "app.hpp"
#include "app_layout.hpp"
#include "http.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

constexpr const char* kRoles[] = {"worker", "accountant", "manager", "admin"};

}  // namespace

void App::poll_users(double now_s) {
  if (!users_.poll.due(now_s, kRefreshSeconds)) return;
  users_.poll.start(now_s);
  const int generation = generation_;
  http::get(api::kUsersPath, [this, generation](const http::Response& response) {
    if (generation != generation_) return;
    api::Result<api::Page<api::User>> result = api::parse_users(response);
    if (users_.poll.take(result)) users_.users = std::move(result.value.items);
  });
}

void App::change_user(const std::string& user_id, std::string body) {
  users_.changing = true;
  users_.error.clear();
  users_.result.clear();
  const int generation = generation_;
  http::patch_json(std::string(api::kUsersPath) + "/" + user_id, std::move(body),
                   [this, generation](const http::Response& response) {
                     if (generation != generation_) return;
                     users_.changing = false;
                     api::Result<api::User> result = api::parse_user(response);
                     if (result.ok()) {
                       const api::User& user = result.value;
                       users_.result = user.username + " is now " +
                                       (user.active ? "an active " : "an inactive ") + user.role + ".";
                     } else {
                       users_.error = std::move(result.error);
                     }
                     users_.poll.refresh_now();
                   });
}

void App::draw_users(const Rect& rect) {
  ImGui::SetNextWindowPos(rect.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(rect.size, ImGuiCond_Always);
  if (widgets::begin_window("Users", layout::kPlacedWindow)) {
    if (!users_.poll.error.empty()) widgets::message("Users error", users_.poll.error, theme::kError);

    // The editor of the chosen user, above the list so it stays in view.
    const api::User* selected = nullptr;
    for (const api::User& user : users_.users) {
      if (user.id == users_.selected_id) selected = &user;
    }
    if (selected != nullptr) {
      widgets::caption_value("Editing", selected->username, theme::kAccent);
      ImGui::AlignTextToFramePadding();
      ImGui::TextUnformatted("Role:");
      for (const char* role : kRoles) {
        ImGui::SameLine();
        const std::string label = std::string(role) + "##role";
        const std::string record = std::string("Role: ") + role;
        if (widgets::button(label.c_str(), record.c_str(), !users_.changing && selected->role != role)) {
          change_user(selected->id, api::role_request_body(role));
        }
      }
      const bool active = selected->active;
      if (widgets::button(active ? "Deactivate" : "Activate", nullptr, !users_.changing)) {
        change_user(selected->id, api::active_request_body(!active));
      }
    }
    if (!users_.error.empty()) widgets::message("Users change error", users_.error, theme::kError);
    if (!users_.result.empty()) widgets::message("Users result", users_.result, theme::kGood);
    ImGui::Spacing();

    if (ImGui::BeginTable("users", 4, layout::kListTable, ImVec2(0, 0))) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("User", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableSetupColumn("Role", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("Active", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableHeadersRow();
      for (const api::User& user : users_.users) {
        ImGui::PushID(user.id.c_str());
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        widgets::message("User", user.email.empty() ? user.username : user.username + " <" + user.email + ">",
                         ImGui::GetStyle().Colors[ImGuiCol_Text]);
        ImGui::TableNextColumn();
        widgets::text("User role", user.role, theme::kAccent);
        ImGui::TableNextColumn();
        widgets::text("User active", user.active ? "yes" : "no", user.active ? theme::kGood : theme::kError);
        ImGui::TableNextColumn();
        const std::string record = "Edit: " + user.username;
        if (widgets::button("Edit", record.c_str(), users_.selected_id != user.id)) {
          users_.selected_id = user.id;
          users_.error.clear();
          users_.result.clear();
        }
        ImGui::PopID();
      }
      ImGui::EndTable();
    }
  }
  widgets::end_window();
}

}  // namespace ates::ui
