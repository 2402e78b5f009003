// The browser tests' fixtures, kept as a library: arguments, logging, waiting
// on conditions, a real `ates serve` on a free port, headless chromium with
// WebGL2, and the UI's test bridge (find a widget by window, kind and label;
// click it with real mouse events on separate frames; type into it). See
// docs/ui.md.
//
// [SECTION] index
//   - arguments and logging
//   - waiting on conditions
//   - the ates process
//   - the page and its test bridge
//   - a test's main(): runBrowserTest()

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Imported on demand so that a missing node_modules/ says how to fix it.
export async function loadChromium(chromiumPath) {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no browser at ${chromiumPath}: run scripts/install-deps.sh --test (Debian's chromium)`);
  }
  try {
    return (await import('playwright-core')).chromium;
  } catch (error) {
    throw new Error('playwright-core is not installed: run scripts/install-deps.sh --test ' +
                    `(npm ci in tests/browser). ${error.message}`);
  }
}

// ---- arguments and logging -------------------------------------------------------

export function parseArgs(argv, usage) {
  const args = { chromium: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${key} needs a value`);
    if (key === '--ates') args.ates = value;
    else if (key === '--artifacts') args.artifacts = value;
    else if (key === '--chromium') args.chromium = value;
    else throw new Error(`unknown argument ${key}`);
  }
  if (!args.ates || !args.artifacts) {
    throw new Error(`usage: node ${usage} --ates <path> --artifacts <dir> [--chromium <path>]`);
  }
  return args;
}

const started = Date.now();
export function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(2)}s] ${message}`);
}

// ---- waiting on conditions ---------------------------------------------------------

// Polls `probe` until it returns a truthy value, which it returns; fails
// with `what` and the last thing the probe noted (probe(note): note(x)
// records x for the failure message) once `timeoutMs` has passed. The pause
// between polls yields to the event loop; it is not a guess at timing.
export async function waitFor(what, probe, { timeoutMs = 10_000, intervalMs = 25 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let seen;
  const note = (value) => { seen = value; };
  for (;;) {
    const result = await probe(note);
    if (result) return result;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(seen)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// ---- the ates process -----------------------------------------------------------------

// Starts `ates serve` on a free port and resolves once it printed
// "ates serve: listening on http://127.0.0.1:PORT".
// `extraArgs`: more `ates serve` arguments (e.g. ['--fake-clock', TIME]).
export async function startAtes(atesPath, dataDir, extraArgs = []) {
  const child = spawn(atesPath, ['serve', '--data', dataDir, '--listen', '127.0.0.1:0', ...extraArgs],
                      { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  let baseUrl = null;
  let exit = null;
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      output.push(`stdout: ${line}`);
      const match = /^ates serve: listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (match && !baseUrl) baseUrl = match[1];
    }
  });
  child.stderr.on('data', (chunk) => {
    for (const line of chunk.split('\n')) if (line) output.push(`stderr: ${line}`);
  });
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => { exit = { code, signal }; resolve(exit); });
    child.on('error', (error) => { exit = { error: error.message }; resolve(exit); });
  });
  const ates = { child, output, exited, get exit() { return exit; }, baseUrl: null };
  try {
    await waitFor('ates serve to print its listening line', () => baseUrl || exit, { timeoutMs: 30_000 });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\n${output.join('\n')}`);
  }
  if (!baseUrl) {
    throw new Error(`ates serve ended before listening: ${JSON.stringify(exit)}\n${output.join('\n')}`);
  }
  ates.baseUrl = baseUrl;
  return ates;
}

// `ates user add` (the password on stdin), before the server starts, so that
// every plugin's replica knows the user from its first moment.
export function addUser(atesPath, dataDir, username, role, password) {
  const result = spawnSync(atesPath, ['user', 'add', '--data', dataDir, '--username', username, '--role', role],
                           { input: `${password}\n`, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`ates user add ${username} (${role}) exited ${result.status}: ${result.stderr}${result.stdout}`);
  }
}

// SIGTERM, then the exit status within a deadline: a clean shutdown is 0.
export async function stopAtes(ates) {
  if (!ates.exit) ates.child.kill('SIGTERM');
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, 15_000, 'timeout'); });
  const result = await Promise.race([ates.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    ates.child.kill('SIGKILL');
    throw new Error(`ates did not exit within 15 s of SIGTERM\n${ates.output.join('\n')}`);
  }
  return result;
}

// ---- the page and its test bridge -----------------------------------------------------------

export const chromiumFlags = [
  // WebGL2 in headless Chromium without a GPU: ANGLE on SwiftShader
  // (--use-gl=swiftshader kills the GPU process; see TOOLCHAIN.md).
  '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function widgets(page) {
  return page.evaluate(() => window.atesTest.widgets());
}

export function find(frame, window, kind, label) {
  return frame.widgets.find((w) => w.window === window && w.kind === kind && w.label === label);
}

// Resolves once the UI completed a frame that began after this call: the
// frame has then seen every input event sent before the call. The page's
// frames are requestAnimationFrame callbacks, so waiting on them is a
// condition, not a sleep.
export async function nextFrame(page) {
  const before = (await widgets(page)).frame;
  await page.waitForFunction((f) => window.atesTest.widgets().frame > f, before,
                             { polling: 'raf', timeout: 5_000 });
}

// A click the ImGui way: hover, press and release on separate frames, at the
// centre of the widget's rectangle (CSS pixels from the canvas corner).
export async function click(page, widget) {
  const canvas = await page.evaluate(() => {
    const r = document.getElementById('canvas').getBoundingClientRect();
    return { x: r.left, y: r.top };
  });
  const x = canvas.x + widget.x + widget.w / 2;
  const y = canvas.y + widget.y + widget.h / 2;
  await page.mouse.move(x, y);
  await nextFrame(page);
  await page.mouse.down();
  await nextFrame(page);
  await page.mouse.up();
  await nextFrame(page);
}

// Waits for the bridge to show a widget for which `test` holds; returns it.
export async function waitForWidget(page, what, window, kind, label, test = () => true, timeoutMs) {
  return waitFor(what, async (note) => {
    const widget = find(await widgets(page), window, kind, label);
    note(widget ?? null);
    return widget && test(widget) ? widget : null;
  }, { timeoutMs });
}

// Waits for the window `title` and then two more frames: ImGui hides an
// auto-sized window on its first frame (it only measures it), so a click
// sent before then falls through to what is behind it.
export async function waitForWindow(page, title, timeoutMs) {
  const window = await waitForWidget(page, `the ${title} window`, title, 'window', title, () => true, timeoutMs);
  await nextFrame(page);
  await nextFrame(page);
  return window;
}

// Types `text` into the input `label` of `window`: clicks it, waits until it
// has the keyboard, selects what it held (if anything), types, and waits
// until it reads `expected` (the masked value for a password).
export async function typeInto(page, window, label, text, expected = text) {
  await click(page, find(await widgets(page), window, 'input', label));
  await waitForWidget(page, `${window}/${label} to take the keyboard`, window, 'input', label, (w) => w.active);
  if (find(await widgets(page), window, 'input', label).value !== '') {
    // Select what it holds, so typing replaces it. Dear ImGui 1.86 reads
    // keys as their state once per frame (the event queue came in 1.87):
    // a press and release within one frame is lost, so each edge gets a
    // frame of its own.
    await page.keyboard.down('Control');
    await nextFrame(page);
    await page.keyboard.down('a');
    await nextFrame(page);
    await page.keyboard.up('a');
    await nextFrame(page);
    await page.keyboard.up('Control');
    await nextFrame(page);
  }
  await page.keyboard.type(text);
  return waitForWidget(page, `${window}/${label} to read ${JSON.stringify(expected)}`, window, 'input', label,
                       (w) => w.value === expected);
}

// Logs the page's console and collects, for the tests' "no errors in the
// page" checks, its uncaught errors and every Content-Security-Policy
// violation (the host serves the page with a CSP: anything it blocks is a
// bug of the page, even when the UI happens to work without it). Call
// before the page loads.
export async function watchPage(page) {
  const pageErrors = [];
  // Chromium logs a violation on the console itself; the event makes sure
  // of it (an init script is not subject to the page's CSP).
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'an inline item'} ` +
                    `(${e.sourceFile || 'the page'}:${e.lineNumber})`);
    });
  });
  page.on('console', (message) => {
    log(`  [console.${message.type()}] ${message.text()}`);
    if (/Content Security Policy|CSP violation/i.test(message.text())) pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => { pageErrors.push(error.message); log(`  [pageerror] ${error.message}`); });
  return pageErrors;
}

// Opens the UI at `dpr` in a new context; resolves with the page once the
// UI drew frame 2, and the time to its first frame.
export async function openUi(browser, baseUrl, dpr, { width = 1280, height = 720 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: dpr });
  const page = await context.newPage();
  const pageErrors = await watchPage(page);
  const navigationStart = Date.now();
  await page.goto(`${baseUrl}/`);
  await page.waitForFunction(() => window.atesReady || window.atesError, null, { timeout: 30_000 });
  const wallMs = Date.now() - navigationStart;
  const state = await page.evaluate(() => ({ error: window.atesError, firstFrameMs: window.atesFirstFrameMs }));
  if (state.error !== undefined) throw new Error(`the UI reported a start-up error: ${state.error}`);
  return { context, page, pageErrors, firstFrameMs: state.firstFrameMs, readyMs: wallMs };
}

// Runs a scenario's `steps` on `page`, returning what they return. A failed
// step's page is the best clue to why it failed, so it is saved beside the
// planned screenshot (name-failure.png, best effort: the error that matters is
// the step's, which goes on); the browser context, if given, is closed either
// way. `screenshot` may be a function, for scenarios whose planned screenshot
// changes as they go.
export async function withFailureScreenshot({ context = null, page, screenshot, what }, steps) {
  try {
    return await steps();
  } catch (error) {
    const planned = typeof screenshot === 'function' ? screenshot() : screenshot;
    const failurePath = planned.replace(/\.png$/, '-failure.png');
    await page.screenshot({ path: failurePath }).catch(() => {});
    log(`${what}: failed; screenshot ${failurePath}`);
    throw error;
  } finally {
    if (context) await context.close();
  }
}

// Logs in through the Log in window with real keyboard and mouse events.
export async function logInThroughUi(page, username, password) {
  await typeInto(page, 'Log in', 'Username', username);
  await typeInto(page, 'Log in', 'Password', password, '*'.repeat(Buffer.byteLength(password)));
  await click(page, find(await widgets(page), 'Log in', 'button', 'Log in'));
}

// Money as the UI writes it (web-wasm/src/api.cpp format_cents()).
export function dollars(cents) {
  const magnitude = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}$${Math.floor(magnitude / 100)}.${String(magnitude % 100).padStart(2, '0')}`;
}

// The visible window titles of the last frame, sorted.
export async function windowTitles(page) {
  return (await widgets(page)).widgets.filter((w) => w.kind === 'window').map((w) => w.label).sort();
}

// Clicks the button `label` of `window` once the bridge shows it enabled
// in a settled place (two frames after it appeared).
export async function clickButton(page, window, label) {
  await waitForWidget(page, `${window}/${label}`, window, 'button', label);
  await nextFrame(page);
  await click(page, find(await widgets(page), window, 'button', label));
}

// Logs in through the API; returns the token.
export async function apiLogin(baseUrl, username, password) {
  const login = await api(baseUrl, 'POST', '/api/v1/auth/login', { body: { username, password } });
  if (login.status !== 200) throw new Error(`${username} could not log in through the API: ${login.text}`);
  return login.json.token;
}

// The host's API as a test client (to know what the UI should show).
export async function api(baseUrl, method, path, { token, body } = {}) {
  const headers = { accept: 'application/json, application/problem+json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: response.status, json, text };
}

// `ates plugin ACTION NAME --data DIR` (reload, stop, start) over the
// control socket; resolves with its exit code.
export function pluginCommand(atesPath, dataDir, action, plugin) {
  return new Promise((resolve) => {
    const child = spawn(atesPath, ['plugin', action, plugin, '--data', dataDir], { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
}

// ---- a test's main(): runBrowserTest() ---------------------------------------------------

// The frame of every browser test script: parses the arguments, makes a
// fresh data directory with `users` ([username, role, password], added
// before the server starts), starts `ates serve` with `serveArgs`, waits
// for /readyz to say ready (unless `waitReady` is false), launches chromium
// and runs `body({ args, ates, browser, dataDir })`. Then it closes the
// browser, checks that ates exits 0 on SIGTERM and prints PASS; on a failure
// it prints ates's output and FAIL and exits 1. The data directory is
// removed unless ATES_KEEP_TEST_DATA=1.
export function runBrowserTest(script, { users = [], serveArgs = [], waitReady = true } = {}, body) {
  const main = async () => {
    const args = parseArgs(process.argv.slice(2), script);
    const chromium = await loadChromium(args.chromium);
    mkdirSync(args.artifacts, { recursive: true });
    const dataDir = mkdtempSync(join(tmpdir(), `ates-browser-${script.replace(/\.test\.mjs$/, '')}-`));
    let ates = null;
    let browser = null;
    try {
      for (const [username, role, password] of users) addUser(args.ates, dataDir, username, role, password);
      ates = await startAtes(args.ates, dataDir, serveArgs);
      log(`ates serve ${serveArgs.join(' ')} listening on ${ates.baseUrl} (data in ${dataDir})`);
      if (waitReady) {
        await waitFor('the host to be ready', async () =>
          (await api(ates.baseUrl, 'GET', '/readyz')).json?.status === 'ready', { timeoutMs: 30_000 });
      }
      browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: chromiumFlags });
      log(`chromium ${browser.version()}`);
      await body({ args, ates, browser, dataDir });
      await browser.close();
      browser = null;

      const exit = await stopAtes(ates);
      if (exit.code !== 0 || exit.signal !== null) throw new Error(`ates exited ${JSON.stringify(exit)} on SIGTERM, not 0`);
      ates = null;
      log('ates exited 0 after SIGTERM');
      log('PASS');
    } finally {
      if (browser) await browser.close().catch(() => {});
      if (ates) {  // not stopped cleanly: show what it said
        if (!ates.exit) ates.child.kill('SIGKILL');
        console.error(`ates output:\n${ates.output.join('\n')}`);
      }
      if (process.env.ATES_KEEP_TEST_DATA === '1') log(`kept ${dataDir}`);
      else rmSync(dataDir, { recursive: true, force: true });
    }
  };
  main().catch((error) => {
    console.error(`FAIL: ${error.stack ?? error}`);
    process.exit(1);
  });
}
