// The frame's layout, the log-in window, the top bar and the host status;
// see app.hpp.
#include "app.hpp"

#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "app_layout.hpp"
#include "http.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

// Window widths in unscaled pixels (the theme multiplies by its scale).
constexpr float kLoginWidth = 320.0f;
constexpr float kStatusWidth = 240.0f;
// Share of the content width that the left column (My tasks) takes.
constexpr float kLeftColumnShare = 0.56f;

ImVec4 color_for_state(const std::string& state) {
  if (state == "ready" || state == "running") return theme::kGood;
  if (state == "starting" || state == "stopping") return theme::kWarning;
  return theme::kError;
}

}  // namespace

bool App::gets_tasks() const { return session_.user.role == "worker" || session_.user.role == "accountant"; }

bool App::manages_tasks() const { return session_.user.role == "manager" || session_.user.role == "admin"; }

std::vector<App::View> App::views() const {
  const std::string& role = session_.user.role;
  if (role == "admin") return {View::work, View::accounting, View::events};
  if (role == "accountant") return {View::work, View::accounting};
  return {View::work};
}

void App::draw(double now_s, float display_w, float display_h, int scale) {
  poll_readiness(now_s);
  if (!signed_in()) {
    draw_host_status(scale);
    if (login_.registering) {
      draw_register(display_w, display_h, scale);
    } else {
      draw_login(display_w, display_h, scale);
    }
    return;
  }

  scale_ = scale;
  // A view the role does not have (after a log-in as someone else) falls
  // back to the first.
  const std::vector<View> allowed = views();
  if (std::find(allowed.begin(), allowed.end(), view_) == allowed.end()) view_ = View::work;

  // Only the windows shown are refreshed.
  if (view_ == View::accounting) poll_accounting(now_s);
  if (view_ == View::events) poll_events(now_s);
  if (view_ == View::work) {
    if (gets_tasks()) {
      poll_my_tasks(now_s);
      poll_my_account(now_s);
    }
    if (manages_tasks()) poll_all_tasks(now_s);
    if (session_.user.role == "admin") {
      poll_users(now_s);
      poll_analytics(now_s);
    }
  }

  top_bar_h_ = draw_top_bar(display_w, scale);
  const float margin = layout::kMargin * scale;
  const float top = top_bar_h_ + margin;
  const float width = std::max(display_w - 2 * margin, 1.0f);
  const float height = std::max(display_h - top - margin, 1.0f);

  if (view_ == View::accounting) {
    draw_accounting({ImVec2(margin, top), ImVec2(width, height)});
  } else if (view_ == View::events) {
    draw_event_inspector({ImVec2(margin, top), ImVec2(width, height)});
  } else if (gets_tasks()) {
    // Two columns: My tasks on the left; Create task over My account on the
    // right.
    const float left_w = std::floor(width * kLeftColumnShare);
    const float right_x = margin + left_w + margin;
    const float right_w = std::max(width - left_w - margin, 1.0f);
    draw_my_tasks({ImVec2(margin, top), ImVec2(left_w, height)});
    const float create_h = draw_create_task({ImVec2(right_x, top), ImVec2(right_w, 0)});
    const float account_y = top + create_h + margin;
    draw_my_account(
        {ImVec2(right_x, account_y), ImVec2(right_w, std::max(display_h - account_y - margin, 1.0f))});
  } else if (manages_tasks()) {
    // All tasks on the left, Create task on the right.
    const float left_w = std::floor(width * kLeftColumnShare);
    if (session_.user.role == "admin") {
      // The admin's left column: All tasks over Analytics.
      const float tasks_h = std::floor(height * 0.55f);
      draw_all_tasks({ImVec2(margin, top), ImVec2(left_w, tasks_h)});
      draw_analytics({ImVec2(margin, top + tasks_h + margin),
                      ImVec2(left_w, std::max(height - tasks_h - margin, 1.0f))});
    } else {
      draw_all_tasks({ImVec2(margin, top), ImVec2(left_w, height)});
    }
    const float right_x = margin + left_w + margin;
    const float right_w = std::max(width - left_w - margin, 1.0f);
    const float create_h = draw_create_task({ImVec2(right_x, top), ImVec2(right_w, 0)});
    if (session_.user.role == "admin") {
      const float users_y = top + create_h + margin;
      draw_users({ImVec2(right_x, users_y), ImVec2(right_w, std::max(display_h - users_y - margin, 1.0f))});
    }
  } else {
    draw_create_task({ImVec2(margin, top), ImVec2(std::min(width, 420.0f * scale), 0)});
  }
  // Last: it opens over the other windows.
  if (profile_.open) draw_profile(display_w, scale);
}

// ---- log in, log out -----------------------------------------------------------

void App::draw_login(float display_w, float display_h, int scale) {
  // Anchored by its top edge a third of the way down, so a message appearing
  // under the button grows the window downwards instead of moving the fields
  // under the user's pointer.
  ImGui::SetNextWindowPos(ImVec2(display_w * 0.5f, display_h * 0.3f), ImGuiCond_Always, ImVec2(0.5f, 0.0f));
  ImGui::SetNextWindowSize(ImVec2(kLoginWidth * scale, 0.0f), ImGuiCond_Always);
  if (widgets::begin_window("Log in", layout::kPlacedWindow | ImGuiWindowFlags_AlwaysAutoResize)) {
    bool submit = false;
    widgets::labeled_input("Username", "##username", login_.username);
    // Enter in the password field submits, as on any log-in form.
    submit |= widgets::labeled_input("Password", "##password", login_.password,
                                     ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::Spacing();
    submit |= widgets::wide_button(login_.in_flight ? "Logging in...###login" : "Log in###login",
                                   !login_.in_flight);
    if (submit && !login_.in_flight) submit_login();

    if (!login_.error.empty()) widgets::message("Login error", login_.error, theme::kError);
    ImGui::Separator();
    if (widgets::wide_button("Create an account", !login_.in_flight)) {
      login_.registering = true;
      login_.error.clear();
      login_.error_field.clear();
    }
  }
  widgets::end_window();
}

void App::draw_register(float display_w, float display_h, int scale) {
  ImGui::SetNextWindowPos(ImVec2(display_w * 0.5f, display_h * 0.3f), ImGuiCond_Always, ImVec2(0.5f, 0.0f));
  ImGui::SetNextWindowSize(ImVec2(kLoginWidth * scale, 0.0f), ImGuiCond_Always);
  if (widgets::begin_window("Register", layout::kPlacedWindow | ImGuiWindowFlags_AlwaysAutoResize)) {
    // The host's validation error goes under the field it names.
    auto field_error = [this](const char* field, const char* label) {
      if (login_.error_field == field) widgets::message(label, login_.error, theme::kError);
    };
    bool submit = false;
    widgets::labeled_input("Username", "##reg_username", login_.username);
    field_error("username", "Username error");
    widgets::labeled_input("Email", "##reg_email", login_.email);
    field_error("email", "Email error");
    submit |= widgets::labeled_input("Password", "##reg_password", login_.password,
                                     ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    field_error("password", "Password error");
    ImGui::Spacing();
    submit |= widgets::wide_button(login_.in_flight ? "Registering...###register" : "Register###register",
                                   !login_.in_flight);
    if (submit && !login_.in_flight) submit_register();
    if (!login_.error.empty() && login_.error_field.empty()) {
      widgets::message("Register error", login_.error, theme::kError);
    }
    ImGui::Separator();
    if (widgets::wide_button("I have an account", !login_.in_flight)) {
      login_.registering = false;
      login_.error.clear();
      login_.error_field.clear();
    }
  }
  widgets::end_window();
}

void App::submit_register() {
  login_.in_flight = true;
  login_.error.clear();
  login_.error_field.clear();
  http::post_json(api::kRegisterPath,
                  api::register_request_body(login_.username, login_.password, login_.email),
                  [this](const http::Response& response) {
                    login_.in_flight = false;
                    if (!response.ok()) {
                      login_.error = api::describe_failure(response);
                      if (response.status == 400) login_.error_field = api::problem_field(login_.error);
                      if (login_.error_field != "username" && login_.error_field != "email" &&
                          login_.error_field != "password") {
                        login_.error_field.clear();
                      }
                      return;
                    }
                    // Registered: log in with the same name and password.
                    login_.registering = false;
                    submit_login();
                  });
}

void App::submit_login() {
  if (login_.username.empty() || login_.password.empty()) {
    login_.error = "Enter your username and password.";
    return;
  }
  login_.in_flight = true;
  login_.error.clear();
  login_.error_field.clear();
  http::post_json(api::kLoginPath, api::login_request_body(login_.username, login_.password),
                  [this](const http::Response& response) {
                    login_.in_flight = false;
                    api::Result<api::Session> result = api::parse_session(response);
                    if (!result.ok()) {
                      login_.error = std::move(result.error);
                      return;
                    }
                    ++generation_;
                    session_ = std::move(result.value);
                    http::set_bearer_token(session_.token);
                    login_.password.clear();
                    login_.email.clear();
                  });
}

void App::log_out() {
  // The host revokes the token (its answer is not awaited: the request
  // carries the token as it is now); then it and everything shown with it
  // are forgotten.
  if (!session_.token.empty()) http::post_json(api::kLogoutPath, "{}", [](const http::Response&) {});
  ++generation_;
  http::set_bearer_token({});
  session_ = {};
  my_tasks_ = {};
  profile_ = {};
  users_ = {};
  analytics_ = {};
  all_tasks_ = {};
  create_ = {};
  my_account_ = {};
  accounting_ = {};
  events_ = {};
  view_ = View::work;
}

// ---- top bar --------------------------------------------------------------------

float App::draw_top_bar(float display_w, int scale) {
  ImGui::SetNextWindowPos(ImVec2(0, 0), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(display_w, 0), ImGuiCond_Always);
  float height = 0;
  if (widgets::begin_window(
          "ates", layout::kPlacedWindow | ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_AlwaysAutoResize)) {
    ImGui::AlignTextToFramePadding();  // the texts on the Log out button's line
    widgets::caption_value("Signed in as", session_.user.username, theme::kAccent);
    ImGui::SameLine(0, 24.0f * scale);
    widgets::caption_value("Role", session_.user.role, theme::kAccent);
    ImGui::SameLine(0, 24.0f * scale);
    if (!host_.poll.answered) {
      widgets::caption_value("Host", "checking...", theme::kTextMuted);
    } else if (!host_.poll.error.empty()) {
      widgets::caption_value("Host", "unknown: " + host_.poll.error, theme::kError);
    } else {
      widgets::caption_value("Host", host_.readiness.status, color_for_state(host_.readiness.status));
    }
    // The views, when the role has more than one; the one shown is dimmed.
    const std::vector<View> allowed = views();
    if (allowed.size() > 1) {
      for (View view : allowed) {
        ImGui::SameLine(0, view == allowed.front() ? 32.0f * scale : -1.0f);
        const char* label = view == View::work ? "Work" : view == View::accounting ? "Accounting" : "Events";
        const std::string record = std::string("View: ") + label;
        if (widgets::button((std::string(label) + "##view").c_str(), record.c_str(), view_ != view))
          view_ = view;
      }
    }
    const float button_w = ImGui::CalcTextSize("Log out").x + 2 * ImGui::GetStyle().FramePadding.x;
    const float profile_w = ImGui::CalcTextSize("Profile").x + 2 * ImGui::GetStyle().FramePadding.x;
    ImGui::SameLine(ImGui::GetWindowContentRegionMax().x - button_w - ImGui::GetStyle().ItemSpacing.x -
                    profile_w);
    if (widgets::button("Profile")) {
      profile_ = {};
      profile_.open = true;
      profile_.just_opened = true;
      profile_.email = session_.user.email;
    }
    ImGui::SameLine();
    if (widgets::button("Log out")) log_out();
    height = ImGui::GetWindowSize().y;
  }
  widgets::end_window();
  return height;
}

// ---- host status -------------------------------------------------------------

void App::draw_host_status(int scale) {
  ImGui::SetNextWindowPos(ImVec2(layout::kMargin * scale, layout::kMargin * scale), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(kStatusWidth * scale, 0.0f), ImGuiCond_Always);
  if (widgets::begin_window("Host", layout::kPlacedWindow | ImGuiWindowFlags_AlwaysAutoResize)) {
    if (!host_.poll.answered) {
      widgets::caption_value("Status", "checking...", theme::kTextMuted);
    } else if (!host_.poll.error.empty()) {
      widgets::caption_value("Status", "unknown", theme::kError);
      widgets::message("Status error", host_.poll.error, theme::kError);
    } else {
      const std::string& status = host_.readiness.status;
      widgets::caption_value("Status", status, color_for_state(status));
      if (host_.readiness.plugins.empty()) {
        widgets::caption_value("Plugins", "none loaded", theme::kTextMuted);
      }
      for (const api::PluginState& plugin : host_.readiness.plugins) {
        widgets::caption_value(plugin.name.c_str(), plugin.state, color_for_state(plugin.state));
      }
    }
  }
  widgets::end_window();
}

void App::poll_readiness(double now_s) {
  if (!host_.poll.due(now_s, kReadinessPollSeconds)) return;
  host_.poll.start(now_s);
  http::get(api::kReadyzPath, [this](const http::Response& response) {
    api::Result<api::Readiness> result = api::parse_readiness(response);
    if (host_.poll.take(result)) host_.readiness = std::move(result.value);
  });
}

}  // namespace ates::ui
