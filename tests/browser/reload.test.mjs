// Browser test of a plugin that is away under a signed-in user (docs/ui.md):
// while the tracker is stopped, its routes answer 503 with Retry-After; the
// UI asks the same URL again Retry-After seconds later, and once the tracker
// is back the retry gets its 200: the user never sees an error.
//
// A worker with one open task logs in. The test stops the tracker over the
// control socket (`ates plugin stop tracker --data DIR`), waits until one
// tracker URL of My tasks has answered 503 several times in a row (more
// waits than the poll would ever sit through without retrying), starts the
// tracker again, and waits for that URL's 200. It checks, from the
// browser's own request timings, that every ask after a 503 was sent at
// least Retry-After (1 s) after the 503 arrived, that no poll answer came
// between (the 200 is the retry's), that My tasks never showed an error,
// and that it still lists the task (reload.png).
//
//   node reload.test.mjs --ates <path to ates> --artifacts <dir>

import assert from 'node:assert/strict';
import { join } from 'node:path';

import { api, apiLogin, find, log, logInThroughUi, openUi, pluginCommand, runBrowserTest, waitFor, waitForWidget,
         widgets, withFailureScreenshot } from './harness.mjs';

const kPassword = 'correct-horse';
const kTitle = 'Polish the perch';
// The host's Retry-After on a stopped plugin's routes, in ms.
const kRetryAfterMs = 1_000;
// 503s of one URL in a row before the tracker starts again: > the 3 asks a
// UI without Retry-After retries made, so such a UI shows an error.
const kStopped503s = 5;

async function reloadScenario(browser, ates, atesPath, dataDir, artifacts) {
  const { context, page, pageErrors } = await openUi(browser, ates.baseUrl, 1);
  const screenshot = join(artifacts, 'reload.png');
  await withFailureScreenshot({ context, page, screenshot, what: 'reload' }, async () => {
    // Every answer the page gets from the tracker, in order, with the
    // browser's times (ms since the epoch) of sending and of the answer.
    const answers = [];
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (!url.pathname.startsWith('/api/v1/tracker/')) return;
      const timing = response.request().timing();
      answers.push({
        url: url.pathname + url.search,
        status: response.status(),
        sentAt: timing.startTime,
        answeredAt: timing.responseStart >= 0 ? timing.startTime + timing.responseStart : Date.now(),
      });
    });
    const errorsSeen = [];
    const watchErrors = async () => {
      const frame = await widgets(page);
      for (const label of ['Tasks error', 'Done tasks error']) {
        const error = find(frame, 'My tasks', 'text', label);
        if (error) errorsSeen.push(error.value);
      }
    };
    await logInThroughUi(page, 'popug', kPassword);
    await waitForWidget(page, 'the task in My tasks', 'My tasks', 'text', 'Open task',
                        (w) => w.value === `[UBERPOP-9] ${kTitle}`, 15_000);

    assert.equal(await pluginCommand(atesPath, dataDir, 'stop', 'tracker'), 0, 'ates plugin stop tracker exits 0');
    const stoppedAt = answers.length;
    log('reload: tracker stopped');
    // A URL whose last kStopped503s answers since the stop were all 503.
    const met = await waitFor(`${kStopped503s} 503s in a row for one tracker URL`, async (note) => {
      await watchErrors();
      const since = answers.slice(stoppedAt);
      note(since.map((a) => `${a.status} ${a.url}`));
      const counts = new Map();
      for (const a of since) counts.set(a.url, a.status === 503 ? (counts.get(a.url) ?? 0) + 1 : 0);
      for (const [url, count] of counts) if (count >= kStopped503s) return url;
      return null;
    }, { timeoutMs: 60_000, intervalMs: 50 });
    log(`reload: ${met} answered 503 ${kStopped503s} times in a row`);

    assert.equal(await pluginCommand(atesPath, dataDir, 'start', 'tracker'), 0, 'ates plugin start tracker exits 0');
    log('reload: tracker started');
    await waitFor(`a 200 for ${met} after its 503s`, async (note) => {
      await watchErrors();
      const mine = answers.slice(stoppedAt).filter((a) => a.url === met);
      note(mine.map((a) => a.status));
      return mine.some((a) => a.status === 200);
    }, { timeoutMs: 30_000, intervalMs: 50 });

    // The asks of that URL since the stop: 503s, then the 200. Each one
    // after a 503 went out Retry-After later (a retry, not a fresh poll:
    // the poll never has two asks of a URL in flight, and the caller never
    // saw a 503 or it would have shown it).
    const mine = answers.slice(stoppedAt).filter((a) => a.url === met);
    const first200 = mine.findIndex((a) => a.status === 200);
    const asks = mine.slice(mine.findIndex((a) => a.status === 503), first200 + 1);
    assert.ok(asks.length >= kStopped503s + 1, JSON.stringify(mine));
    for (let i = 1; i < asks.length; ++i) {
      assert.equal(asks[i - 1].status, 503, `ask ${i - 1} of ${met} was a 503: ${JSON.stringify(asks)}`);
      const gap = asks[i].sentAt - asks[i - 1].answeredAt;
      assert.ok(gap >= kRetryAfterMs - 50,
                `ask ${i} of ${met} went out ${gap.toFixed(0)} ms after the 503 before it, not Retry-After later`);
    }
    const gaps = asks.slice(1).map((a, i) => (a.sentAt - asks[i].answeredAt).toFixed(0));
    await watchErrors();
    assert.deepEqual(errorsSeen, [], 'My tasks never showed an error');
    await waitForWidget(page, 'the task still listed', 'My tasks', 'text', 'Open task',
                        (w) => w.value === `[UBERPOP-9] ${kTitle}`);
    await page.screenshot({ path: screenshot });
    log(`reload: ${met} answered ${asks.map((a) => a.status).join(' ')}, each ask ${gaps.join(', ')} ms ` +
        `after the 503 before it; no error shown; screenshot ${screenshot}`);
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
}

runBrowserTest('reload.test.mjs', { users: [['popug', 'worker', kPassword]] }, async ({ args, ates, browser, dataDir }) => {
  const token = await apiLogin(ates.baseUrl, 'popug', kPassword);
  const created = await api(ates.baseUrl, 'POST', '/api/v1/tracker/tasks',
                            { token, body: { title: kTitle, jira_id: 'UBERPOP-9' } });
  assert.equal(created.status, 201, created.text);
  await reloadScenario(browser, ates, args.ates, dataDir, args.artifacts);
});
