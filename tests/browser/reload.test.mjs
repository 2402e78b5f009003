// Browser test of a plugin reload under a signed-in user (docs/ui.md):
// while the tracker reloads, its routes answer 503 with Retry-After; the UI
// asks again and the user never sees an error.
//
// A worker with one open task logs in; the test reloads the tracker over
// the control socket (`ates plugin reload tracker --data DIR`), back to
// back, until the page has received a 503 from a tracker route, and then
// stops. It checks that the UI asked the same URL again and got a 200, that
// My tasks never showed an error meanwhile, and that it still lists the
// task (reload.png).
//
//   node reload.test.mjs --ates <path to ates> --artifacts <dir>

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { addUser, api, apiLogin, chromiumFlags, find, loadChromium, log, logInThroughUi, openUi, parseArgs,
         startAtes, stopAtes, waitFor, waitForWidget, widgets } from './harness.mjs';

const kPassword = 'correct-horse';
const kTitle = 'Polish the perch';
// Reloads run back to back until the UI met one: a few of the UI's 3 s
// refresh rounds.
const kReloadTimeoutMs = 25_000;

// `ates plugin reload NAME --data DIR`; resolves with its exit code.
function reloadPlugin(atesPath, dataDir, plugin) {
  return new Promise((resolve) => {
    const child = spawn(atesPath, ['plugin', 'reload', plugin, '--data', dataDir], { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
}

async function reloadScenario(browser, ates, atesPath, dataDir, artifacts) {
  const { context, page, pageErrors } = await openUi(browser, ates.baseUrl, 1);
  const screenshot = join(artifacts, 'reload.png');
  try {
    // Every answer the page gets from the tracker, in order.
    const answers = [];
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (url.pathname.startsWith('/api/v1/tracker/')) answers.push({ url: url.pathname + url.search, status: response.status() });
    });
    await logInThroughUi(page, 'popug', kPassword);
    await waitForWidget(page, 'the task in My tasks', 'My tasks', 'text', 'Open task',
                        (w) => w.value === `[UBERPOP-9] ${kTitle}`, 15_000);

    // Reload until the UI has met a 503, watching My tasks every round.
    const errorsSeen = [];
    const deadline = Date.now() + kReloadTimeoutMs;
    let reloads = 0;
    const first503 = () => answers.find((a) => a.status === 503);
    // Three reloads in flight: the others queue behind the one running, so
    // the tracker is reloading most of the time, not only between spawns.
    const loop = async () => {
      while (!first503() && Date.now() < deadline) {
        const code = await reloadPlugin(atesPath, dataDir, 'tracker');
        assert.equal(code, 0, 'ates plugin reload tracker exits 0');
        ++reloads;
      }
    };
    const watch = async () => {
      while (!first503() && Date.now() < deadline) {
        const frame = await widgets(page);
        for (const label of ['Tasks error', 'Done tasks error']) {
          const error = find(frame, 'My tasks', 'text', label);
          if (error) errorsSeen.push(error.value);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await Promise.all([loop(), loop(), loop(), watch()]);
    const met = first503();
    assert.ok(met, `the UI met a 503 within ${kReloadTimeoutMs} ms (${reloads} reloads)`);
    log(`reload: the UI got 503 for ${met.url} after ${reloads} reloads`);

    // The retry: the same URL answered 200 after the 503, and no error on
    // screen meanwhile.
    const index503 = answers.indexOf(met);
    await waitFor(`a 200 for ${met.url} after its 503`, async (note) => {
      const frame = await widgets(page);
      for (const label of ['Tasks error', 'Done tasks error']) {
        const error = find(frame, 'My tasks', 'text', label);
        if (error) errorsSeen.push(error.value);
      }
      note(answers.slice(index503));
      return answers.slice(index503 + 1).some((a) => a.url === met.url && a.status === 200);
    }, { timeoutMs: 15_000, intervalMs: 20 });
    assert.deepEqual(errorsSeen, [], 'My tasks never showed an error');
    await waitForWidget(page, 'the task still listed', 'My tasks', 'text', 'Open task',
                        (w) => w.value === `[UBERPOP-9] ${kTitle}`);
    await page.screenshot({ path: screenshot });
    const retried = answers.slice(index503).filter((a) => a.url === met.url).map((a) => a.status).join(' ');
    log(`reload: ${met.url} answered ${retried}; no error shown; screenshot ${screenshot}`);
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (error) {
    await page.screenshot({ path: screenshot.replace(/\.png$/, '-failure.png') }).catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2), 'reload.test.mjs');
  const chromium = await loadChromium(args.chromium);
  mkdirSync(args.artifacts, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'ates-browser-reload-'));
  let ates = null;
  let browser = null;
  try {
    addUser(args.ates, dataDir, 'popug', 'worker', kPassword);
    ates = await startAtes(args.ates, dataDir);
    log(`ates serve listening on ${ates.baseUrl} (data in ${dataDir})`);
    await waitFor('the host to be ready', async () =>
      (await api(ates.baseUrl, 'GET', '/readyz')).json?.status === 'ready', { timeoutMs: 30_000 });
    const token = await apiLogin(ates.baseUrl, 'popug', kPassword);
    const created = await api(ates.baseUrl, 'POST', '/api/v1/tracker/tasks',
                              { token, body: { title: kTitle, jira_id: 'UBERPOP-9' } });
    assert.equal(created.status, 201, created.text);

    browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: chromiumFlags });
    await reloadScenario(browser, ates, args.ates, dataDir, args.artifacts);
    await browser.close();
    browser = null;

    const exit = await stopAtes(ates);
    assert.deepEqual(exit, { code: 0, signal: null }, 'ates exits 0 on SIGTERM');
    ates = null;
    log('PASS');
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (ates) {
      if (!ates.exit) ates.child.kill('SIGKILL');
      console.error(`ates output:\n${ates.output.join('\n')}`);
    }
    if (process.env.ATES_KEEP_TEST_DATA === '1') log(`kept ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`FAIL: ${error.stack ?? error}`);
  process.exit(1);
});
