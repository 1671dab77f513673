import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { EVENT_KIND_LABELS } from '@cityops/schemas';
import { createDashboardServer } from '../src/index.js';
import { addUser, createTestAuth, TEST_PASSWORD, type TestAuth } from './fixtures/auth.js';
import { browserSuitePrerequisites, OUT_DIR, RESULTS_DIR, serveInBrowser, type BrowserHarness } from './fixtures/browser.js';
import { BASEMAP, createMemoryQueries, incident } from './fixtures/demo-city.js';

/*
 * Each role through the real login page in headless Chromium, with a screenshot per view under
 * test-results/: the first-start administrator forced to change its one-time password, then the
 * admin page; a department commander who sees its own incidents only; an analyst whom the API
 * refuses the admin page (403 shown, not just a hidden link); a wall account. Skipped, like the
 * wall-display suite, without /usr/bin/chromium or a built out/.
 */

const missing = browserSuitePrerequisites('roles', ['login', 'admin']);

describe.skipIf(missing.length > 0)('each role through the login page', () => {
  let bus: Bus;
  let t: TestAuth;
  let h: BrowserHarness;
  let base: string;

  beforeAll(async () => {
    bus = createInProcessBus();
    const now = Date.now();
    const { queries } = createMemoryQueries({
      incidents: [
        incident({
          opened_at: now - 5 * 60_000,
          level: 'orange',
          kind: 'congestion',
          department_id: 'dept-traffic',
          status: 'dispatched',
          area_id: 'area-north',
        }),
        incident({
          opened_at: now - 9 * 60_000,
          level: 'red',
          kind: 'waterlogging',
          department_id: 'dept-drainage',
          status: 'dispatched',
          area_id: 'area-central',
        }),
      ],
    });
    t = await createTestAuth();
    await addUser(t.auth, 'wall-1', 'wall');
    await addUser(t.auth, 'traffic-duty', 'commander', 'dept-traffic');
    await addUser(t.auth, 'ana', 'analyst');
    const dashboard = createDashboardServer({
      store: { queries },
      bus,
      basemap: BASEMAP,
      staticDir: OUT_DIR,
      auth: t.auth,
      liveIntervalMs: 500,
    });
    await dashboard.start();
    h = await serveInBrowser(dashboard);
    base = h.base;
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await bus?.close();
    await t?.cleanup();
  });

  /** A fresh browser (no cookies) at `path`, logged in as `login` through the login page. */
  const logIn = (login: string, password: string, path = '/') => h.logIn(login, password, path, 'wall', false);

  it('first-start administrator: must change the one-time password, then manages users', async () => {
    const first = t.firstAdmin;
    expect(first?.generated).toBe(true);
    const page = await logIn('admin', first?.password ?? '', '/admin');
    await page.getByTestId('password-form').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(RESULTS_DIR, 'roles-admin-change-password.png') });
    await page.getByTestId('current-password').fill(first?.password ?? '');
    await page.getByTestId('new-password').fill('a much better passphrase');
    await page.getByTestId('confirm-password').fill('a much better passphrase');
    await page.getByTestId('password-submit').click();
    await page.waitForURL(`${base}/admin`, { timeout: 15_000 });
    await expect.poll(() => page.getByTestId('user-row').count(), { timeout: 15_000 }).toBe(4);

    // Create a wall account from the UI: its one-time password is shown once.
    const form = page.getByTestId('create-user');
    await form.locator('input[name=login]').fill('wall-2');
    await form.locator('select[name=role]').selectOption('wall');
    await form.locator('button[type=submit]').click();
    await expect.poll(() => page.getByTestId('secret-value').innerText(), { timeout: 15_000 }).toMatch(/^[\w-]{24}$/);
    await expect.poll(() => page.getByTestId('user-row').count()).toBe(5);
    await page.getByTestId('create-key').locator('input[name=label]').fill('river gauges');
    await page.getByTestId('create-key').locator('button[type=submit]').click();
    await expect.poll(() => page.getByTestId('secret-value').innerText(), { timeout: 15_000 }).toMatch(/^co_/);
    await expect.poll(() => page.getByTestId('key-row').count()).toBe(1);
    expect(await page.getByTestId('audit-table').innerText()).toContain('user.create');
    await page.screenshot({ path: join(RESULTS_DIR, 'roles-admin.png'), fullPage: true });
    expect(t.auth.users.get('wall-2')?.must_change_password).toBe(true);
  }, 120_000);

  it("department commander: sees its own department's incidents only", async () => {
    const page = await logIn('traffic-duty', TEST_PASSWORD);
    await page.waitForURL(`${base}/`, { timeout: 15_000 });
    const rows = page.getByTestId('incident-row');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(1);
    expect(await rows.first().innerText()).toContain(EVENT_KIND_LABELS.congestion.zh);
    expect(await page.getByTestId('user-chip').innerText()).toContain('traffic-duty');
    await page.waitForTimeout(1000);
    await page.screenshot({ path: join(RESULTS_DIR, 'roles-commander-traffic.png') });
  }, 120_000);

  it('analyst: reads the wall, and the API refuses it the admin page with 403', async () => {
    const page = await logIn('ana', TEST_PASSWORD);
    await page.waitForURL(`${base}/`, { timeout: 15_000 });
    await expect.poll(() => page.getByTestId('incident-row').count(), { timeout: 30_000 }).toBe(2);
    await page.screenshot({ path: join(RESULTS_DIR, 'roles-analyst.png') });
    await page.goto(`${base}/admin`);
    await expect
      .poll(() => page.getByTestId('admin-error').innerText(), { timeout: 15_000 })
      .toContain("expected a principal with 'users:manage'");
    expect(await page.getByTestId('user-row').count()).toBe(0);
    await page.screenshot({ path: join(RESULTS_DIR, 'roles-analyst-admin-403.png') });
  }, 120_000);

  it('wall account: the full wall, without a user menu; a wrong password stays on the login page', async () => {
    const wrong = await logIn('wall-1', 'not the password');
    await expect.poll(() => wrong.getByTestId('auth-error').innerText(), { timeout: 15_000 }).toContain('账号或密码错误');
    await wrong.screenshot({ path: join(RESULTS_DIR, 'roles-login-failed.png') });

    const page = await logIn('wall-1', TEST_PASSWORD);
    await page.waitForURL(`${base}/`, { timeout: 15_000 });
    await expect.poll(() => page.getByTestId('incident-row').count(), { timeout: 30_000 }).toBe(2);
    expect(await page.getByTestId('user-chip').count()).toBe(0);
    await page.waitForTimeout(1000);
    await page.screenshot({ path: join(RESULTS_DIR, 'roles-wall.png') });
  }, 120_000);
});
