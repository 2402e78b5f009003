// Browser test of a worker's day (docs/ui.md): against a real `ates serve
// --fake-clock`, a worker added with `ates user add` logs in through the UI,
// sees exactly the worker's windows, is shown the host's validation error
// beside the Title field, creates a task (assigned to them: the only
// worker), marks it done, and sees the fee and then the reward change the
// balance in "My account" (accounting applies them asynchronously; the UI
// refreshes every few seconds). Everything is done with real mouse and
// keyboard events at the widgets' rectangles from the test bridge.
//
//   node worker.test.mjs --ates <path to ates> --artifacts <dir>
//
// Then a newcomer registers through the UI (a refused username first) and
// is logged in as a worker; they change their password in Profile, which
// revokes every token they hold: a token from before is refused, and the
// UI, logged in again with the new password, goes on (a task created
// through it).
//
// Before logging out the worker changes their email in Profile (a wrong
// current password refused first).
//
// Leaves worker-validation.png, worker.png, profile.png and register.png in
// <dir> (*-failure.png when
// a step fails). Exit code 0 when every check passed; every wait is a
// condition with a deadline.

import assert from 'node:assert/strict';
import { join } from 'node:path';

import { api, click, dollars, find, log, logInThroughUi, openUi, runBrowserTest, typeInto, waitFor, waitForWidget,
         waitForWindow, widgets, withFailureScreenshot } from './harness.mjs';

const kWorker = { username: 'popug', password: 'correct-horse' };
const kFakeClock = '2026-03-03T09:00:00Z';
// Accounting applies the tracker's events asynchronously and the UI asks
// again every 3 s: allow several rounds.
const kMoneyTimeoutMs = 20_000;

// Waits until the UI's Balance shows what the host's account says, and the
// host's audit log satisfies `entriesOk`; returns the balance in cents.
async function waitForBalance(page, baseUrl, token, what, entriesOk) {
  return waitFor(what, async (note) => {
    const [account, entries, frame] = await Promise.all([
      api(baseUrl, 'GET', '/api/v1/accounting/accounts/me', { token }),
      api(baseUrl, 'GET', '/api/v1/accounting/accounts/me/entries', { token }),
      widgets(page)]);
    const shown = find(frame, 'My account', 'text', 'Balance');
    const cents = account.json?.account?.balance_cents;
    note({ shown: shown?.value, account: account.json, entries: entries.json });
    if (!entriesOk(entries.json?.entries ?? []) || shown?.value !== dollars(cents)) return null;
    return { cents };
  }, { timeoutMs: kMoneyTimeoutMs, intervalMs: 100 });
}

async function workerScenario(browser, baseUrl, artifacts) {
  const { context, page, pageErrors, firstFrameMs } = await openUi(browser, baseUrl, 1);
  let screenshot = join(artifacts, 'worker-validation.png');
  await withFailureScreenshot({ context, page, screenshot: () => screenshot, what: 'worker' }, async () => {
    log(`worker: first frame ${firstFrameMs.toFixed(0)} ms after navigation start`);
    const login = await api(baseUrl, 'POST', '/api/v1/auth/login', { body: kWorker });
    assert.equal(login.status, 200, `the worker logs in through the API: ${login.text}`);
    const token = login.json.token;

    await logInThroughUi(page, kWorker.username, kWorker.password);
    await waitForWidget(page, 'the top bar to name the worker', 'ates', 'text', 'Signed in as',
                        (w) => w.value === kWorker.username);
    // Exactly the worker's windows.
    const windows = await waitFor('the worker\'s windows', async (note) => {
      const names = (await widgets(page)).widgets.filter((w) => w.kind === 'window').map((w) => w.label).sort();
      note(names);
      return names.length === 4 ? names : null;
    });
    assert.deepEqual(windows, ['Create task', 'My account', 'My tasks', 'ates']);
    assert.equal(find(await widgets(page), 'ates', 'text', 'Role').value, 'worker');
    await waitForWidget(page, 'a zero balance', 'My account', 'text', 'Balance', (w) => w.value === '$0.00');
    log('worker: logged in; windows ' + windows.join(', ') + '; balance $0.00');

    // The host's validation error, beside the field it names.
    const badTitle = 'Feed the [parrots]';
    const expected = await api(baseUrl, 'POST', '/api/v1/tracker/tasks', { token, body: { title: badTitle } });
    assert.equal(expected.status, 400, `a title with '[' is refused: ${expected.text}`);
    await typeInto(page, 'Create task', 'Title', badTitle);
    await click(page, find(await widgets(page), 'Create task', 'button', 'Create task'));
    const titleError = await waitForWidget(page, `the title error ${JSON.stringify(expected.json.detail)}`,
                                           'Create task', 'text', 'Title error', (w) => w.value === expected.json.detail);
    const frame = await widgets(page);
    const [titleInput, jiraInput] = [find(frame, 'Create task', 'input', 'Title'), find(frame, 'Create task', 'input', 'Jira id')];
    assert.ok(titleError.y >= titleInput.y + titleInput.h && titleError.y + titleError.h <= jiraInput.y,
              `the error is between the Title and Jira id fields: ${JSON.stringify({ titleInput, titleError, jiraInput })}`);
    assert.equal(find(frame, 'Create task', 'text', 'Create error'), undefined, 'no form-wide error as well');
    await page.screenshot({ path: screenshot });
    log(`worker: "${titleError.value}" shown under Title; screenshot ${screenshot}`);

    // Create a task: it goes to the only worker.
    screenshot = join(artifacts, 'worker.png');
    const title = 'Feed the parrots';
    await typeInto(page, 'Create task', 'Title', title);
    await typeInto(page, 'Create task', 'Jira id', 'UBERPOP-42');
    await typeInto(page, 'Create task', 'Description', 'Seeds, then water');
    await click(page, find(await widgets(page), 'Create task', 'button', 'Create task'));
    await waitForWidget(page, 'the task to be created', 'Create task', 'text', 'Create result',
                        (w) => w.value.includes('assigned to you'));
    assert.equal(find(await widgets(page), 'Create task', 'text', 'Title error'), undefined, 'the title error is gone');
    await waitForWidget(page, 'the task in My tasks', 'My tasks', 'text', 'Open task',
                        (w) => w.value === `[UBERPOP-42] ${title}`);
    const afterFee = await waitForBalance(page, baseUrl, token, 'the fee in the balance',
                                          (entries) => entries.some((e) => e.kind === 'fee'));
    assert.ok(afterFee.cents < 0, `the fee makes the balance negative: ${afterFee.cents}`);
    log(`worker: created "${title}"; balance after the fee ${dollars(afterFee.cents)}`);

    // Mark it done: the reward arrives and the balance changes.
    await click(page, find(await widgets(page), 'My tasks', 'button', `Mark done: ${title}`));
    await waitForWidget(page, 'the task among the done ones', 'My tasks', 'text', 'Done task',
                        (w) => w.value === `[UBERPOP-42] ${title}`);
    const afterReward = await waitForBalance(page, baseUrl, token, 'the reward in the balance',
                                             (entries) => entries.some((e) => e.kind === 'reward'));
    assert.notEqual(afterReward.cents, afterFee.cents, 'the reward changed the balance');
    await waitForWidget(page, 'the reward in the audit log', 'My account', 'text', 'Entry kind',
                        (w) => w.value === 'reward');
    assert.equal(find(await widgets(page), 'My tasks', 'text', 'Open task'), undefined, 'no open task left');
    await page.screenshot({ path: screenshot });
    log(`worker: marked done; balance ${dollars(afterFee.cents)} -> ${dollars(afterReward.cents)}; ` +
        `screenshot ${screenshot}`);

    // Profile: a wrong current password is refused beside its field; the
    // right one saves the new email.
    await click(page, find(await widgets(page), 'ates', 'button', 'Profile'));
    await waitForWindow(page, 'Profile');
    await typeInto(page, 'Profile', 'Email', 'popug@popug.example');
    await typeInto(page, 'Profile', 'Current password', 'wrong-password', '*'.repeat(14));
    await click(page, find(await widgets(page), 'Profile', 'button', 'Save'));
    const wrong = await waitForWidget(page, 'the current password error', 'Profile', 'text', 'Current password error');
    log(`profile: "${wrong.value}" under Current password`);
    await typeInto(page, 'Profile', 'Current password', kWorker.password, '*'.repeat(kWorker.password.length));
    await click(page, find(await widgets(page), 'Profile', 'button', 'Save'));
    await waitForWidget(page, 'the profile to be saved', 'Profile', 'text', 'Profile result');
    const me = await api(baseUrl, 'GET', '/api/v1/auth/me', { token });
    assert.equal(me.json?.user?.email, 'popug@popug.example', `the host has the new email: ${me.text}`);
    await page.screenshot({ path: join(artifacts, 'profile.png') });
    await click(page, find(await widgets(page), 'Profile', 'button', 'Close'));
    await waitFor('the Profile window to close', async () => !find(await widgets(page), 'Profile', 'window', 'Profile'));
    log(`profile: email saved; screenshot ${join(artifacts, 'profile.png')}`);

    // Log out: back to the log-in window.
    await click(page, find(await widgets(page), 'ates', 'button', 'Log out'));
    await waitForWidget(page, 'the log-in window after log-out', 'Log in', 'window', 'Log in');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
}

// A newcomer registers through the UI: a bad username is refused with the
// host's detail under the Username field; a good one logs in as a worker.
async function registerScenario(browser, baseUrl, artifacts) {
  const { context, page, pageErrors } = await openUi(browser, baseUrl, 1);
  const screenshot = join(artifacts, 'register.png');
  await withFailureScreenshot({ context, page, screenshot, what: 'register' }, async () => {
    await click(page, await waitForWidget(page, 'Create an account', 'Log in', 'button', 'Create an account'));
    await waitForWindow(page, 'Register');
    const expected = await api(baseUrl, 'POST', '/api/v1/auth/register',
                               { body: { username: 'No', password: 'correct-horse', email: 'new@popug.example' } });
    assert.equal(expected.status, 400, `a bad username is refused: ${expected.text}`);
    await typeInto(page, 'Register', 'Username', 'No');
    await typeInto(page, 'Register', 'Email', 'new@popug.example');
    await typeInto(page, 'Register', 'Password', 'correct-horse', '*'.repeat(13));
    await click(page, find(await widgets(page), 'Register', 'button', 'Register'));
    const error = await waitForWidget(page, 'the username error', 'Register', 'text', 'Username error',
                                      (w) => w.value === expected.json.detail);
    const frame = await widgets(page);
    const [user, email] = [find(frame, 'Register', 'input', 'Username'), find(frame, 'Register', 'input', 'Email')];
    assert.ok(error.y >= user.y + user.h && error.y + error.h <= email.y, 'the error is under Username');
    await page.screenshot({ path: screenshot });
    log(`register: "${error.value}" under Username; screenshot ${screenshot}`);

    await typeInto(page, 'Register', 'Username', 'newpopug');
    await click(page, find(await widgets(page), 'Register', 'button', 'Register'));
    await waitForWidget(page, 'the newcomer to be logged in', 'ates', 'text', 'Signed in as',
                        (w) => w.value === 'newpopug', 15_000);
    assert.equal(find(await widgets(page), 'ates', 'text', 'Role').value, 'worker');
    await waitForWidget(page, 'the newcomer\'s balance', 'My account', 'text', 'Balance', (w) => w.value === '$0.00');
    log('register: newpopug registered and logged in as a worker');

    // A new password revokes the session's token too: the UI logs in again
    // with the new one and goes on.
    const before = await api(baseUrl, 'POST', '/api/v1/auth/login',
                             { body: { username: 'newpopug', password: 'correct-horse' } });
    assert.equal(before.status, 200, `a token from before the change: ${before.text}`);
    await click(page, find(await widgets(page), 'ates', 'button', 'Profile'));
    await waitForWindow(page, 'Profile');
    await typeInto(page, 'Profile', 'New password (optional)', 'a-new-horse-42', '*'.repeat(14));
    await typeInto(page, 'Profile', 'Current password', 'correct-horse', '*'.repeat(13));
    await click(page, find(await widgets(page), 'Profile', 'button', 'Save'));
    await waitForWidget(page, 'the new password to be saved', 'Profile', 'text', 'Profile result',
                        (w) => w.value === 'Saved your email and your new password.');
    await waitFor('the token from before the change to be refused', async (note) => {
      const me = await api(baseUrl, 'GET', '/api/v1/auth/me', { token: before.json.token });
      note(me.status);
      return me.status === 401;
    });
    await click(page, find(await widgets(page), 'Profile', 'button', 'Close'));
    await waitFor('the Profile window to close', async () => !find(await widgets(page), 'Profile', 'window', 'Profile'));
    await typeInto(page, 'Create task', 'Title', 'After the new password');
    await click(page, find(await widgets(page), 'Create task', 'button', 'Create task'));
    await waitForWidget(page, 'a task created with the new session', 'Create task', 'text', 'Create result');
    assert.equal(find(await widgets(page), 'ates', 'text', 'Signed in as').value, 'newpopug');
    log('register: newpopug changed their password; the old token is refused, the UI goes on');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
}

runBrowserTest('worker.test.mjs', {
  users: [[kWorker.username, 'worker', kWorker.password]],
  serveArgs: ['--fake-clock', kFakeClock],
}, async ({ args, ates, browser }) => {
  await workerScenario(browser, ates.baseUrl, args.artifacts);
  await registerScenario(browser, ates.baseUrl, args.artifacts);
});
