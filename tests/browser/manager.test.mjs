// Browser test of a manager (docs/ui.md): against a real `ates serve
// --fake-clock` with a manager and two workers added by `ates user add`, the
// manager logs in through the UI, sees exactly the manager's windows,
// creates a task (it goes to a worker), filters All tasks by status, and
// shuffles the open tasks: the first time cancelling the confirmation, the
// second time confirming it. Real mouse and keyboard events at the widgets'
// rectangles from the test bridge.
//
//   node manager.test.mjs --ates <path to ates> --artifacts <dir>
//
// Then each role (worker, accountant, manager, admin) logs in and sees
// exactly its windows (the admin at devicePixelRatio 2), and the admin
// makes popug2 an accountant and deactivates them in Users, and reads
// Analytics (today's summary, the last 7 days, a custom range).
//
// Leaves manager-confirm.png, manager.png, role-*.png and admin-users.png in
// <dir> (*-failure.png when a
// step fails). Every wait is a condition with a deadline.

import assert from 'node:assert/strict';
import { join } from 'node:path';

import { api, click, find, log, logInThroughUi, nextFrame, openUi, runBrowserTest, typeInto, waitFor, waitForWidget,
         widgets, withFailureScreenshot } from './harness.mjs';

const kManager = { username: 'boss', password: 'correct-horse' };
const kWorkers = ['popug1', 'popug2'];
// Each role and exactly the windows it sees once logged in.
// The top bar switches views for the roles that have more than one.
const kRoles = [
  { username: 'popug1', role: 'worker', windows: ['Create task', 'My account', 'My tasks', 'ates'], views: [] },
  { username: 'counter', role: 'accountant', windows: ['Create task', 'My account', 'My tasks', 'ates'],
    views: ['View: Work', 'View: Accounting'] },
  { username: 'boss', role: 'manager', windows: ['All tasks', 'Create task', 'ates'], views: [] },
  { username: 'root', role: 'admin', windows: ['All tasks', 'Analytics', 'Create task', 'Users', 'ates'],
    views: ['View: Work', 'View: Accounting', 'View: Events'] },
];
const kFakeClock = '2026-03-03T09:00:00Z';

async function clickButton(page, window, label) {
  const button = await waitForWidget(page, `${window}/${label}`, window, 'button', label);
  await click(page, button);
}

async function managerScenario(browser, baseUrl, artifacts) {
  const { context, page, pageErrors, firstFrameMs } = await openUi(browser, baseUrl, 1);
  let screenshot = join(artifacts, 'manager-confirm.png');
  await withFailureScreenshot({ context, page, screenshot: () => screenshot, what: 'manager' }, async () => {
    log(`manager: first frame ${firstFrameMs.toFixed(0)} ms after navigation start`);
    const login = await api(baseUrl, 'POST', '/api/v1/auth/login', { body: kManager });
    assert.equal(login.status, 200, `the manager logs in through the API: ${login.text}`);
    const token = login.json.token;

    await logInThroughUi(page, kManager.username, kManager.password);
    await waitForWidget(page, 'the top bar to name the manager', 'ates', 'text', 'Role', (w) => w.value === 'manager');
    const windows = (await widgets(page)).widgets.filter((w) => w.kind === 'window').map((w) => w.label).sort();
    assert.deepEqual(windows, ['All tasks', 'Create task', 'ates'], 'exactly the manager\'s windows');

    // A task from the UI goes to a worker, not to the manager.
    await typeInto(page, 'Create task', 'Title', 'Clean the cage');
    await typeInto(page, 'Create task', 'Jira id', 'UBERPOP-7');
    await clickButton(page, 'Create task', 'Create task');
    await waitForWidget(page, 'the task to be created', 'Create task', 'text', 'Create result',
                        (w) => w.value.includes('assigned to another popug'));
    for (const title of ['Sort the seeds', 'Count the feathers']) {
      const created = await api(baseUrl, 'POST', '/api/v1/tracker/tasks', { token, body: { title } });
      assert.equal(created.status, 201, `POST /tasks ${title}: ${created.text}`);
    }
    await waitForWidget(page, 'three tasks in All tasks', 'All tasks', 'text', 'Tasks', (w) => w.value === '3');
    log(`manager: windows ${windows.join(', ')}; three tasks listed`);

    // Filters.
    await clickButton(page, 'All tasks', 'Filter: done');
    await waitForWidget(page, 'no done task', 'All tasks', 'text', 'Tasks', (w) => w.value === '0');
    await clickButton(page, 'All tasks', 'Filter: open');
    await waitForWidget(page, 'three open tasks', 'All tasks', 'text', 'Tasks', (w) => w.value === '3');
    const statuses = (await widgets(page)).widgets.filter((w) => w.window === 'All tasks' && w.label === 'Task status');
    assert.deepEqual(statuses.map((w) => w.value), ['open', 'open', 'open']);
    log('manager: filtered by done (0) and open (3)');

    // Shuffle, cancelled.
    await clickButton(page, 'All tasks', 'Shuffle');
    await waitForWidget(page, 'the shuffle confirmation', 'All tasks', 'text', 'Shuffle confirmation');
    await page.screenshot({ path: screenshot });
    await clickButton(page, 'All tasks', 'Cancel');
    await waitFor('the confirmation to close', async () =>
      !find(await widgets(page), 'All tasks', 'text', 'Shuffle confirmation'));
    await nextFrame(page);
    assert.equal(find(await widgets(page), 'All tasks', 'text', 'Shuffle result'), undefined, 'cancel shuffles nothing');
    log(`manager: shuffle confirmation shown and cancelled; screenshot ${screenshot}`);

    // Shuffle, confirmed.
    screenshot = join(artifacts, 'manager.png');
    await clickButton(page, 'All tasks', 'Shuffle');
    await clickButton(page, 'All tasks', 'Yes, shuffle');
    const result = await waitForWidget(page, 'the shuffle result', 'All tasks', 'text', 'Shuffle result',
                                       (w) => /^Reassigned \d+ open tasks?\.$/.test(w.value), 15_000);
    await page.screenshot({ path: screenshot });
    log(`manager: "${result.value}"; screenshot ${screenshot}`);

    await clickButton(page, 'ates', 'Log out');
    await waitForWidget(page, 'the log-in window after log-out', 'Log in', 'window', 'Log in');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
}

// Each role logs in and sees exactly its windows; at devicePixelRatio 2
// (the admin: role-<role>@2x.png) the layout is the same in CSS pixels.
async function rolesScenario(browser, baseUrl, artifacts) {
  for (const [index, { username, role, windows, views }] of kRoles.entries()) {
    const dpr = index === kRoles.length - 1 ? 2 : 1;
    const { context, page, pageErrors } = await openUi(browser, baseUrl, dpr);
    const screenshot = join(artifacts, `role-${role}${dpr === 2 ? '@2x' : ''}.png`);
    await withFailureScreenshot({ context, page, screenshot, what: `roles: ${role}` }, async () => {
      await logInThroughUi(page, username, 'correct-horse');
      await waitForWidget(page, `${username} logged in`, 'ates', 'text', 'Role', (w) => w.value === role, 15_000);
      const shown = await waitFor(`the ${role}'s windows`, async (note) => {
        const frame = await widgets(page);
        const names = frame.widgets.filter((w) => w.kind === 'window').map((w) => w.label).sort();
        note(names);
        // Wait for the first answers too, so the screenshot shows data.
        const loaded = frame.widgets.every((w) => w.value !== 'loading...');
        return loaded && JSON.stringify(names) === JSON.stringify(windows) ? names : null;
      });
      const frame = await widgets(page);
      assert.equal(frame.dpr, dpr);
      const bar = find(frame, 'ates', 'window', 'ates');
      assert.ok(Math.abs(bar.w - 1280) <= 1, `the top bar spans the window in CSS px at dpr ${dpr}: ${bar.w}`);
      const viewButtons = frame.widgets.filter((w) => w.window === 'ates' && w.label.startsWith('View: '))
        .map((w) => w.label);
      assert.deepEqual(viewButtons, views, `the ${role}'s views`);
      await page.screenshot({ path: screenshot });
      log(`roles: ${role} ${username} sees ${shown.join(', ')} (dpr ${dpr}); screenshot ${screenshot}`);
      assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    });
  }
}

// The admin makes popug2 an accountant, then deactivates them, in Users.
async function adminUsersScenario(browser, baseUrl, artifacts) {
  const { context, page, pageErrors } = await openUi(browser, baseUrl, 1);
  const screenshot = join(artifacts, 'admin-users.png');
  await withFailureScreenshot({ context, page, screenshot, what: 'admin' }, async () => {
    const login = await api(baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'root', password: 'correct-horse' } });
    assert.equal(login.status, 200, login.text);
    await logInThroughUi(page, 'root', 'correct-horse');
    // Click only once every window has its first answer: a list that is
    // still arriving moves the rows under the pointer.
    await waitFor('the admin\'s windows to load', async () => {
      const frame = await widgets(page);
      return frame.widgets.every((w) => w.value !== 'loading...') &&
             frame.widgets.filter((w) => w.window === 'Users' && w.label === 'User').length === 6;
    });
    await nextFrame(page);
    await clickButton(page, 'Users', 'Edit: popug2');
    await waitForWidget(page, 'the editor', 'Users', 'text', 'Editing', (w) => w.value === 'popug2');
    await clickButton(page, 'Users', 'Role: accountant');
    await waitForWidget(page, 'the role change', 'Users', 'text', 'Users result',
                        (w) => w.value === 'popug2 is now an active accountant.');
    await clickButton(page, 'Users', 'Deactivate');
    await waitForWidget(page, 'the deactivation', 'Users', 'text', 'Users result',
                        (w) => w.value === 'popug2 is now an inactive accountant.');
    // Analytics: today's summary as the host has it, then the most
    // expensive task of the last 7 days and of a custom range (nothing has
    // been completed: the answer says so).
    const summary = await api(baseUrl, 'GET', '/api/v1/analytics/summary', { token: login.json.token });
    assert.equal(summary.status, 200, summary.text);
    await waitForWidget(page, 'today in Analytics', 'Analytics', 'text', 'Today', (w) => w.value === summary.json.date);
    await waitFor('the summary as the host has it', async (note) => {
      const now = await api(baseUrl, 'GET', '/api/v1/analytics/summary', { token: login.json.token });
      const frame = await widgets(page);
      const shown = find(frame, 'Analytics', 'text', 'Popugs in the red')?.value;
      note({ host: now.json, shown });
      return shown === String(now.json.negative_balance_users);
    }, { timeoutMs: 15_000 });
    await clickButton(page, 'Analytics', 'Range: week');
    await waitForWidget(page, 'the week\'s range', 'Analytics', 'text', 'Range',
                        (w) => w.value === `2026-02-25 to ${summary.json.date}`);
    await waitForWidget(page, 'the week\'s answer', 'Analytics', 'text', 'Expensive task',
                        (w) => w.value === 'No task was completed in this range.');
    await typeInto(page, 'Analytics', 'From', '2026-03-01');
    await clickButton(page, 'Analytics', 'Show range');
    await waitForWidget(page, 'the custom range', 'Analytics', 'text', 'Range',
                        (w) => w.value === `2026-03-01 to ${summary.json.date}`);
    log(`admin: Analytics shows ${summary.json.date}, the last 7 days and a custom range`);

    const users = await api(baseUrl, 'GET', '/api/v1/auth/users', { token: login.json.token });
    const popug2 = users.json.users.find((u) => u.username === 'popug2');
    assert.deepEqual({ role: popug2.role, active: popug2.active }, { role: 'accountant', active: false });
    await page.screenshot({ path: screenshot });
    log(`admin: popug2 made an accountant and deactivated in Users; screenshot ${screenshot}`);
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
}

runBrowserTest('manager.test.mjs', {
  users: [
    [kManager.username, 'manager', kManager.password],
    ...kWorkers.map((worker) => [worker, 'worker', 'correct-horse']),
    ['counter', 'accountant', 'correct-horse'],
    ['root', 'admin', 'correct-horse'],
  ],
  serveArgs: ['--fake-clock', kFakeClock],
}, async ({ args, ates, browser }) => {
  await managerScenario(browser, ates.baseUrl, args.artifacts);
  await rolesScenario(browser, ates.baseUrl, args.artifacts);
  await adminUsersScenario(browser, ates.baseUrl, args.artifacts);
});
