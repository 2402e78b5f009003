// The UI's colours, spacing and font; see theme.hpp.
#include "theme.hpp"

#include <cmath>

namespace ates::ui::theme {
namespace {

constexpr float kFontDesignPx = 13.0f;  // ProggyClean's native size

ImVec4 rgb(int r, int g, int b, float a = 1.0f) { return ImVec4(r / 255.0f, g / 255.0f, b / 255.0f, a); }

// A dark slate palette with one blue accent: interactive things are blue,
// meaning (good / warning / error) uses the constants in theme.hpp.
void set_colors(ImGuiStyle& style) {
  ImGui::StyleColorsDark(&style);
  ImVec4* c = style.Colors;
  const ImVec4 accent = rgb(74, 137, 255);
  const ImVec4 accent_hover = rgb(104, 160, 255);
  const ImVec4 accent_active = rgb(52, 112, 230);

  c[ImGuiCol_Text] = rgb(230, 233, 239);
  c[ImGuiCol_TextDisabled] = rgb(125, 131, 143);
  c[ImGuiCol_WindowBg] = rgb(36, 39, 47);
  c[ImGuiCol_PopupBg] = rgb(36, 39, 47);
  c[ImGuiCol_Border] = rgb(60, 65, 77);
  c[ImGuiCol_FrameBg] = rgb(25, 27, 33);
  c[ImGuiCol_FrameBgHovered] = rgb(32, 35, 43);
  c[ImGuiCol_FrameBgActive] = rgb(20, 22, 27);
  c[ImGuiCol_TitleBg] = rgb(44, 48, 58);
  c[ImGuiCol_TitleBgActive] = rgb(50, 56, 70);
  c[ImGuiCol_TitleBgCollapsed] = rgb(44, 48, 58);
  c[ImGuiCol_Button] = accent;
  c[ImGuiCol_ButtonHovered] = accent_hover;
  c[ImGuiCol_ButtonActive] = accent_active;
  c[ImGuiCol_Header] = rgb(74, 137, 255, 0.35f);
  c[ImGuiCol_HeaderHovered] = rgb(74, 137, 255, 0.50f);
  c[ImGuiCol_HeaderActive] = rgb(74, 137, 255, 0.65f);
  c[ImGuiCol_CheckMark] = accent_hover;
  c[ImGuiCol_SliderGrab] = accent;
  c[ImGuiCol_SliderGrabActive] = accent_active;
  c[ImGuiCol_Separator] = rgb(60, 65, 77);
  c[ImGuiCol_TextSelectedBg] = rgb(74, 137, 255, 0.40f);
  c[ImGuiCol_NavHighlight] = accent;
  c[ImGuiCol_PlotHistogram] = accent;
  c[ImGuiCol_PlotHistogramHovered] = accent_hover;
}

void set_sizes(ImGuiStyle& style, int scale) {
  style.WindowPadding = ImVec2(16, 14);
  style.FramePadding = ImVec2(8, 6);
  style.ItemSpacing = ImVec2(8, 7);
  style.ItemInnerSpacing = ImVec2(6, 4);
  style.WindowRounding = 6;
  style.FrameRounding = 4;
  style.GrabRounding = 4;
  style.WindowBorderSize = 1;
  style.FrameBorderSize = 1;
  style.WindowTitleAlign = ImVec2(0.5f, 0.5f);
  style.ScaleAllSizes(static_cast<float>(scale));
}

}  // namespace

int scale_for(double device_pixel_ratio) {
  long rounded = std::lround(device_pixel_ratio);
  return rounded < 1 ? 1 : static_cast<int>(rounded);
}

void apply(int scale) {
  ImGuiStyle& style = ImGui::GetStyle();
  style = ImGuiStyle();  // ScaleAllSizes multiplies: start from the unscaled default
  set_colors(style);
  set_sizes(style, scale);

  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  ImFontConfig font;
  font.SizePixels = kFontDesignPx * static_cast<float>(scale);
  // A pixel font: no horizontal oversampling, glyphs on whole pixels.
  font.OversampleH = 1;
  font.OversampleV = 1;
  font.PixelSnapH = true;
  io.Fonts->AddFontDefault(&font);
}

}  // namespace ates::ui::theme
