// The UI's screens and their state.
//
// Signed out: the log-in window (or the register window) and the host
// status window. Signed in: a top bar (who, role, host status, views,
// profile, log-out) and the windows of the user's role (docs/ui.md lists
// them): "My tasks" and "My account" for those who get tasks (workers,
// accountants), "All tasks" (filters, shuffle) for managers and admins,
// "Users" and "Analytics" for admins, "Create task" for every role,
// "Accounting" for accountants and admins, "Event inspector" for admins.
// Each window refreshes itself every kRefreshSeconds, and at once after an
// action that changes what it shows.
//
// Accountants and admins have more than fits one screen: the top bar
// switches between views ("Work", "Accounting", and the admin's "Events");
// only the windows of the view shown are drawn and refreshed.
//
// The code is split by screen: app.cpp (frame, layout, views, log-in, top
// bar, host status), app_tasks.cpp (My tasks, Create task),
// app_all_tasks.cpp (All tasks), app_account.cpp (My account),
// app_profile.cpp (Profile), app_users.cpp (Users), app_analytics.cpp
// (Analytics), app_accounting.cpp (Accounting) and app_events.cpp (Event
// inspector).
//
// draw() runs once per frame; HTTP answers arrive between frames through
// callbacks that capture `this`, so an App must outlive every request it
// started: main.cpp keeps the one App for the life of the page. Answers
// that arrive after a log-out (or a log-in as someone else) are dropped by
// comparing the session generation they were asked in. Single-threaded.
#pragma once

#include <imgui.h>

#include <string>
#include <vector>

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
  // How often the signed-in windows ask for their data again.
  static constexpr double kRefreshSeconds = 3.0;

  // A window's place: top-left corner and size, device pixels.
  struct Rect {
    ImVec2 pos;
    ImVec2 size;
  };

  // One periodically refreshed GET: at most one request in flight, so a slow
  // host gets no pile of polls and answers cannot arrive out of order.
  struct Poll {
    bool in_flight = false;
    bool answered = false;
    double last_s = -1e9;
    std::string error;  // why the last answer was not usable; "" when it was
    bool due(double now_s, double period_s) const { return !in_flight && now_s - last_s >= period_s; }
    void refresh_now() { last_s = -1e9; }
    // A request of this poll goes out at `now_s`.
    void start(double now_s) {
      in_flight = true;
      last_s = now_s;
    }
    // Its answer arrived as `result`: the poll is answered, and keeps the
    // error or clears it. True when `result.value` is usable.
    template <typename T>
    bool take(api::Result<T>& result) {
      in_flight = false;
      answered = true;
      if (!result.ok()) {
        error = std::move(result.error);
        return false;
      }
      error.clear();
      return true;
    }
  };

  // What the top bar switches between.
  enum class View { work, accounting, events };

  bool signed_in() const { return !session_.token.empty(); }
  // The views of the user's role, in the top bar's order; "work" first.
  std::vector<View> views() const;
  bool gets_tasks() const;     // workers and accountants are assigned tasks
  bool manages_tasks() const;  // managers and admins see every task and shuffle

  // ---- app.cpp
  void draw_login(float display_w, float display_h, int scale);
  void submit_login();
  void draw_register(float display_w, float display_h, int scale);
  void submit_register();
  void log_out();
  // After a password change (which revoked the session's token).
  void relogin_after_password_change(const std::string& password);
  // Returns the bar's height (device pixels).
  float draw_top_bar(float display_w, int scale);
  void draw_host_status(int scale);
  void poll_readiness(double now_s);

  // ---- app_profile.cpp
  void draw_profile(float display_w, int scale);
  void submit_profile();

  // ---- app_tasks.cpp
  void draw_my_tasks(const Rect& rect);
  void poll_my_tasks(double now_s);
  void complete_task(const api::Task& task);
  // Returns the window's height (device pixels).
  float draw_create_task(const Rect& rect);
  void submit_create_task();

  // ---- app_all_tasks.cpp
  void draw_all_tasks(const Rect& rect);
  void poll_all_tasks(double now_s);
  void shuffle_tasks();

  // ---- app_users.cpp
  void draw_users(const Rect& rect);
  void poll_users(double now_s);
  void change_user(const std::string& user_id, std::string body);

  // ---- app_analytics.cpp
  void draw_analytics(const Rect& rect);
  void poll_analytics(double now_s);
  void ask_expensive_task(std::string from_date, std::string end_date);

  // ---- app_account.cpp
  void draw_my_account(const Rect& rect);
  void poll_my_account(double now_s);

  // ---- app_accounting.cpp
  void draw_accounting(const Rect& rect);
  void poll_accounting(double now_s);
  void close_day(const std::string& date);

  // ---- app_events.cpp
  void draw_event_inspector(const Rect& rect);
  void poll_events(double now_s);
  void redrive(const std::string& dead_letter_id);

  // The log-in and the register form share the fields.
  struct LoginForm {
    bool registering = false;  // the Register window instead of Log in
    std::string username;
    std::string email;  // register only
    std::string password;
    bool in_flight = false;
    std::string error_field;  // register: "username", "email", "password", or "" (under the button)
    std::string error;        // shown in red under its field or the button
  } login_;

  api::Session session_;  // token empty: signed out
  // Bumped at every log-in and log-out; answers to an older generation are
  // dropped.
  int generation_ = 0;

  struct HostStatus {
    Poll poll;
    api::Readiness readiness;
  } host_;

  struct MyTasks {
    Poll open_poll;
    Poll done_poll;
    std::vector<api::Task> open;
    std::vector<api::Task> done;
    std::string completing_id;  // the task whose completion is in flight
    std::string action_error;   // why the last mark-done failed
  } my_tasks_;

  // "Profile": change my email and password (opened from the top bar).
  struct Profile {
    bool open = false;
    bool just_opened = false;
    std::string email;
    std::string new_password;
    std::string current_password;
    bool in_flight = false;
    std::string error_field;  // "email", "password", "current_password", or "" (under the button)
    std::string error;
    std::string result;
  } profile_;

  struct AllTasks {
    Poll poll;
    std::string status_filter;  // "", "open" or "done"
    std::vector<api::Task> tasks;
    bool confirming_shuffle = false;  // the confirmation is on screen
    bool shuffling = false;
    std::string shuffle_error;
    std::string shuffle_result;
  } all_tasks_;

  struct Users {
    Poll poll;
    std::vector<api::User> users;
    std::string selected_id;  // the user being edited
    bool changing = false;
    std::string error;   // why the last change failed
    std::string result;  // what the last change did
  } users_;

  struct Analytics {
    Poll summary_poll;
    api::Summary summary;
    std::string from_date;  // the custom range's fields
    std::string end_date;
    bool expensive_in_flight = false;
    bool expensive_answered = false;
    api::ExpensiveTask expensive;
    std::string expensive_error;
  } analytics_;

  struct CreateTask {
    std::string title;
    std::string jira_id;
    std::string description;
    bool in_flight = false;
    std::string error_field;  // "title", "jira_id", "description" or "" (under the button)
    std::string error;
    std::string result;  // what the last success did
  } create_;

  struct MyAccount {
    Poll account_poll;
    Poll entries_poll;  // walks every page of the audit log
    api::Account account;
    std::vector<api::EntryDay> days;  // newest first
    size_t day_index = 0;             // the day shown: one day per page
  } my_account_;

  struct Accounting {
    Poll days_poll;  // every page; the first day is today
    std::vector<api::Day> days;
    Poll earnings_poll;  // the kEarningsDays days up to today, once today is known
    std::vector<api::DayEarnings> earnings;
    Poll accounts_poll;  // every page
    std::vector<api::Account> accounts;
    std::string closing_date;  // the close in flight
    std::string close_error;
    std::string close_result;
    std::string close_detail;                 // a waiting close: the host's detail
    std::vector<api::Waiting> close_waiting;  // and what it waits for
  } accounting_;

  struct Events {
    Poll streams_poll;
    std::vector<api::Stream> streams;
    Poll letters_poll;
    std::vector<api::DeadLetter> letters;
    std::string redriving_id;  // the re-drive in flight
    std::string redrive_error;
    std::string redrive_result;
  } events_;

  View view_ = View::work;
  int scale_ = 1;  // the theme scale of this frame, for sizes inside windows

  float top_bar_h_ = 0;  // from the last frame, to place the windows under it
};

}  // namespace ates::ui
