// The test bridge: a list of every widget drawn in the last complete frame,
// readable from JavaScript, so browser tests find widgets by label and drive
// them with real mouse and keyboard events.
//
// JavaScript side (contract, also in docs/ui.md):
//   window.atesReady        true once the layout has settled (frame 2)
//   window.atesFirstFrameMs performance.now() when frame 1 was rendered
//   window.atesError        set, with a message, when the UI failed to start
//   window.atesTest.widgets()  (shell.js) parses ates_test_widgets():
//     {"frame": <frames completed>, "dpr": <device pixels per CSS pixel>,
//      "widgets": [{"window": "Log in", "kind": "window|input|button|text|plot",
//                   "label": "Username", "value": "popug", "active": false,
//                   "x": .., "y": .., "w": .., "h": ..}, ...]}
//   Rectangles are CSS pixels from the canvas's top-left corner. Password
//   inputs report their value masked ("*" per byte).
//
// The widget helpers (widgets.hpp) call record(); main.cpp brackets each
// frame with begin_frame()/end_frame(). Single-threaded, like the whole UI.
#pragma once

#include <imgui.h>

#include <string>
#include <string_view>

namespace ates::ui::test_bridge {

enum class Kind { window, input, button, text, plot };

// Starts recording a frame whose ImGui coordinates are device pixels;
// `device_pixels_per_css_px` converts them to CSS pixels.
void begin_frame(double device_pixels_per_css_px);

// Records one item. `rect_min`/`rect_max` are ImGui (device-pixel)
// coordinates; `window` is the visible title of the enclosing window.
void record(Kind kind, std::string_view window, std::string_view label, ImVec2 rect_min, ImVec2 rect_max,
            std::string_view value = {}, bool active = false);

// Publishes the frame's record to JavaScript (after rendering), and raises
// the ready flags on the first frames.
void end_frame();

// The last published frame as JSON (the contract above).
std::string widgets_json();

}  // namespace ates::ui::test_bridge

// Exported to JavaScript (Module.ccall('ates_test_widgets', 'string')). The
// pointer stays valid until the next call.
extern "C" const char* ates_test_widgets();
