// The test bridge's record and its JavaScript export; see test_bridge.hpp.
#include "test_bridge.hpp"

#include <utility>
#include <vector>

#include <emscripten/emscripten.h>
#include <nlohmann/json.hpp>

namespace ates::ui::test_bridge {
namespace {

struct Widget {
  Kind kind;
  std::string window;
  std::string label;
  std::string value;
  bool active;
  double x, y, w, h;  // CSS pixels
};

struct Frame {
  long number = 0;
  double dpr = 1.0;
  std::vector<Widget> widgets;
};

// `drawing` fills during a frame; `published` is what JavaScript reads, so a
// test never sees half a frame even if it asked between frames.
Frame drawing;
Frame published;
long frames_completed = 0;

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::window:
      return "window";
    case Kind::input:
      return "input";
    case Kind::button:
      return "button";
    case Kind::plot:
      return "plot";
    case Kind::text:
      return "text";
  }
  return "unknown";
}

// Rounded to 1/100 of a CSS pixel: enough for clicking, and the JSON stays
// short and readable in test logs.
double css(double device_px, double dpr) { return static_cast<long>(device_px / dpr * 100.0 + 0.5) / 100.0; }

}  // namespace

// Frame 1 of an auto-sized ImGui window is a hidden measuring pass; from
// frame 2 on every window sits where it will stay, so only then may tests
// read rectangles.
EM_JS(void, ates_signal_first_frame, (), { window.atesFirstFrameMs = performance.now(); });
EM_JS(void, ates_signal_ready, (), { window.atesReady = true; });

void begin_frame(double device_pixels_per_css_px) {
  drawing.widgets.clear();
  drawing.dpr = device_pixels_per_css_px > 0 ? device_pixels_per_css_px : 1.0;
}

void record(Kind kind, std::string_view window, std::string_view label, ImVec2 rect_min, ImVec2 rect_max,
            std::string_view value, bool active) {
  const double dpr = drawing.dpr;
  drawing.widgets.push_back(Widget{
      .kind = kind,
      .window = std::string(window),
      .label = std::string(label),
      .value = std::string(value),
      .active = active,
      .x = css(rect_min.x, dpr),
      .y = css(rect_min.y, dpr),
      .w = css(rect_max.x - rect_min.x, dpr),
      .h = css(rect_max.y - rect_min.y, dpr),
  });
}

void end_frame() {
  ++frames_completed;
  drawing.number = frames_completed;
  std::swap(published, drawing);
  if (frames_completed == 1) ates_signal_first_frame();
  if (frames_completed == 2) ates_signal_ready();
}

std::string widgets_json() {
  using nlohmann::json;
  json widgets = json::array();
  for (const Widget& w : published.widgets) {
    widgets.push_back({{"kind", kind_name(w.kind)},
                       {"window", w.window},
                       {"label", w.label},
                       {"value", w.value},
                       {"active", w.active},
                       {"x", w.x},
                       {"y", w.y},
                       {"w", w.w},
                       {"h", w.h}});
  }
  json frame = {{"frame", published.number}, {"dpr", published.dpr}, {"widgets", std::move(widgets)}};
  // Labels and values come from user input and the network: replace invalid
  // UTF-8 instead of aborting (exceptions are off in this build).
  return frame.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ates::ui::test_bridge

extern "C" EMSCRIPTEN_KEEPALIVE const char* ates_test_widgets() {
  static std::string last;
  last = ates::ui::test_bridge::widgets_json();
  return last.c_str();
}
