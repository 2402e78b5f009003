// The log-in and host status windows; see app.hpp.
#include "app.hpp"

#include <imgui.h>

#include "http.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

// Window widths in unscaled pixels (the theme multiplies by its scale).
constexpr float kLoginWidth = 320.0f;
constexpr float kStatusWidth = 240.0f;
constexpr float kMargin = 12.0f;

// Windows that the layout places: the user neither moves nor resizes them,
// and nothing of them is saved between visits.
constexpr ImGuiWindowFlags kPlacedWindow = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                           ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings;

ImVec4 color_for_state(const std::string& state) {
  if (state == "ready" || state == "running") return theme::kGood;
  if (state == "starting" || state == "stopping") return theme::kWarning;
  return theme::kError;
}

}  // namespace

void App::draw(double now_s, float display_w, float display_h, int scale) {
  poll_readiness(now_s);
  draw_host_status(scale);
  draw_login(display_w, display_h, scale);
}

// ---- log in -----------------------------------------------------------------

void App::draw_login(float display_w, float display_h, int scale) {
  // Anchored by its top edge a third of the way down, so a message appearing
  // under the button grows the window downwards instead of moving the fields
  // under the user's pointer.
  ImGui::SetNextWindowPos(ImVec2(display_w * 0.5f, display_h * 0.3f), ImGuiCond_Always, ImVec2(0.5f, 0.0f));
  ImGui::SetNextWindowSize(ImVec2(kLoginWidth * scale, 0.0f), ImGuiCond_Always);
  if (widgets::begin_window("Log in", kPlacedWindow | ImGuiWindowFlags_AlwaysAutoResize)) {
    bool submit = false;
    widgets::labeled_input("Username", "##username", login_.username);
    // Enter in the password field submits, as on any log-in form.
    submit |= widgets::labeled_input("Password", "##password", login_.password,
                                     ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::Spacing();
    submit |= widgets::wide_button(login_.in_flight ? "Logging in...###login" : "Log in###login",
                                   !login_.in_flight);
    if (submit && !login_.in_flight) submit_login();

    if (!login_.error.empty()) {
      widgets::message("Login error", login_.error, theme::kError);
    } else if (!login_.signed_in.empty()) {
      widgets::message("Login result", "Logged in as " + login_.signed_in, theme::kGood);
    }
  }
  widgets::end_window();
}

void App::submit_login() {
  if (login_.username.empty() || login_.password.empty()) {
    login_.error = "Enter your username and password.";
    return;
  }
  login_.in_flight = true;
  login_.error.clear();
  login_.signed_in.clear();
  std::string username = login_.username;
  http::post_json(api::kLoginPath, api::login_request_body(login_.username, login_.password),
                  [this, username](const http::Response& response) {
                    login_.in_flight = false;
                    if (response.ok()) {
                      // The auth plugin's session contract is not settled
                      // yet; for now a 2xx only says who logged in.
                      login_.signed_in = username;
                    } else {
                      login_.error = api::describe_failure(response);
                    }
                  });
}

// ---- host status -------------------------------------------------------------

void App::draw_host_status(int scale) {
  ImGui::SetNextWindowPos(ImVec2(kMargin * scale, kMargin * scale), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(kStatusWidth * scale, 0.0f), ImGuiCond_Always);
  if (widgets::begin_window("Host", kPlacedWindow | ImGuiWindowFlags_AlwaysAutoResize)) {
    if (!host_.answered) {
      widgets::caption_value("Status", "checking...", theme::kTextMuted);
    } else if (!host_.error.empty()) {
      widgets::caption_value("Status", "unknown", theme::kError);
      widgets::message("Status error", host_.error, theme::kError);
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
  // One request at a time: a host slower than the poll period gets no pile
  // of concurrent polls, and answers cannot arrive out of order.
  if (host_.in_flight || now_s - host_.last_poll_s < kReadinessPollSeconds) return;
  host_.in_flight = true;
  host_.last_poll_s = now_s;
  http::get(api::kReadyzPath, [this](const http::Response& response) {
    host_.in_flight = false;
    host_.answered = true;
    api::Result<api::Readiness> result = api::parse_readiness(response);
    if (result.ok()) {
      host_.readiness = std::move(result.value);
      host_.error.clear();
    } else {
      host_.error = std::move(result.error);
    }
  });
}

}  // namespace ates::ui
