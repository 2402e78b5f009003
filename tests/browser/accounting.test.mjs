// Browser test of the money views (docs/ui.md), against a real `ates serve
// --fake-clock 2026-03-03T09:00:00Z` with a worker, an accountant and an
// admin added by `ates user add`, and tasks created and completed through
// the API:
//
// 1. the accountant switches to the Accounting view: the earnings plot, the
//    earnings of today, every account's balance and today's row as the host
//    has them (accounting.png);
// 2. the admin holds tracker.tasks back (POST /api/v1/dev/hold), moves the
//    business clock past midnight (POST /api/v1/dev/clock) and clicks Close
//    on 2026-03-03: the 409's "waiting for" lines appear
//    (close-waiting.png); with the stream released the day closes, and its
//    payouts are those of GET /accounting/days (close.png);
// 3. the admin switches to the Events view: every stream with its head and
//    consumers as GET /events/streams has them, and no dead letter
//    (events.png); then, with the dead-letter routes answered by the test
//    (the product cannot make a dead letter on demand), a Re-drive refused
//    with its error shown, then one that resolves the letter;
// 4. the worker's audit log has two days now (a task completed after
//    midnight): My account pages from 2026-03-04 to 2026-03-03
//    (account-days.png).
//
//   node accounting.test.mjs --ates <path to ates> --artifacts <dir>
//
// Real mouse and keyboard events at the widgets' rectangles from the test
// bridge; every wait is a condition with a deadline.

import assert from 'node:assert/strict';
import { join } from 'node:path';

import { api, apiLogin, clickButton, dollars, find, log, logInThroughUi, openUi, runBrowserTest, waitFor,
         waitForWidget, windowTitles, widgets, withFailureScreenshot } from './harness.mjs';

const kPassword = 'correct-horse';
const kFakeClock = '2026-03-03T09:00:00Z';
const kDay = '2026-03-03';
const kNextDay = '2026-03-04';
// From 09:00 to 00:01 the next day: past midnight, before the scheduled
// close (accounting.close_delay_s, 5 minutes after midnight).
const kToJustAfterMidnightS = 15 * 3600 + 60;
// Accounting applies the tracker's events asynchronously and the UI asks
// again every 3 s: allow several rounds.
const kMoneyTimeoutMs = 20_000;

// The Accounting window's days as [date, status] rows.
function dayRows(frame) {
  const pick = (label) => frame.widgets.filter((w) => w.window === 'Accounting' && w.label === label)
    .map((w) => w.value);
  const statuses = pick('Day status');
  return pick('Day').map((date, i) => [date, statuses[i]]);
}

// Runs `body(page)` in a fresh page logged in as `username`, saving
// `<name>-failure.png` when it throws.
async function asUser(browser, baseUrl, artifacts, username, role, name, body) {
  const { context, page, pageErrors } = await openUi(browser, baseUrl, 1);
  await withFailureScreenshot({ context, page, screenshot: join(artifacts, `${name}.png`), what: name }, async () => {
    await logInThroughUi(page, username, kPassword);
    await waitForWidget(page, `${username} logged in`, 'ates', 'text', 'Role', (w) => w.value === role, 15_000);
    await body(page);
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
}

// Tasks through the API: three completed by whoever got them, and one of
// the worker's left open (completed after midnight in step 4). Returns that
// open task's id.
async function makeMoney(baseUrl, tokens, workerId) {
  let kept = null;
  for (let i = 1; i <= 20 && (i <= 3 || !kept); ++i) {
    const created = await api(baseUrl, 'POST', '/api/v1/tracker/tasks',
                              { token: tokens.root, body: { title: `Task ${i}`, jira_id: `UBERPOP-${i}` } });
    assert.equal(created.status, 201, created.text);
    const task = created.json.task;
    if (!kept && task.assignee_id === workerId) {
      kept = task.id;
      continue;
    }
    const token = task.assignee_id === workerId ? tokens.popug : tokens.counter;
    const done = await api(baseUrl, 'POST', `/api/v1/tracker/tasks/${task.id}/complete`, { token });
    assert.equal(done.status, 200, done.text);
  }
  assert.ok(kept, 'one of the tasks went to the worker');
  return kept;
}

async function accountantScenario(browser, baseUrl, artifacts, tokens) {
  await asUser(browser, baseUrl, artifacts, 'counter', 'accountant', 'accounting', async (page) => {
    await clickButton(page, 'ates', 'View: Accounting');
    await waitFor('only the Accounting window', async () =>
      JSON.stringify(await windowTitles(page)) === JSON.stringify(['Accounting', 'ates']));
    // The figures as the host has them, once accounting applied every task.
    const shown = await waitFor('the accounts and earnings as the host has them', async (note) => {
      const [accounts, earnings, frame] = await Promise.all([
        api(baseUrl, 'GET', '/api/v1/accounting/accounts', { token: tokens.counter }),
        api(baseUrl, 'GET', `/api/v1/accounting/earnings?from=${kDay}&to=${kDay}`, { token: tokens.counter }),
        widgets(page)]);
      const today = earnings.json?.days?.[0];
      const names = frame.widgets.filter((w) => w.window === 'Accounting' && w.label === 'Account').map((w) => w.value);
      const balances = frame.widgets.filter((w) => w.window === 'Accounting' && w.label === 'Account balance')
        .map((w) => w.value);
      const expected = (accounts.json?.accounts ?? []).map((a) => [a.username, dollars(a.balance_cents)]);
      const plot = find(frame, 'Accounting', 'plot', 'Earnings plot');
      const earned = find(frame, 'Accounting', 'text', 'Earned today');
      note({ names, balances, expected, today, plot: plot?.value, earned: earned?.value });
      const rewarded = today && today.rewards_cents > 0;
      const same = JSON.stringify(names.map((n, i) => [n, balances[i]])) === JSON.stringify(expected);
      if (!rewarded || !same || earned?.value !== dollars(today.earnings_cents)) return null;
      return { plot: plot.value.split(',').map(Number), today, expected };
    }, { timeoutMs: kMoneyTimeoutMs, intervalMs: 100 });
    // 14 bars, oldest first; today's is the last, in dollars.
    assert.equal(shown.plot.length, 14);
    assert.equal(Math.round(shown.plot.at(-1) * 100), shown.today.earnings_cents);
    assert.deepEqual(shown.plot.slice(0, 13), new Array(13).fill(0), 'nothing was earned before today');
    const frame = await widgets(page);
    assert.equal(find(frame, 'Accounting', 'text', 'Earnings day').value, kDay, 'the newest day heads the table');
    assert.deepEqual(dayRows(frame), [[kDay, 'today']], 'one day so far: today');
    assert.equal(find(frame, 'Accounting', 'button', `Close: ${kDay}`), undefined, 'today cannot be closed');
    const screenshot = join(artifacts, 'accounting.png');
    await page.screenshot({ path: screenshot });
    log(`accountant: earned today ${dollars(shown.today.earnings_cents)}; accounts ` +
        `${shown.expected.map(([n, b]) => `${n} ${b}`).join(', ')}; screenshot ${screenshot}`);
  });
}

async function closeDayScenario(browser, baseUrl, artifacts, tokens) {
  await asUser(browser, baseUrl, artifacts, 'root', 'admin', 'close', async (page) => {
    // The tracker's events stop reaching accounting; midnight passes.
    const hold = await api(baseUrl, 'POST', '/api/v1/dev/hold',
                           { token: tokens.root, body: { stream: 'tracker.tasks', held: true } });
    assert.equal(hold.status, 200, hold.text);
    const clock = await api(baseUrl, 'POST', '/api/v1/dev/clock',
                            { token: tokens.root, body: { advance_seconds: kToJustAfterMidnightS } });
    assert.equal(clock.status, 200, clock.text);
    log(`admin: tracker.tasks held; business clock at ${clock.json.now}`);

    await clickButton(page, 'ates', 'View: Accounting');
    await waitForWidget(page, `the Close button of ${kDay}`, 'Accounting', 'button', `Close: ${kDay}`, () => true,
                        15_000);
    await clickButton(page, 'Accounting', `Close: ${kDay}`);
    const waiting = await waitForWidget(page, 'what the close waits for', 'Accounting', 'text', 'Waiting for',
                                        (w) => w.value.startsWith('tracker.tasks: '), 15_000);
    const detail = find(await widgets(page), 'Accounting', 'text', 'Close waiting');
    assert.equal(detail.value, `closing ${kDay} waits for events that may still add entries to it`);
    let screenshot = join(artifacts, 'close-waiting.png');
    await page.screenshot({ path: screenshot });
    log(`admin: Close ${kDay} waits: "${waiting.value}"; screenshot ${screenshot}`);

    // Released: once accounting has the tracker past midnight, the close
    // goes through.
    const release = await api(baseUrl, 'POST', '/api/v1/dev/hold',
                              { token: tokens.root, body: { stream: 'tracker.tasks', held: false } });
    assert.equal(release.status, 200, release.text);
    await waitFor(`${kDay} to wait for nothing`, async (note) => {
      const days = await api(baseUrl, 'GET', '/api/v1/accounting/days', { token: tokens.root });
      const day = days.json?.days?.find((d) => d.date === kDay);
      note(day);
      return day && day.waiting_for.length === 0;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    await clickButton(page, 'Accounting', `Close: ${kDay}`);
    const result = await waitForWidget(page, 'the close result', 'Accounting', 'text', 'Close result', () => true,
                                       15_000);
    const days = await api(baseUrl, 'GET', '/api/v1/accounting/days', { token: tokens.root });
    const closed = days.json.days.find((d) => d.date === kDay);
    assert.equal(closed.status, 'closed');
    assert.equal(result.value, `${kDay} is closed: ${closed.payouts} payout${closed.payouts === 1 ? '' : 's'}, ` +
                               `${dollars(closed.paid_cents)} paid.`);
    await waitFor(`${kDay} closed in the list of days`, async (note) => {
      const rows = dayRows(await widgets(page));
      note(rows);
      return JSON.stringify(rows) === JSON.stringify([[kNextDay, 'today'], [kDay, 'closed']]);
    });
    assert.equal(find(await widgets(page), 'Accounting', 'text', 'Waiting for'), undefined, 'nothing waits any more');
    screenshot = join(artifacts, 'close.png');
    await page.screenshot({ path: screenshot });
    log(`admin: "${result.value}"; screenshot ${screenshot}`);

    // The event inspector, in the same session.
    await clickButton(page, 'ates', 'View: Events');
    await waitFor('only the Event inspector', async () =>
      JSON.stringify(await windowTitles(page)) === JSON.stringify(['Event inspector', 'ates']));
    const streams = await waitFor('the streams as the host has them', async (note) => {
      const [answer, frame] = await Promise.all([
        api(baseUrl, 'GET', '/api/v1/events/streams', { token: tokens.root }), widgets(page)]);
      const pick = (label) => frame.widgets.filter((w) => w.window === 'Event inspector' && w.label === label)
        .map((w) => w.value);
      const shown = { streams: pick('Stream'), heads: pick('Head'), consumers: pick('Consumer'), lags: pick('Lag') };
      const host = answer.json?.streams ?? [];
      const expected = {
        streams: host.map((s) => s.name),
        heads: host.map((s) => (s.head_seq === null ? 'unknown' : String(s.head_seq))),
        consumers: host.flatMap((s) => s.consumers.map((c) => `${s.name}/${c.plugin}`)),
        lags: host.flatMap((s) => s.consumers.map((c) => String(c.lag))),
      };
      note({ shown, expected });
      return JSON.stringify(shown) === JSON.stringify(expected) && expected.lags.every((lag) => lag === '0')
        ? expected : null;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    for (const name of ['auth.users', 'tracker.tasks', 'accounting.transactions']) {
      assert.ok(streams.streams.includes(name), `${name} is listed`);
    }
    await waitForWidget(page, 'no dead letter', 'Event inspector', 'text', 'Dead letters',
                        (w) => w.value === '0 unresolved of 0');
    screenshot = join(artifacts, 'events.png');
    await page.screenshot({ path: screenshot });
    log(`admin: Event inspector lists ${streams.streams.join(', ')} with heads ${streams.heads.join(', ')}; ` +
        `screenshot ${screenshot}`);

    // Re-drive. The product has no way to make a dead letter on demand, so
    // here the test answers the two dead-letter routes itself, in API.md's
    // shapes: one unresolved letter, whose first re-drive the consumer
    // refuses again (the error must show) and whose second succeeds.
    const letter = { id: 'accounting-1', stream: 'tracker.tasks', seq: 3, consumer: 'accounting',
                     reason: 'payload: price missing', time: '2026-03-03T09:00:00Z', resolved: false };
    const redrives = [];
    let resolved = false;
    // The list is paginated (?limit=&after=): one page, no next.
    await page.route(/\/api\/v1\/events\/dead-letters(\?.*)?$/, (route) =>
      route.fulfill({ json: { dead_letters: [{ ...letter, resolved }], next: null } }));
    await page.route('**/api/v1/events/dead-letters/*/redrive', (route) => {
      redrives.push(new URL(route.request().url()).pathname);
      if (redrives.length === 1) {
        return route.fulfill({ status: 409, contentType: 'application/problem+json',
                               body: JSON.stringify({ type: 'about:blank', title: 'Conflict', status: 409,
                                                      detail: 'accounting refused it again: payload: price missing' }) });
      }
      resolved = true;
      return route.fulfill({ json: { dead_letter: { ...letter, resolved: true } } });
    });
    await waitForWidget(page, 'the dead letter', 'Event inspector', 'text', 'Dead letters',
                        (w) => w.value === '1 unresolved of 1', 15_000);
    await clickButton(page, 'Event inspector', `Re-drive: ${letter.id}`);
    await waitForWidget(page, 'the refused re-drive', 'Event inspector', 'text', 'Re-drive error',
                        (w) => w.value === 'accounting-1: accounting refused it again: payload: price missing');
    await clickButton(page, 'Event inspector', `Re-drive: ${letter.id}`);
    await waitForWidget(page, 'the re-drive result', 'Event inspector', 'text', 'Re-drive result',
                        (w) => w.value === 'accounting-1 re-driven: accounting applied tracker.tasks #3.');
    assert.equal(find(await widgets(page), 'Event inspector', 'text', 'Re-drive error'), undefined,
                 'the earlier error is gone');
    assert.deepEqual(redrives, new Array(2).fill(`/api/v1/events/dead-letters/${letter.id}/redrive`));
    await waitForWidget(page, 'the letter resolved', 'Event inspector', 'text', 'Dead letters',
                        (w) => w.value === '0 unresolved of 1');
    assert.equal(find(await widgets(page), 'Event inspector', 'button', `Re-drive: ${letter.id}`), undefined,
                 'a resolved letter has no Re-drive button');
    log('admin: a dead letter refused, then re-driven, from the Event inspector (routes answered by the test)');
    await page.unrouteAll();
  });
}

async function workerDaysScenario(browser, baseUrl, artifacts, tokens, keptTask) {
  // Completed after midnight: its reward is an entry of the new day.
  const done = await api(baseUrl, 'POST', `/api/v1/tracker/tasks/${keptTask}/complete`, { token: tokens.popug });
  assert.equal(done.status, 200, done.text);
  await asUser(browser, baseUrl, artifacts, 'popug', 'worker', 'account-days', async (page) => {
    await waitForWidget(page, 'the newest day first', 'My account', 'text', 'Day', (w) => w.value === kNextDay,
                        kMoneyTimeoutMs);
    await waitForWidget(page, 'two days of entries', 'My account', 'text', 'Page', (w) => w.value === '1 of 2');
    await waitForWidget(page, 'the reward of the new day', 'My account', 'text', 'Entry kind',
                        (w) => w.value === 'reward');
    await clickButton(page, 'My account', 'Older day');
    await waitForWidget(page, 'the older day', 'My account', 'text', 'Day', (w) => w.value === kDay);
    const entries = await api(baseUrl, 'GET', `/api/v1/accounting/accounts/me/entries?date=${kDay}`,
                              { token: tokens.popug });
    const expected = entries.json.entries.map((e) => e.kind).reverse();
    const frame = await widgets(page);
    const kinds = frame.widgets.filter((w) => w.window === 'My account' && w.label === 'Entry kind').map((w) => w.value);
    assert.deepEqual(kinds, expected, `the entries of ${kDay}, newest first`);
    const total = entries.json.entries.reduce((sum, e) => sum + e.amount_cents, 0);
    assert.equal(find(frame, 'My account', 'text', 'Day total').value, dollars(total));
    assert.equal(find(frame, 'My account', 'text', 'Page').value, '2 of 2');
    const screenshot = join(artifacts, 'account-days.png');
    await page.screenshot({ path: screenshot });
    log(`worker: My account pages ${kNextDay} -> ${kDay} (${kinds.join(', ')}; ${dollars(total)}); ` +
        `screenshot ${screenshot}`);
  });
}

runBrowserTest('accounting.test.mjs', {
  users: [['popug', 'worker', kPassword], ['counter', 'accountant', kPassword], ['root', 'admin', kPassword]],
  serveArgs: ['--fake-clock', kFakeClock],
}, async ({ args, ates, browser }) => {
  const tokens = {};
  for (const name of ['popug', 'counter', 'root']) tokens[name] = await apiLogin(ates.baseUrl, name, kPassword);
  const me = await api(ates.baseUrl, 'GET', '/api/v1/auth/me', { token: tokens.popug });
  const keptTask = await makeMoney(ates.baseUrl, tokens, me.json.user.id);

  await accountantScenario(browser, ates.baseUrl, args.artifacts, tokens);
  await closeDayScenario(browser, ates.baseUrl, args.artifacts, tokens);
  await workerDaysScenario(browser, ates.baseUrl, args.artifacts, tokens, keptTask);
});
