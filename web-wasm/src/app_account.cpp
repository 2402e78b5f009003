// "My account": the balance and the audit log (every fee, reward and payout)
// grouped by day, one day per page, newest first; see app.hpp.
#include <imgui.h>

#include "app.hpp"
#include "app_layout.hpp"
#include "http.hpp"
#include "paged_get.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

// One page of the audit log: a day's entries, newest first, with Newer and
// Older to walk the days. `index` is the day shown.
void draw_day_page(const std::vector<api::EntryDay>& days, size_t& index) {
  if (days.empty()) return;
  const size_t count = days.size();
  if (index >= count) index = 0;
  const api::EntryDay& day = days[index];
  ImGui::AlignTextToFramePadding();
  if (widgets::button("< Newer", "Newer day", index > 0)) --index;
  ImGui::SameLine();
  widgets::caption_value("Day", day.date, theme::kAccent);
  ImGui::SameLine();
  widgets::caption_value("Page", std::to_string(index + 1) + " of " + std::to_string(count),
                         theme::kTextMuted);
  ImGui::SameLine();
  if (widgets::button("Older >", "Older day", index + 1 < count)) ++index;
  widgets::caption_value("Day total", api::format_cents(day.net_cents),
                         widgets::color_for_amount(day.net_cents));

  if (ImGui::BeginTable("entries", 4, layout::kListTable, ImVec2(0, 0))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Time", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Kind", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Amount", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Description", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableHeadersRow();
    for (const api::Entry& entry : day.entries) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      // occurred_at is RFC 3339 ("2026-03-03T09:00:01Z"): the day is the
      // page's, so the time of day is what tells entries apart.
      const std::string time =
          entry.occurred_at.size() >= 19 ? entry.occurred_at.substr(11, 8) : entry.occurred_at;
      widgets::text("Entry time", time, theme::kTextMuted);
      ImGui::TableNextColumn();
      widgets::text("Entry kind", entry.kind, ImGui::GetStyle().Colors[ImGuiCol_Text]);
      ImGui::TableNextColumn();
      widgets::text("Entry amount", api::format_cents(entry.amount_cents),
                    widgets::color_for_amount(entry.amount_cents));
      ImGui::TableNextColumn();
      widgets::message("Entry", entry.description, ImGui::GetStyle().Colors[ImGuiCol_Text]);
    }
    ImGui::EndTable();
  }
}

}  // namespace

void App::poll_my_account(double now_s) {
  const int generation = generation_;
  if (my_account_.account_poll.due(now_s, kRefreshSeconds)) {
    Poll& poll = my_account_.account_poll;
    poll.start(now_s);
    http::get(api::kMyAccountPath, [this, &poll, generation](const http::Response& response) {
      if (generation != generation_) return;
      api::Result<api::Account> result = api::parse_account(response);
      if (poll.take(result)) my_account_.account = std::move(result.value);
    });
  }
  if (my_account_.entries_poll.due(now_s, kRefreshSeconds)) {
    Poll& poll = my_account_.entries_poll;
    poll.start(now_s);
    get_all_pages<api::Entry>(api::kMyEntriesPath, api::parse_entries,
                              [this, &poll, generation](api::Result<std::vector<api::Entry>> result) {
                                if (generation != generation_) return;
                                if (!poll.take(result)) return;
                                // Stay on the day being read when a new day
                                // arrives in front of it.
                                std::string shown;
                                if (my_account_.day_index < my_account_.days.size()) {
                                  shown = my_account_.days[my_account_.day_index].date;
                                }
                                my_account_.days = api::group_entries_by_day(result.value);
                                my_account_.day_index = 0;
                                for (size_t i = 0; i < my_account_.days.size(); ++i) {
                                  if (my_account_.days[i].date == shown) my_account_.day_index = i;
                                }
                              });
  }
}

void App::draw_my_account(const Rect& rect) {
  ImGui::SetNextWindowPos(rect.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(rect.size, ImGuiCond_Always);
  if (widgets::begin_window("My account", layout::kPlacedWindow)) {
    if (!my_account_.account_poll.error.empty()) {
      widgets::message("Account error", my_account_.account_poll.error, theme::kError);
    }
    if (!my_account_.entries_poll.error.empty()) {
      widgets::message("Entries error", my_account_.entries_poll.error, theme::kError);
    }
    if (!my_account_.account_poll.answered) {
      widgets::caption_value("Balance", "loading...", theme::kTextMuted);
    } else {
      const long long balance = my_account_.account.balance_cents;
      widgets::caption_value("Balance", api::format_cents(balance),
                             balance < 0 ? theme::kError : theme::kAccent);
    }
    ImGui::Separator();

    // The audit log, one day per page: Newer / Older walk the days.
    if (my_account_.entries_poll.answered && my_account_.days.empty()) {
      widgets::message("Audit log", "No entries yet: fees and rewards appear here as tasks come and go.",
                       theme::kTextMuted);
    }
    draw_day_page(my_account_.days, my_account_.day_index);
  }
  widgets::end_window();
}

}  // namespace ates::ui
