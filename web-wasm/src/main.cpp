// The UI's entry point: the canvas, GLFW + WebGL2, ImGui and the frame loop.
//
// [SECTION] index
//   - start-up errors: shown on the page and to tests, never only logged
//   - canvas sizing: CSS size x devicePixelRatio, followed every frame
//   - frame
//   - main
#include <imgui.h>
#include <imgui_impl_glfw.h>

#include <cmath>
#include <cstdio>
#include <string>

#include <GLES3/gl3.h>
#include <GLFW/glfw3.h>
#include <emscripten/emscripten.h>
#include <emscripten/html5.h>
#include <imgui_impl_opengl3.h>

#include "app.hpp"
#include "test_bridge.hpp"
#include "theme.hpp"

namespace {

using namespace ates::ui;

constexpr const char* kCanvas = "#canvas";

// ---- start-up errors ----------------------------------------------------------

// shell.js defines atesFatal(): it shows the message over the canvas and
// sets window.atesError, so a browser test fails at once with the reason
// instead of waiting for a ready flag that will never come.
EM_JS(void, ates_fatal, (const char* message), {
  var text = UTF8ToString(message);
  if (typeof window.atesFatal == 'function')
    window.atesFatal(text);
  else
    console.error(text);
});

void fail(const std::string& message) {
  std::fprintf(stderr, "ates ui: %s\n", message.c_str());
  ates_fatal(message.c_str());
}

// ---- canvas sizing ------------------------------------------------------------

// The page lays the canvas out (shell.css: it fills the window); its
// backing store must follow in device pixels, or ImGui draws blurry.
struct CanvasSize {
  int width = 0;  // device pixels
  int height = 0;
  double dpr = 1;  // device pixels per CSS pixel
};

CanvasSize measure_canvas() {
  double css_w = 0, css_h = 0;
  emscripten_get_element_css_size(kCanvas, &css_w, &css_h);
  CanvasSize size;
  size.dpr = emscripten_get_device_pixel_ratio();
  if (!(size.dpr > 0)) size.dpr = 1;
  size.width = static_cast<int>(std::lround(css_w * size.dpr));
  size.height = static_cast<int>(std::lround(css_h * size.dpr));
  if (size.width < 1) size.width = 1;
  if (size.height < 1) size.height = 1;
  return size;
}

// Not glfwSetWindowSize(): emscripten's GLFW asks for full screen when the
// size equals the screen's, which a page filling a maximised window (or a
// headless browser's default viewport) does. Browser.setCanvasSize resizes
// the backing store and tells GLFW through its resize listener.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
void resize_canvas(int width, int height) { emscripten_set_canvas_size(width, height); }
#pragma clang diagnostic pop

// ---- frame --------------------------------------------------------------------

struct Runtime {
  GLFWwindow* window = nullptr;
  int scale = 0;  // theme scale the fonts were built for
  App app;
};

// Allocated once and never freed: the main loop and the App's HTTP
// callbacks use it for the life of the page.
Runtime* runtime = nullptr;

void frame() {
  CanvasSize canvas = measure_canvas();
  int fb_w = 0, fb_h = 0;
  glfwGetFramebufferSize(runtime->window, &fb_w, &fb_h);
  if (fb_w != canvas.width || fb_h != canvas.height) {
    resize_canvas(canvas.width, canvas.height);
    glfwGetFramebufferSize(runtime->window, &fb_w, &fb_h);
  }

  // The pixel ratio changes when the window moves to another display or
  // the page is zoomed: rebuild the fonts at the new size between frames.
  int scale = theme::scale_for(canvas.dpr);
  if (scale != runtime->scale) {
    theme::apply(scale);
    ImGui_ImplOpenGL3_DestroyFontsTexture();
    ImGui_ImplOpenGL3_CreateFontsTexture();
    runtime->scale = scale;
  }

  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  test_bridge::begin_frame(canvas.dpr);

  const ImVec2 display = ImGui::GetIO().DisplaySize;
  runtime->app.draw(emscripten_get_now() / 1000.0, display.x, display.y, scale);

  ImGui::Render();
  glViewport(0, 0, fb_w, fb_h);
  const ImVec4 bg = theme::kBackground;
  glClearColor(bg.x, bg.y, bg.z, bg.w);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  test_bridge::end_frame();
}

}  // namespace

// ---- main -----------------------------------------------------------------------

int main() {
  glfwSetErrorCallback([](int code, const char* description) {
    std::fprintf(stderr, "ates ui: GLFW error %d: %s\n", code, description);
  });
  if (!glfwInit()) {
    fail("GLFW failed to initialise.");
    return 1;
  }

  runtime = new Runtime;
  CanvasSize canvas = measure_canvas();
  // A WebGL context without depth, stencil or antialiasing: ImGui draws
  // flat triangles and needs none of them.
  glfwWindowHint(GLFW_DEPTH_BITS, 0);
  glfwWindowHint(GLFW_STENCIL_BITS, 0);
  runtime->window = glfwCreateWindow(canvas.width, canvas.height, "ates", nullptr, nullptr);
  if (runtime->window == nullptr) {
    fail(
        "This browser could not create a WebGL context, which the ates UI needs to draw. "
        "Enable hardware acceleration or WebGL in the browser settings.");
    return 1;
  }
  glfwMakeContextCurrent(runtime->window);
  std::printf("ates ui: %s, %s\n", reinterpret_cast<const char*>(glGetString(GL_VERSION)),
              reinterpret_cast<const char*>(glGetString(GL_RENDERER)));

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // layout comes from code; nothing to persist
  runtime->scale = theme::scale_for(canvas.dpr);
  theme::apply(runtime->scale);

  ImGui_ImplGlfw_InitForOpenGL(runtime->window, /*install_callbacks=*/true);
  // WebGL2 accepts the backend's GLSL ES 1.00 shaders (its default on
  // Emscripten), and so would a WebGL1 fallback.
  ImGui_ImplOpenGL3_Init();

  // requestAnimationFrame pacing; main() returns to the browser here and the
  // runtime stays alive for the loop.
  emscripten_set_main_loop(frame, 0, /*simulate_infinite_loop=*/true);
  return 0;
}
