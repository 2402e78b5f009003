// The JavaScript of the page around the ates UI (index.html): error
// reporting, the Module settings, the JavaScript side of the test bridge
// (docs/ui.md), and loading ates_ui.js. A file of its own, with no inline
// handlers: the host's Content-Security-Policy runs only the page's own
// script files (script-src 'self'). It runs before ates_ui.js, which it
// loads last, once Module is defined. Everything but the globals below is
// local, so no name can clash with the generated ates_ui.js.
(function () {
  'use strict';

  // Errors are shown on the page and exposed to tests as window.atesError;
  // the console alone would hide them from the user.
  window.atesFatal = function (message) {
    window.atesError = String(message);
    const box = document.getElementById('fatal');
    box.textContent = 'The ates UI stopped: ' + window.atesError;
    box.hidden = false;
    console.error('ates ui:', window.atesError);
  };
  window.addEventListener('error', (e) => window.atesFatal(e.message || String(e.error)));
  window.addEventListener('unhandledrejection', (e) => window.atesFatal(String(e.reason)));

  const canvas = document.getElementById('canvas');
  // Right clicks belong to the UI, not to the browser's menu.
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());

  // emscripten's generated code reads the global `Module`.
  window.Module = {
    canvas,
    print: (text) => console.log(text),
    printErr: (text) => console.warn(text),
    onAbort: (what) => window.atesFatal('aborted: ' + what),
  };

  // The test bridge's JavaScript side: the widgets drawn in the last frame.
  window.atesTest = {
    widgets: () => JSON.parse(window.Module.ccall('ates_test_widgets', 'string', [], [])),
  };

  const script = document.createElement('script');
  script.src = 'ates_ui.js';
  script.async = true;
  script.addEventListener('error', () => window.atesFatal('could not load ates_ui.js'));
  document.body.appendChild(script);
})();
