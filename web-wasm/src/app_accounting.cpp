// "Accounting" (accountants, admins): management's earnings per day as a
// plot and a table, every account's balance, and the days with their status
// and a Close button; a close that must wait says what it waits for. See
// app.hpp.
#include <imgui.h>

#include <algorithm>

#include "app.hpp"
#include "app_layout.hpp"
#include "http.hpp"
#include "paged_get.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

// How many days, ending today, the earnings plot and table show.
constexpr int kEarningsDays = 14;

ImVec4 color_for_day(const std::string& status) {
  if (status == "closed") return theme::kGood;
  if (status == "waiting") return theme::kWarning;
  return theme::kAccent;
}

}  // namespace

void App::poll_accounting(double now_s) {
  const int generation = generation_;
  Accounting& acc = accounting_;
  if (acc.days_poll.due(now_s, kRefreshSeconds)) {
    acc.days_poll.start(now_s);
    get_all_pages<api::Day>(
        api::kDaysPath, api::parse_days, [this, generation](api::Result<std::vector<api::Day>> result) {
          if (generation != generation_) return;
          if (!accounting_.days_poll.take(result)) return;
          const bool new_today = accounting_.days.empty() || result.value.empty() ||
                                 accounting_.days.front().date != result.value.front().date;
          accounting_.days = std::move(result.value);
          // A new business day moves the earnings' range.
          if (new_today) accounting_.earnings_poll.refresh_now();
        });
  }
  // The host's business day is the first of the days list (it lists from
  // today backwards): the earnings wait for it.
  if (!acc.days.empty() && acc.earnings_poll.due(now_s, kRefreshSeconds)) {
    acc.earnings_poll.start(now_s);
    const std::string today = acc.days.front().date;
    http::get(api::earnings_path(api::add_days(today, -(kEarningsDays - 1)), today),
              [this, generation](const http::Response& response) {
                if (generation != generation_) return;
                api::Result<std::vector<api::DayEarnings>> result = api::parse_earnings(response);
                if (accounting_.earnings_poll.take(result)) accounting_.earnings = std::move(result.value);
              });
  }
  if (acc.accounts_poll.due(now_s, kRefreshSeconds)) {
    acc.accounts_poll.start(now_s);
    get_all_pages<api::Account>(api::kAccountsPath, api::parse_accounts,
                                [this, generation](api::Result<std::vector<api::Account>> result) {
                                  if (generation != generation_) return;
                                  if (accounting_.accounts_poll.take(result)) {
                                    accounting_.accounts = std::move(result.value);
                                  }
                                });
  }
}

void App::close_day(const std::string& date) {
  Accounting& acc = accounting_;
  acc.closing_date = date;
  acc.close_error.clear();
  acc.close_result.clear();
  acc.close_detail.clear();
  acc.close_waiting.clear();
  const int generation = generation_;
  http::post_json(api::close_day_path(date), {}, [this, generation](const http::Response& response) {
    if (generation != generation_) return;
    Accounting& acc = accounting_;
    acc.closing_date.clear();
    api::Result<api::CloseOutcome> result = api::parse_close_day(response);
    if (!result.ok()) {
      acc.close_error = std::move(result.error);
    } else if (result.value.closed) {
      const api::Day& day = result.value.day;
      acc.close_result = day.date + " is closed: " + std::to_string(day.payouts) + " payout" +
                         (day.payouts == 1 ? "" : "s") + ", " + api::format_cents(day.paid_cents) + " paid.";
    } else {
      acc.close_detail = result.value.detail.empty() ? "The close waits." : result.value.detail;
      acc.close_waiting = std::move(result.value.waiting_for);
    }
    // Payouts change the balances and the days' statuses.
    acc.days_poll.refresh_now();
    acc.accounts_poll.refresh_now();
    acc.earnings_poll.refresh_now();
  });
}

void App::draw_accounting(const Rect& rect) {
  ImGui::SetNextWindowPos(rect.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(rect.size, ImGuiCond_Always);
  if (!widgets::begin_window("Accounting", layout::kPlacedWindow)) {
    widgets::end_window();
    return;
  }
  Accounting& acc = accounting_;
  if (!acc.days_poll.error.empty()) widgets::message("Days error", acc.days_poll.error, theme::kError);
  if (!acc.earnings_poll.error.empty())
    widgets::message("Earnings error", acc.earnings_poll.error, theme::kError);
  if (!acc.accounts_poll.error.empty())
    widgets::message("Accounts error", acc.accounts_poll.error, theme::kError);

  // The plot over the whole width: management's earnings per day, oldest
  // on the left, today on the right.
  const float plot_h = 96.0f * scale_;
  if (!acc.earnings_poll.answered) {
    widgets::caption_value("Earnings", "loading...", theme::kTextMuted);
  } else {
    std::vector<float> dollars;
    long long total = 0;
    for (const api::DayEarnings& day : acc.earnings) {
      dollars.push_back(static_cast<float>(day.earnings_cents) / 100.0f);
      total += day.earnings_cents;
    }
    const std::string today = acc.earnings.empty() ? std::string() : acc.earnings.back().date;
    const long long today_cents = acc.earnings.empty() ? 0 : acc.earnings.back().earnings_cents;
    widgets::caption_value("Earned today", api::format_cents(today_cents),
                           widgets::color_for_amount(today_cents));
    ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
    const std::string earned_in = "Earned in " + std::to_string(kEarningsDays) + " days";
    widgets::caption_value(earned_in.c_str(), api::format_cents(total), widgets::color_for_amount(total));
    const std::string overlay =
        acc.earnings.empty() ? "no days"
                             : acc.earnings.front().date + " .. " + today + " (management's earnings, $)";
    widgets::bar_plot("Earnings plot", dollars, overlay, plot_h);
    // The ends of the axis under the plot: the first day and today.
    if (!acc.earnings.empty()) {
      ImGui::TextColored(theme::kTextMuted, "%s", acc.earnings.front().date.c_str());
      ImGui::SameLine(ImGui::GetContentRegionMax().x - ImGui::CalcTextSize(today.c_str()).x);
      ImGui::TextColored(theme::kTextMuted, "%s", today.c_str());
    }
  }

  // Three columns under it: earnings per day | days and their close | accounts.
  const float table_h = std::max(ImGui::GetContentRegionAvail().y, 1.0f);
  if (ImGui::BeginTable("accounting_columns", 3,
                        ImGuiTableFlags_SizingStretchSame | ImGuiTableFlags_BordersInnerV)) {
    ImGui::TableNextRow();

    // ---- earnings per day, newest first
    ImGui::TableNextColumn();
    ImGui::TextUnformatted("Earnings per day");
    if (ImGui::BeginTable("earnings", 4, layout::kListTable,
                          ImVec2(0, table_h - ImGui::GetFrameHeightWithSpacing()))) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("Day", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("Fees", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableSetupColumn("Rewards", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableSetupColumn("Earned", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableHeadersRow();
      for (auto it = acc.earnings.rbegin(); it != acc.earnings.rend(); ++it) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        widgets::text("Earnings day", it->date, theme::kTextMuted);
        ImGui::TableNextColumn();
        widgets::text("Fees", api::format_cents(it->fees_cents), ImGui::GetStyle().Colors[ImGuiCol_Text]);
        ImGui::TableNextColumn();
        widgets::text("Rewards", api::format_cents(it->rewards_cents),
                      ImGui::GetStyle().Colors[ImGuiCol_Text]);
        ImGui::TableNextColumn();
        widgets::text("Earned", api::format_cents(it->earnings_cents),
                      widgets::color_for_amount(it->earnings_cents));
      }
      ImGui::EndTable();
    }

    // ---- days: status, payouts, Close; the last close's answer above them
    ImGui::TableNextColumn();
    ImGui::TextUnformatted("Days");
    if (!acc.close_error.empty()) widgets::message("Close error", acc.close_error, theme::kError);
    if (!acc.close_result.empty()) widgets::message("Close result", acc.close_result, theme::kGood);
    if (!acc.close_waiting.empty()) {
      widgets::message("Close waiting", acc.close_detail, theme::kWarning);
      for (const api::Waiting& waiting : acc.close_waiting) {
        ImGui::Bullet();
        widgets::message("Waiting for", api::describe_waiting(waiting), theme::kWarning);
      }
    }
    const std::string today = acc.days.empty() ? std::string() : acc.days.front().date;
    std::string to_close;
    if (ImGui::BeginTable("days", 4, layout::kListTable,
                          ImVec2(0, std::max(ImGui::GetContentRegionAvail().y, 1.0f)))) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("Day", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("Status", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("Paid", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableHeadersRow();
      for (const api::Day& day : acc.days) {
        ImGui::PushID(day.date.c_str());
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        widgets::text("Day", day.date, theme::kTextMuted);
        ImGui::TableNextColumn();
        widgets::text("Day status", day.date == today && day.status == "open" ? "today" : day.status,
                      color_for_day(day.status));
        ImGui::TableNextColumn();
        if (day.status == "closed") {
          widgets::text("Day paid", api::format_cents(day.paid_cents) + " to " + std::to_string(day.payouts),
                        ImGui::GetStyle().Colors[ImGuiCol_Text]);
        }
        ImGui::TableNextColumn();
        // Today is not over: the host would refuse it.
        if (day.status != "closed" && day.date != today) {
          const std::string record = "Close: " + day.date;
          const bool busy = !acc.closing_date.empty();
          if (widgets::button(acc.closing_date == day.date ? "Closing..." : "Close", record.c_str(), !busy)) {
            to_close = day.date;
          }
        }
        ImGui::PopID();
      }
      ImGui::EndTable();
    }
    if (!to_close.empty()) close_day(to_close);

    // ---- accounts
    ImGui::TableNextColumn();
    ImGui::TextUnformatted("Accounts");
    if (ImGui::BeginTable("accounts", 2, layout::kListTable,
                          ImVec2(0, table_h - ImGui::GetFrameHeightWithSpacing()))) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("Popug", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableSetupColumn("Balance", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableHeadersRow();
      for (const api::Account& account : acc.accounts) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        widgets::text("Account", account.username, ImGui::GetStyle().Colors[ImGuiCol_Text]);
        ImGui::TableNextColumn();
        widgets::text("Account balance", api::format_cents(account.balance_cents),
                      widgets::color_for_amount(account.balance_cents));
      }
      ImGui::EndTable();
    }
    ImGui::EndTable();
  }
  widgets::end_window();
}

}  // namespace ates::ui
