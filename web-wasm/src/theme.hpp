// The UI's look: colours, spacing and the font, scaled for the display.
//
// ImGui works in device pixels here (main.cpp sizes the canvas backing store
// at CSS size x devicePixelRatio), so everything is drawn `scale` times
// larger on a high-density display. `scale` is an integer because the font
// is ImGui's built-in ProggyClean, a pixel font that is crisp only at whole
// multiples of its 13 px design size.
#pragma once

#include <imgui.h>

namespace ates::ui::theme {

// The scale for a device pixel ratio: the nearest whole number, at least 1.
int scale_for(double device_pixel_ratio);

// Sets colours and sizes on the current ImGui context for `scale`, and
// rebuilds the font atlas. Call before the renderer backend is initialised,
// or (on a scale change) between frames followed by recreating the
// backend's font texture.
void apply(int scale);

// Colours the screens use for meaning, so that "error" looks the same
// everywhere.
inline const ImVec4 kTextMuted{0.62f, 0.66f, 0.72f, 1.0f};
inline const ImVec4 kGood{0.40f, 0.83f, 0.55f, 1.0f};
inline const ImVec4 kWarning{0.95f, 0.76f, 0.35f, 1.0f};
inline const ImVec4 kError{1.00f, 0.42f, 0.42f, 1.0f};
// Values that name the user or are the point of a window (a balance).
inline const ImVec4 kAccent{0.55f, 0.72f, 1.00f, 1.0f};

// The page behind the windows (also shell.css's background, so nothing
// flashes while the module loads).
inline const ImVec4 kBackground{0.106f, 0.114f, 0.137f, 1.0f};

}  // namespace ates::ui::theme
