// "Event inspector" (admins): every stream with its producer, head and
// watermark, each consumer's applied sequence, lag and state, and the dead
// letters with a Re-drive button for those not yet resolved. See app.hpp.
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "app.hpp"
#include "app_layout.hpp"
#include "http.hpp"
#include "paged_get.hpp"
#include "theme.hpp"
#include "widgets.hpp"

namespace ates::ui {
namespace {

ImVec4 color_for_consumer(const std::string& state, long long lag) {
  if (state != "running") return state == "stalled" || state == "halted" ? theme::kError : theme::kWarning;
  return lag > 0 ? theme::kWarning : theme::kGood;
}

}  // namespace

void App::poll_events(double now_s) {
  const int generation = generation_;
  if (events_.streams_poll.due(now_s, kRefreshSeconds)) {
    events_.streams_poll.start(now_s);
    http::get(api::kStreamsPath, [this, generation](const http::Response& response) {
      if (generation != generation_) return;
      api::Result<std::vector<api::Stream>> result = api::parse_streams(response);
      if (events_.streams_poll.take(result)) events_.streams = std::move(result.value);
    });
  }
  if (events_.letters_poll.due(now_s, kRefreshSeconds)) {
    events_.letters_poll.start(now_s);
    get_all_pages<api::DeadLetter>(api::kDeadLettersPath, api::parse_dead_letters,
                                   [this, generation](api::Result<std::vector<api::DeadLetter>> result) {
                                     if (generation != generation_) return;
                                     if (events_.letters_poll.take(result))
                                       events_.letters = std::move(result.value);
                                   });
  }
}

void App::redrive(const std::string& dead_letter_id) {
  events_.redriving_id = dead_letter_id;
  events_.redrive_error.clear();
  events_.redrive_result.clear();
  const int generation = generation_;
  http::post_json(api::redrive_path(dead_letter_id), {},
                  [this, generation, dead_letter_id](const http::Response& response) {
                    if (generation != generation_) return;
                    events_.redriving_id.clear();
                    api::Result<api::DeadLetter> result = api::parse_redriven(response);
                    if (result.ok()) {
                      events_.redrive_result = dead_letter_id + " re-driven: " + result.value.consumer +
                                               " applied " + result.value.stream + " #" +
                                               std::to_string(result.value.seq) + ".";
                    } else {
                      events_.redrive_error = dead_letter_id + ": " + result.error;
                    }
                    events_.letters_poll.refresh_now();
                    events_.streams_poll.refresh_now();
                  });
}

void App::draw_event_inspector(const Rect& rect) {
  ImGui::SetNextWindowPos(rect.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(rect.size, ImGuiCond_Always);
  if (!widgets::begin_window("Event inspector", layout::kPlacedWindow)) {
    widgets::end_window();
    return;
  }
  const ImVec4 normal = ImGui::GetStyle().Colors[ImGuiCol_Text];
  if (!events_.streams_poll.error.empty())
    widgets::message("Streams error", events_.streams_poll.error, theme::kError);

  // Streams, then their consumers as indented rows under each.
  widgets::caption_value(
      "Streams", events_.streams_poll.answered ? std::to_string(events_.streams.size()) : "loading...",
      theme::kAccent);
  const float streams_h = std::floor(ImGui::GetContentRegionAvail().y * 0.55f);
  if (ImGui::BeginTable("streams", 6, layout::kListTable, ImVec2(0, streams_h))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Stream / consumer", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("Producer", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Head / applied", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Watermark", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Lag", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("State", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableHeadersRow();
    for (const api::Stream& stream : events_.streams) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      widgets::text("Stream", stream.name, theme::kAccent);
      ImGui::TableNextColumn();
      widgets::text("Producer", stream.producer.empty() ? "?" : stream.producer, normal);
      ImGui::TableNextColumn();
      widgets::text("Head", stream.head_seq.empty() ? "unknown" : stream.head_seq, normal);
      ImGui::TableNextColumn();
      widgets::text("Watermark", stream.watermark.empty() ? "none yet" : stream.watermark, theme::kTextMuted);
      ImGui::TableNextColumn();
      ImGui::TableNextColumn();
      for (const api::ConsumerProgress& consumer : stream.consumers) {
        const std::string id = stream.name + "/" + consumer.plugin;
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::Indent();
        widgets::text("Consumer", id, normal);
        ImGui::Unindent();
        ImGui::TableNextColumn();
        ImGui::TableNextColumn();
        widgets::text("Applied", std::to_string(consumer.applied_seq), normal);
        ImGui::TableNextColumn();
        ImGui::TableNextColumn();
        widgets::text("Lag", std::to_string(consumer.lag), consumer.lag > 0 ? theme::kWarning : theme::kGood);
        ImGui::TableNextColumn();
        widgets::text("Consumer state", consumer.state, color_for_consumer(consumer.state, consumer.lag));
        if (!consumer.error.empty()) widgets::message("Consumer error", consumer.error, theme::kError);
      }
    }
    ImGui::EndTable();
  }

  ImGui::Spacing();
  if (!events_.letters_poll.error.empty()) {
    widgets::message("Dead letters error", events_.letters_poll.error, theme::kError);
  }
  const long long unresolved = std::count_if(events_.letters.begin(), events_.letters.end(),
                                             [](const api::DeadLetter& l) { return !l.resolved; });
  widgets::caption_value("Dead letters",
                         events_.letters_poll.answered ? std::to_string(unresolved) + " unresolved of " +
                                                             std::to_string(events_.letters.size())
                                                       : std::string("loading..."),
                         unresolved > 0 ? theme::kError : theme::kGood);
  if (!events_.redrive_error.empty())
    widgets::message("Re-drive error", events_.redrive_error, theme::kError);
  if (!events_.redrive_result.empty())
    widgets::message("Re-drive result", events_.redrive_result, theme::kGood);
  std::string to_redrive;
  if (events_.letters_poll.answered && events_.letters.empty()) {
    widgets::message("No dead letters", "Every event was applied by its consumers.", theme::kTextMuted);
  } else if (ImGui::BeginTable("dead_letters", 6, layout::kListTable, ImVec2(0, 0))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Id", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Event", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Consumer", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Time", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("Reason", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableHeadersRow();
    for (const api::DeadLetter& letter : events_.letters) {
      ImGui::PushID(letter.id.c_str());
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      widgets::text("Dead letter", letter.id, normal);
      ImGui::TableNextColumn();
      widgets::text("Dead letter event", letter.stream + " #" + std::to_string(letter.seq), normal);
      ImGui::TableNextColumn();
      widgets::text("Dead letter consumer", letter.consumer, normal);
      ImGui::TableNextColumn();
      widgets::text("Dead letter time", letter.time, theme::kTextMuted);
      ImGui::TableNextColumn();
      widgets::message("Dead letter reason", letter.reason,
                       letter.resolved ? theme::kTextMuted : theme::kError);
      ImGui::TableNextColumn();
      if (letter.resolved) {
        widgets::text("Dead letter state", "re-driven", theme::kGood);
      } else {
        const std::string record = "Re-drive: " + letter.id;
        const bool busy = !events_.redriving_id.empty();
        if (widgets::button(events_.redriving_id == letter.id ? "Re-driving..." : "Re-drive", record.c_str(),
                            !busy)) {
          to_redrive = letter.id;
        }
      }
      ImGui::PopID();
    }
    ImGui::EndTable();
  }
  if (!to_redrive.empty()) redrive(to_redrive);
  widgets::end_window();
}

}  // namespace ates::ui
