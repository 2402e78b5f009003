// Recorded ImGui widgets; see widgets.hpp.
#include "widgets.hpp"

#include <imgui_stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "test_bridge.hpp"
#include "theme.hpp"

namespace ates::ui::widgets {
namespace {

// The visible title of the window being drawn, for the bridge's records.
std::string current_window;

std::string_view visible_part(const char* label) {
  std::string_view text(label);
  return text.substr(0, text.find("##"));
}

void record_last_item(test_bridge::Kind kind, std::string_view label, std::string_view value = {}) {
  test_bridge::record(kind, current_window, label, ImGui::GetItemRectMin(), ImGui::GetItemRectMax(), value,
                      ImGui::IsItemActive());
}

}  // namespace

bool begin_window(const char* title, ImGuiWindowFlags flags) {
  bool open = ImGui::Begin(title, nullptr, flags);
  current_window = std::string(visible_part(title));
  ImVec2 pos = ImGui::GetWindowPos();
  ImVec2 size = ImGui::GetWindowSize();
  test_bridge::record(test_bridge::Kind::window, current_window, current_window, pos,
                      ImVec2(pos.x + size.x, pos.y + size.y));
  return open;
}

void end_window() {
  ImGui::End();
  current_window.clear();
}

bool labeled_input(const char* caption, const char* id, std::string& value, ImGuiInputTextFlags flags) {
  ImGui::TextUnformatted(caption);
  ImGui::SetNextItemWidth(-FLT_MIN);  // the full width of the window
  bool result = ImGui::InputText(id, &value, flags);
  const bool hidden = (flags & ImGuiInputTextFlags_Password) != 0;
  record_last_item(test_bridge::Kind::input, caption, hidden ? std::string(value.size(), '*') : value);
  return result;
}

bool wide_button(const char* label, bool enabled) {
  ImGui::BeginDisabled(!enabled);
  bool clicked = ImGui::Button(label, ImVec2(-FLT_MIN, 0));
  ImGui::EndDisabled();
  record_last_item(test_bridge::Kind::button, visible_part(label));
  return clicked && enabled;
}

bool button(const char* label, const char* record_label, bool enabled) {
  ImGui::BeginDisabled(!enabled);
  bool clicked = ImGui::Button(label);
  ImGui::EndDisabled();
  record_last_item(test_bridge::Kind::button,
                   record_label != nullptr ? std::string_view(record_label) : visible_part(label));
  return clicked && enabled;
}

void caption_value(const char* caption, std::string_view value, ImVec4 color) {
  ImGui::BeginGroup();
  ImGui::Text("%s:", caption);
  ImGui::SameLine();
  ImGui::PushStyleColor(ImGuiCol_Text, color);
  ImGui::TextUnformatted(value.data(), value.data() + value.size());
  ImGui::PopStyleColor();
  ImGui::EndGroup();
  record_last_item(test_bridge::Kind::text, visible_part(caption), value);
}

void text(const char* label, std::string_view text, ImVec4 color) {
  ImGui::PushStyleColor(ImGuiCol_Text, color);
  ImGui::TextUnformatted(text.data(), text.data() + text.size());
  ImGui::PopStyleColor();
  record_last_item(test_bridge::Kind::text, label, text);
}

void message(const char* label, std::string_view text, ImVec4 color) {
  ImGui::PushStyleColor(ImGuiCol_Text, color);
  ImGui::PushTextWrapPos(0.0f);  // wrap at the window's edge
  ImGui::TextUnformatted(text.data(), text.data() + text.size());
  ImGui::PopTextWrapPos();
  ImGui::PopStyleColor();
  record_last_item(test_bridge::Kind::text, label, text);
}

void bar_plot(const char* label, const std::vector<float>& values, std::string_view overlay, float height) {
  const std::string overlay_text(overlay);
  // A range symmetric around zero puts ImGui's zero line in the middle, so
  // a loss (earnings go below zero) is a bar downwards and a gain upwards.
  float extent = 0;
  for (float v : values) extent = std::max(extent, std::abs(v));
  if (extent == 0) extent = 1;
  const float low = -extent * 1.1f, high = extent * 1.1f;
  ImGui::PlotHistogram((std::string("##") + label).c_str(), values.data(), static_cast<int>(values.size()), 0,
                       overlay_text.c_str(), low, high,
                       ImVec2(ImGui::GetContentRegionAvail().x, height));  // PlotEx takes no negative width
  std::string joined;
  for (float v : values) {
    if (!joined.empty()) joined += ",";
    char number[32];
    std::snprintf(number, sizeof number, "%.2f", v);
    joined += number;
  }
  record_last_item(test_bridge::Kind::plot, label, joined);
}

ImVec4 color_for_amount(long long cents) {
  if (cents < 0) return theme::kError;
  if (cents > 0) return theme::kGood;
  return theme::kTextMuted;
}

}  // namespace ates::ui::widgets
