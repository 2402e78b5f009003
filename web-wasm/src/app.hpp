// The UI's screens and their state: for now the log-in window and the host
// status window (DESIGN §10 lists the windows still to come).
//
// draw() runs once per frame; HTTP answers arrive between frames through
// callbacks that capture `this`, so an App must outlive every request it
// started: main.cpp keeps the one App for the life of the page.
// Single-threaded.
#pragma once

#include <string>

#include "api.hpp"

namespace ates::ui {

class App {
 public:
  // Draws every window for the current frame. `now_s`: a monotonic clock in
  // seconds; `display_w`/`display_h`: ImGui's display size (device pixels);
  // `scale`: the theme scale, to size windows.
  void draw(double now_s, float display_w, float display_h, int scale);

 private:
  // How often the status window asks GET /readyz.
  static constexpr double kReadinessPollSeconds = 2.0;

  void draw_login(float display_w, float display_h, int scale);
  void submit_login();

  void draw_host_status(int scale);
  void poll_readiness(double now_s);

  struct LoginForm {
    std::string username;
    std::string password;
    bool in_flight = false;
    std::string error;      // shown in red under the button
    std::string signed_in;  // the user name the host accepted
  } login_;

  struct HostStatus {
    bool in_flight = false;
    bool answered = false;  // at least one poll has completed
    double last_poll_s = -1e9;
    api::Readiness readiness;
    std::string error;  // why the last poll did not yield readiness
  } host_;
};

}  // namespace ates::ui
