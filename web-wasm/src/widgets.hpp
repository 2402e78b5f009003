// The ImGui calls the UI uses, each wrapped so that what it draws is also
// recorded for the test bridge (test_bridge.hpp). Screens call these, never
// the recorded ImGui widgets directly, or browser tests cannot see them.
//
// Labels follow ImGui: "Visible##id" shows "Visible"; the bridge records the
// visible part. Single-threaded, per frame, between ImGui::NewFrame() and
// ImGui::Render().
#pragma once

#include <imgui.h>

#include <string>
#include <string_view>
#include <vector>

namespace ates::ui::widgets {

// ImGui::Begin; records the window. Always pair with end_window(), whatever
// this returns (false: collapsed, draw nothing).
bool begin_window(const char* title, ImGuiWindowFlags flags = 0);
void end_window();

// A caption above a full-width text input. Returns true when the value
// changed, or, with ImGuiInputTextFlags_EnterReturnsTrue, when Enter was
// pressed. ImGuiInputTextFlags_Password hides the text (and masks it in the
// bridge).
bool labeled_input(const char* caption, const char* id, std::string& value, ImGuiInputTextFlags flags = 0);

// A full-width button; true when clicked. Disabled buttons draw dimmed and
// never return true.
bool wide_button(const char* label, bool enabled = true);

// A button as wide as its label; true when clicked. `record_label` names it
// for the bridge when the visible label is not unique (a "Mark done" per
// row); nullptr records the visible label.
bool button(const char* label, const char* record_label = nullptr, bool enabled = true);

// "caption: value" on one line with the value in `color`. The bridge records
// label = caption, value = value.
void caption_value(const char* caption, std::string_view value, ImVec4 color);

// One line of text in `color`, never wrapped (table cells of dates, kinds,
// amounts: a fixed-width column sizes itself to them). The bridge records
// `label` with the text as value.
void text(const char* label, std::string_view text, ImVec4 color);

// Wrapped text in `color` (messages, errors). The bridge records `label`
// with the text as value.
void message(const char* label, std::string_view text, ImVec4 color);

// A bar chart of `values` (oldest first), full width, `height` device pixels
// tall, with `overlay` written over it; zero is the middle line. The bridge records kind "plot",
// `label`, and as value the values joined by commas.
void bar_plot(const char* label, const std::vector<float>& values, std::string_view overlay, float height);

// The colour of an amount of money: red below zero, green above, muted at zero.
ImVec4 color_for_amount(long long cents);

}  // namespace ates::ui::widgets
