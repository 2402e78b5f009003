// "My account": the balance and the audit log (every fee, reward and payout,
// newest first); see app.hpp.
#include <imgui.h>

#include "app.hpp"
#include "app_layout.hpp"
#include "http.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

ImVec4 color_for_amount(long long cents) {
  if (cents < 0) return theme::kError;
  if (cents > 0) return theme::kGood;
  return theme::kTextMuted;
}

}  // namespace

void App::poll_my_account(double now_s) {
  const int generation = generation_;
  if (my_account_.account_poll.due(now_s, kRefreshSeconds)) {
    Poll& poll = my_account_.account_poll;
    poll.in_flight = true;
    poll.last_s = now_s;
    http::get(api::kMyAccountPath, [this, &poll, generation](const http::Response& response) {
      if (generation != generation_) return;
      poll.in_flight = false;
      poll.answered = true;
      api::Result<api::Account> result = api::parse_account(response);
      if (result.ok()) {
        my_account_.account = std::move(result.value);
        poll.error.clear();
      } else {
        poll.error = std::move(result.error);
      }
    });
  }
  if (my_account_.entries_poll.due(now_s, kRefreshSeconds)) {
    Poll& poll = my_account_.entries_poll;
    poll.in_flight = true;
    poll.last_s = now_s;
    http::get(api::kMyEntriesPath, [this, &poll, generation](const http::Response& response) {
      if (generation != generation_) return;
      poll.in_flight = false;
      poll.answered = true;
      api::Result<api::Page<api::Entry>> result = api::parse_entries(response);
      if (result.ok()) {
        // The host lists them oldest first; people read an audit log from
        // the latest line.
        my_account_.entries.assign(result.value.items.rbegin(), result.value.items.rend());
        poll.error.clear();
      } else {
        poll.error = std::move(result.error);
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
      widgets::caption_value("Balance", api::format_cents(balance), balance < 0 ? theme::kError : theme::kAccent);
    }
    ImGui::Spacing();
    if (ImGui::BeginTable("entries", 4, layout::kListTable, ImVec2(0, 0))) {
      ImGui::TableSetupScrollFreeze(0, 1);
      ImGui::TableSetupColumn("Date", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("Kind", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("Amount", ImGuiTableColumnFlags_WidthFixed);
      ImGui::TableSetupColumn("Description", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableHeadersRow();
      for (const api::Entry& entry : my_account_.entries) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        widgets::text("Entry date", entry.date, theme::kTextMuted);
        ImGui::TableNextColumn();
        widgets::text("Entry kind", entry.kind, ImGui::GetStyle().Colors[ImGuiCol_Text]);
        ImGui::TableNextColumn();
        widgets::text("Entry amount", api::format_cents(entry.amount_cents), color_for_amount(entry.amount_cents));
        ImGui::TableNextColumn();
        widgets::message("Entry", entry.description, ImGui::GetStyle().Colors[ImGuiCol_Text]);
      }
      ImGui::EndTable();
    }
  }
  widgets::end_window();
}

}  // namespace ates::ui
