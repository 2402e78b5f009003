// "Analytics" (admins): today's summary, and the most expensive task of a
// day, the last 7 days, the last 30 days or a custom range; see app.hpp.
#include <imgui.h>

#include "app.hpp"
#include "app_layout.hpp"
#include "http.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {

void App::poll_analytics(double now_s) {
  if (!analytics_.summary_poll.due(now_s, kRefreshSeconds)) return;
  Poll& poll = analytics_.summary_poll;
  poll.start(now_s);
  const int generation = generation_;
  http::get(api::kSummaryPath, [this, &poll, generation](const http::Response& response) {
    if (generation != generation_) return;
    api::Result<api::Summary> result = api::parse_summary(response);
    if (!poll.take(result)) return;
    analytics_.summary = std::move(result.value);
    // The custom range starts as today (the host's business day).
    if (analytics_.from_date.empty()) analytics_.from_date = analytics_.summary.date;
    if (analytics_.end_date.empty()) analytics_.end_date = analytics_.summary.date;
  });
}

void App::ask_expensive_task(std::string from_date, std::string end_date) {
  analytics_.expensive_in_flight = true;
  analytics_.expensive_error.clear();
  const int generation = generation_;
  http::get(api::expensive_task_path(from_date, end_date),
            [this, generation](const http::Response& response) {
              if (generation != generation_) return;
              analytics_.expensive_in_flight = false;
              api::Result<api::ExpensiveTask> result = api::parse_expensive_task(response);
              if (result.ok()) {
                analytics_.expensive = std::move(result.value);
                analytics_.expensive_answered = true;
              } else {
                analytics_.expensive_error = std::move(result.error);
              }
            });
}

void App::draw_analytics(const Rect& rect) {
  ImGui::SetNextWindowPos(rect.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(rect.size, ImGuiCond_Always);
  if (widgets::begin_window("Analytics", layout::kPlacedWindow)) {
    const Poll& poll = analytics_.summary_poll;
    if (!poll.error.empty()) widgets::message("Summary error", poll.error, theme::kError);
    if (!poll.answered) {
      widgets::caption_value("Today", "loading...", theme::kTextMuted);
    } else {
      const api::Summary& summary = analytics_.summary;
      widgets::caption_value("Today", summary.date, theme::kAccent);
      ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
      widgets::caption_value("Management earned", api::format_cents(summary.management_earnings_cents),
                             summary.management_earnings_cents < 0 ? theme::kError : theme::kGood);
      ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
      widgets::caption_value("Popugs in the red", std::to_string(summary.negative_balance_users),
                             summary.negative_balance_users > 0 ? theme::kWarning : theme::kTextMuted);
    }
    ImGui::Separator();

    // The most expensive task: quick ranges ending today, or a custom one.
    const std::string today = analytics_.summary.date;
    const bool can_ask = !today.empty() && !analytics_.expensive_in_flight;
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Most expensive task:");
    ImGui::SameLine();
    if (widgets::button("Today##range", "Range: day", can_ask)) ask_expensive_task(today, today);
    ImGui::SameLine();
    if (widgets::button("Last 7 days##range", "Range: week", can_ask)) {
      ask_expensive_task(api::add_days(today, -6), today);
    }
    ImGui::SameLine();
    if (widgets::button("Last 30 days##range", "Range: month", can_ask)) {
      ask_expensive_task(api::add_days(today, -29), today);
    }
    widgets::labeled_input("From", "##from_date", analytics_.from_date);
    widgets::labeled_input("To", "##end_date", analytics_.end_date);
    if (widgets::button("Show range", nullptr, can_ask)) {
      ask_expensive_task(analytics_.from_date, analytics_.end_date);
    }

    if (!analytics_.expensive_error.empty()) {
      widgets::message("Expensive task error", analytics_.expensive_error, theme::kError);
    } else if (analytics_.expensive_answered) {
      const api::ExpensiveTask& answer = analytics_.expensive;
      widgets::caption_value("Range", answer.from_date + " to " + answer.end_date, theme::kTextMuted);
      if (!answer.found) {
        widgets::message("Expensive task", "No task was completed in this range.", theme::kTextMuted);
      } else {
        const std::string name =
            answer.jira_id.empty() ? answer.title : "[" + answer.jira_id + "] " + answer.title;
        widgets::message(
            "Expensive task",
            name + " - " + api::format_cents(answer.reward_cents) + ", completed " + answer.completed_at,
            theme::kAccent);
      }
    }
  }
  widgets::end_window();
}

}  // namespace ates::ui
