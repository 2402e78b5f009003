// Browser test of the log-in page (docs/ui.md): a real `ates serve`, Debian's
// headless chromium driven by playwright-core, and the UI's test bridge to
// find widgets, which are then clicked and typed into through real mouse and
// keyboard events.
//
//   node login.test.mjs --ates <path to ates> --artifacts <dir>
//
// The run repeats at devicePixelRatio 1 and 2 (the UI scales its font and
// sizes with it) and leaves login.png and login@2x.png in <dir>. Exit code 0
// when every check passed. No fixed sleeps: every wait is a condition with a
// deadline.
//
// The fixtures (the ates process, the page, the test bridge) are in
// harness.mjs.
//
// [SECTION] index
//   - the scenario
//   - main

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { click, find, log, runBrowserTest, waitFor, waitForWidget, watchPage, widgets,
         withFailureScreenshot } from './harness.mjs';

// ---- the scenario ---------------------------------------------------------------------------------

async function checkAssets(baseUrl) {
  // The page is served with the CSP it must work under (so the scenarios
  // below, which fail on any violation, prove it does).
  const page = await fetch(`${baseUrl}/`);
  assert.equal(page.status, 200, 'GET /');
  const csp = page.headers.get('content-security-policy') ?? '';
  for (const directive of ["default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'"]) {
    assert.ok(csp.includes(directive), `the page's Content-Security-Policy has ${directive}: ${csp}`);
  }
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff', 'X-Content-Type-Options of /');
  log(`/: Content-Security-Policy: ${csp}`);
  const wasm = await fetch(`${baseUrl}/ates_ui.wasm`);
  assert.equal(wasm.status, 200, 'GET /ates_ui.wasm');
  // Streaming compilation needs the right type; without it the browser
  // falls back to a slower path and logs a warning.
  assert.match(wasm.headers.get('content-type') ?? '', /^application\/wasm/, 'content type of ates_ui.wasm');
  const bytes = Buffer.from(await wasm.arrayBuffer());
  const gzipped = gzipSync(bytes, { level: 9 }).length;
  log(`ates_ui.wasm: ${bytes.length} bytes raw, ${gzipped} bytes gzip -9`);
  const js = await fetch(`${baseUrl}/ates_ui.js`);
  assert.equal(js.status, 200, 'GET /ates_ui.js');
  log(`ates_ui.js: ${(await js.arrayBuffer()).byteLength} bytes raw`);
}

async function readyz(baseUrl) {
  const response = await fetch(`${baseUrl}/readyz`, { headers: { 'cache-control': 'no-cache' } });
  assert.ok(response.status === 200 || response.status === 503,
            `/readyz answers 200 or 503, not ${response.status}`);
  return response.json();
}

// What the UI must show for a failed log-in: the problem's detail, else its
// title (web-wasm/src/api.cpp describe_failure()).
async function expectedLoginFailure(baseUrl, username, password) {
  const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, application/problem+json' },
    body: JSON.stringify({ username, password }),
  });
  const text = await response.text();
  log(`POST /api/v1/auth/login -> ${response.status} ${response.headers.get('content-type')} ${text}`);
  if (response.ok) return null;
  let problem = null;
  try { problem = JSON.parse(text); } catch { /* not JSON: the UI quotes the status line */ }
  if (problem && typeof problem.detail === 'string' && problem.detail) return { exact: problem.detail };
  if (problem && typeof problem.title === 'string' && problem.title) return { exact: problem.title };
  return { prefix: `HTTP ${response.status}` };
}

async function loginScenario(browser, baseUrl, dpr, screenshotPath) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: dpr });
  const page = await context.newPage();
  const pageErrors = await watchPage(page);

  return withFailureScreenshot({ context, page, screenshot: screenshotPath, what: `dpr ${dpr}` }, async () => {
    log(`dpr ${dpr}: opening ${baseUrl}/`);
    const navigationStart = Date.now();
    await page.goto(`${baseUrl}/`);
    await page.waitForFunction(() => window.atesReady || window.atesError, null, { timeout: 30_000 });
    const wallMs = Date.now() - navigationStart;
    const state = await page.evaluate(() => ({ error: window.atesError, firstFrameMs: window.atesFirstFrameMs }));
    assert.equal(state.error, undefined, `the UI reported a start-up error: ${state.error}`);
    log(`dpr ${dpr}: first frame ${state.firstFrameMs.toFixed(0)} ms after navigation start; ` +
        `ready (frame 2) ${wallMs} ms after page.goto began`);

    // The log-in window and its widgets.
    const frame = await widgets(page);
    assert.equal(frame.dpr, dpr, 'the bridge reports the page\'s devicePixelRatio');
    for (const [kind, label] of [['window', 'Log in'], ['input', 'Username'], ['input', 'Password'], ['button', 'Log in']]) {
      assert.ok(find(frame, 'Log in', kind, label), `the "Log in" window has ${kind} "${label}": ${JSON.stringify(frame)}`);
    }

    // Host readiness: the status window agrees with what /readyz says (the
    // UI polls every 2 s, so allow a few polls for it to catch up).
    const agreed = await waitFor('the Host window to show the status /readyz reports', async (note) => {
      const [host, shown] = [await readyz(baseUrl), await widgets(page)];
      const hostWindow = shown.widgets.filter((w) => w.window === 'Host' && w.kind === 'text');
      note({ readyz: host, hostWindow });
      const status = find(shown, 'Host', 'text', 'Status');
      const plugins = (host.plugins ?? []).every((p) => find(shown, 'Host', 'text', p.name)?.value === p.state);
      return status?.value === host.status && plugins ? host : null;
    }, { timeoutMs: 15_000 });
    log(`dpr ${dpr}: Host window shows status "${agreed.status}" and ${agreed.plugins?.length ?? 0} plugin(s), as /readyz says`);

    // Click into Username and type.
    const username = find(await widgets(page), 'Log in', 'input', 'Username');
    await click(page, username);
    await waitForWidget(page, 'the Username field to take the keyboard', 'Log in', 'input', 'Username', (w) => w.active);
    await page.keyboard.type('popug');
    const typed = await waitForWidget(page, 'the Username field to read "popug"', 'Log in', 'input', 'Username',
                                      (w) => w.value === 'popug');
    assert.equal(typed.value, 'popug');
    log(`dpr ${dpr}: typed into Username at (${username.x}, ${username.y}, ${username.w}x${username.h}); the field reads "${typed.value}"`);

    // Password (masked in the bridge), then "Log in": no auth plugin yet, so
    // the host's problem+json answer must appear in red under the button.
    await click(page, find(await widgets(page), 'Log in', 'input', 'Password'));
    await waitForWidget(page, 'the Password field to take the keyboard', 'Log in', 'input', 'Password', (w) => w.active);
    await page.keyboard.type('secret');
    await waitForWidget(page, 'the Password field to hold 6 hidden characters', 'Log in', 'input', 'Password',
                        (w) => w.value === '******');
    const expected = await expectedLoginFailure(baseUrl, 'popug', 'secret');
    await click(page, find(await widgets(page), 'Log in', 'button', 'Log in'));
    if (expected) {
      const shown = await waitForWidget(page, `the log-in error ${JSON.stringify(expected)}`, 'Log in', 'text', 'Login error',
        (w) => (expected.exact ? w.value === expected.exact : w.value.startsWith(expected.prefix)));
      log(`dpr ${dpr}: the log-in error reads "${shown.value}"`);
    } else {
      await waitForWidget(page, 'the signed-in top bar', 'ates', 'text', 'Signed in as');
      log(`dpr ${dpr}: the host accepted the log-in`);
    }

    await page.screenshot({ path: screenshotPath });
    log(`dpr ${dpr}: screenshot ${screenshotPath}`);
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    return { username };
  });
}

// ---- main ---------------------------------------------------------------------------------------------

runBrowserTest('login.test.mjs', { waitReady: false }, async ({ args, ates, browser }) => {
  await checkAssets(ates.baseUrl);
  const one = await loginScenario(browser, ates.baseUrl, 1, join(args.artifacts, 'login.png'));
  const two = await loginScenario(browser, ates.baseUrl, 2, join(args.artifacts, 'login@2x.png'));
  // The UI scales with the pixel ratio, so in CSS pixels the layout is the
  // same on both displays.
  for (const key of ['x', 'y', 'w', 'h']) {
    assert.ok(Math.abs(one.username[key] - two.username[key]) <= 1,
              `Username field ${key} in CSS px: ${one.username[key]} at dpr 1, ${two.username[key]} at dpr 2`);
  }
});
