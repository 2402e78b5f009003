// Layout constants shared by the App's screens (app*.cpp): private to them.
#pragma once

#include <imgui.h>

namespace ates::ui::layout {

// Space between windows and around the edges, unscaled pixels.
inline constexpr float kMargin = 12.0f;

// Windows that the layout places: the user neither moves nor resizes them,
// and nothing of them is saved between visits.
inline constexpr ImGuiWindowFlags kPlacedWindow = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                                  ImGuiWindowFlags_NoCollapse |
                                                  ImGuiWindowFlags_NoSavedSettings;

// Tables of the screens: rows striped, borders inside, scrolling in their
// window.
inline constexpr ImGuiTableFlags kListTable = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH |
                                              ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;

}  // namespace ates::ui::layout
