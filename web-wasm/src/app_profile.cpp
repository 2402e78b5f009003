// "Profile": change my email and password; see app.hpp.
#include <imgui.h>

#include "app.hpp"
#include "app_layout.hpp"
#include "http.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

constexpr float kProfileWidth = 340.0f;

}  // namespace

void App::draw_profile(float display_w, int scale) {
  ImGui::SetNextWindowPos(ImVec2(display_w * 0.5f, top_bar_h_ + 2 * layout::kMargin * scale),
                          ImGuiCond_Always, ImVec2(0.5f, 0.0f));
  ImGui::SetNextWindowSize(ImVec2(kProfileWidth * scale, 0.0f), ImGuiCond_Always);
  if (profile_.just_opened) {  // in front once; afterwards the user chooses
    ImGui::SetNextWindowFocus();
    profile_.just_opened = false;
  }
  if (widgets::begin_window("Profile", layout::kPlacedWindow | ImGuiWindowFlags_AlwaysAutoResize)) {
    auto field_error = [this](const char* field, const char* label) {
      if (profile_.error_field == field) widgets::message(label, profile_.error, theme::kError);
    };
    bool submit = false;
    widgets::labeled_input("Email", "##profile_email", profile_.email);
    field_error("email", "Email error");
    widgets::labeled_input("New password (optional)", "##profile_new", profile_.new_password,
                           ImGuiInputTextFlags_Password);
    field_error("password", "New password error");
    submit |= widgets::labeled_input("Current password", "##profile_current", profile_.current_password,
                                     ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    field_error("current_password", "Current password error");
    ImGui::Spacing();
    submit |=
        widgets::wide_button(profile_.in_flight ? "Saving...###save" : "Save###save", !profile_.in_flight);
    if (submit && !profile_.in_flight) submit_profile();
    if (!profile_.error.empty() && profile_.error_field.empty()) {
      widgets::message("Profile error", profile_.error, theme::kError);
    } else if (!profile_.result.empty()) {
      widgets::message("Profile result", profile_.result, theme::kGood);
    }
    if (widgets::wide_button("Close")) profile_.open = false;
  }
  widgets::end_window();
}

void App::submit_profile() {
  profile_.in_flight = true;
  profile_.error.clear();
  profile_.error_field.clear();
  profile_.result.clear();
  const int generation = generation_;
  const bool changes_password = !profile_.new_password.empty();
  http::patch_json(
      api::kMyUserPath,
      api::profile_request_body(profile_.email, profile_.new_password, profile_.current_password),
      [this, generation, changes_password](const http::Response& response) {
        if (generation != generation_) return;
        profile_.in_flight = false;
        api::Result<api::User> result = api::parse_user(response);
        if (!result.ok()) {
          profile_.error = std::move(result.error);
          // A 400 names the field; so does the 403 of a wrong
          // current password.
          if (response.status == 400 || response.status == 403) {
            profile_.error_field = api::problem_field(profile_.error);
          }
          if (profile_.error_field != "email" && profile_.error_field != "password" &&
              profile_.error_field != "current_password") {
            profile_.error_field.clear();
          }
          return;
        }
        session_.user = std::move(result.value);
        profile_.email = session_.user.email;
        const std::string new_password = profile_.new_password;
        profile_.new_password.clear();
        profile_.current_password.clear();
        if (!changes_password) {
          profile_.result = "Saved.";
          return;
        }
        // A password change revokes every token of the user,
        // this session's too: log in again with the new one.
        profile_.in_flight = true;
        relogin_after_password_change(new_password);
      });
}

void App::relogin_after_password_change(const std::string& password) {
  const int generation = generation_;
  // The revoked token must not go with the log-in: the host refuses a
  // request whose token it refuses, whatever the route.
  http::set_bearer_token({});
  http::post_json(api::kLoginPath, api::login_request_body(session_.user.username, password),
                  [this, generation](const http::Response& response) {
                    if (generation != generation_) return;
                    profile_.in_flight = false;
                    api::Result<api::Session> result = api::parse_session(response);
                    if (!result.ok()) {
                      // The old token no longer works: back to the log-in window.
                      log_out();
                      login_.error = "Your password changed; log in with the new one.";
                      return;
                    }
                    session_ = std::move(result.value);
                    http::set_bearer_token(session_.token);
                    profile_.result = "Saved your email and your new password.";
                  });
}

}  // namespace ates::ui
