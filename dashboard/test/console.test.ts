import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { createIncidentsApi, engineBackend, IncidentEngine, readResponsibilityTableFile } from '@cityops/incidents';
import { encodeRecord, TOPICS, type EarlyWarning } from '@cityops/schemas';
import { createDashboardServer } from '../src/index.js';
import { addUser, createTestAuth, TEST_PASSWORD, type TestAuth } from './fixtures/auth.js';
import { browserSuitePrerequisites, OUT_DIR, RESULTS_DIR, serveInBrowser, type BrowserHarness, type Screen } from './fixtures/browser.js';
import { BASEMAP, createMemoryQueries, marketHistory } from './fixtures/demo-city.js';

/*
 * The commander's console and the analyst's view in headless Chromium (issue 7): a commander on a
 * phone-sized screen logs in, sees the case in the inbox, opens it, accepts it and sees its status
 * change (a real IncidentEngine behind the case API); an analyst sees the fan chart, the breach
 * probabilities and the track record; a wall account is shown a 403 on both pages. Screenshots
 * test-results/console-*.png and analyst-*.png. Skipped, like the other browser suites, without
 * /usr/bin/chromium or a built out/.
 */

const missing = browserSuitePrerequisites('console', ['login', 'console', 'analyst']);

const now = Date.now();

function warning(over: Partial<EarlyWarning>): EarlyWarning {
  return {
    id: `w-console-${Math.random().toString(36).slice(2)}`,
    schema_version: 1,
    ts: now - 4 * 60_000,
    level: 'red',
    kind: 'waterlogging',
    area_id: 'hb.binhai',
    source_kind: 'sensor',
    source_id: 's-water-1',
    lon: 121.5,
    lat: 31.2,
    title: 'Water level 55 cm at the Binhai underpass',
    reasons: ['water level 55 cm, expected below 10 cm'],
    score: 12,
    evidence_ids: ['anomaly-water-1'],
    produced_by: 'anomaly-worker/rolling-robust-z@1',
    machine_made: true,
    ...over,
  };
}

describe.skipIf(missing.length > 0)('commander console and analyst view in Chromium', () => {
  let bus: Bus;
  let t: TestAuth;
  let engine: IncidentEngine;
  let h: BrowserHarness;

  beforeAll(async () => {
    bus = createInProcessBus();
    const table = await readResponsibilityTableFile();
    engine = new IncidentEngine({ table, clock: () => now });
    const opened = engine.onWarning(warning({}));
    if (opened.outcome !== 'opened') throw new Error(`expected the warning to open a case; got ${opened.outcome}`);
    const market = marketHistory(now);
    const { queries, data } = createMemoryQueries({
      incidents: [opened.incident],
      incidentEvents: [...opened.events],
      marketTicks: market.ticks,
      forecasts: market.forecasts,
      warnings: market.warnings,
    });
    t = await createTestAuth();
    await addUser(t.auth, 'chief', 'commander');
    await addUser(t.auth, 'ana', 'analyst');
    await addUser(t.auth, 'wall-1', 'wall');
    const dashboard = createDashboardServer({
      store: { queries },
      bus,
      basemap: BASEMAP,
      staticDir: OUT_DIR,
      auth: t.auth,
      // What the engine records lands in the "store", as the sink would write it: the audit trail.
      incidents: createIncidentsApi({
        backend: engineBackend(engine, (changes) => data.incidentEvents.push(...changes.flatMap((c) => c.events))),
        clock: () => now,
      }),
      liveGroupId: `console-test-${Math.random().toString(36).slice(2)}`,
    });
    await dashboard.start();
    h = await serveInBrowser(dashboard);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await bus?.close();
    await t?.cleanup();
  });

  const logIn = (login: string, path: string, screen: Screen) => h.logIn(login, TEST_PASSWORD, path, screen);

  it('commander on a phone: sees the red case in the inbox, accepts it, and its status changes', async () => {
    const page = await logIn('chief', '/console', 'phone');
    const rows = page.getByTestId('case-row');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(1);
    expect(await rows.first().getAttribute('data-level')).toBe('red');
    expect(await rows.first().getAttribute('data-status')).toBe('dispatched');
    // Links to the pages a commander may open; no admin link.
    expect(await page.getByTestId('nav-analyst').count()).toBe(1);
    expect(await page.getByTestId('nav-admin').count()).toBe(0);
    expect(await page.getByTestId('sound-toggle').innerText()).toContain('开启提示音');
    await page.screenshot({ path: join(RESULTS_DIR, 'console-inbox-phone.png') });

    await rows.first().tap();
    const detail = page.getByTestId('case-detail');
    await detail.waitFor({ timeout: 15_000 });
    expect(await detail.getAttribute('data-status')).toBe('dispatched');
    expect(await page.getByTestId('evidence').innerText()).toContain('sensor:s-water-1');
    await page.screenshot({ path: join(RESULTS_DIR, 'console-detail-phone.png'), fullPage: true });

    await page.getByTestId('action-accept').tap();
    await expect.poll(() => detail.getAttribute('data-status'), { timeout: 15_000 }).toBe('accepted');
    expect(await page.getByTestId('console-notice').innerText()).toContain('接单');
    await expect.poll(() => page.getByTestId('audit-trail').innerText(), { timeout: 15_000 }).toContain('user:chief');
    expect(await page.getByTestId('audit-trail').innerText()).toContain('accepted');
    // `allowed` is what the role may do; the case's state decides the rest: a second accept is
    // refused by the engine (409) and the page shows the API's own message.
    await page.getByTestId('action-accept').tap();
    await expect.poll(() => page.getByTestId('console-error').innerText(), { timeout: 15_000 }).toMatch(/accept/);
    expect(await detail.getAttribute('data-status')).toBe('accepted');
    await page.screenshot({ path: join(RESULTS_DIR, 'console-error-phone.png') });

    // A comment needs its text.
    await page.getByTestId('comment-text').fill('pumps requested');
    await page.getByTestId('action-comment').tap();
    await expect.poll(() => page.getByTestId('console-notice').innerText(), { timeout: 15_000 }).toContain('批示');
    await page.screenshot({ path: join(RESULTS_DIR, 'console-accepted-phone.png'), fullPage: true });

    await page.getByRole('button', { name: /返回列表/ }).tap();
    await expect.poll(() => rows.first().getAttribute('data-status'), { timeout: 15_000 }).toBe('accepted');
  }, 120_000);

  it('commander on a desk: inbox and detail side by side, in English', async () => {
    const page = await logIn('chief', '/console', 'desk');
    await page.getByTestId('lang-toggle').click();
    await expect.poll(() => page.getByTestId('case-row').count(), { timeout: 30_000 }).toBe(1);
    await page.getByTestId('case-row').first().click();
    await page.getByTestId('case-detail').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('detail-status').innerText()).toBe('In progress');
    expect(await page.getByTestId('sound-toggle').innerText()).toContain('Enable sound');
    // The sound toggle is remembered (the click is also the gesture browsers want before audio).
    await page.getByTestId('sound-toggle').click();
    expect(await page.getByTestId('sound-toggle').innerText()).toContain('Sound: on');
    expect(await page.evaluate(() => window.localStorage.getItem('cityops.console.sound'))).toBe('on');

    // A new case arrives over the live stream: the inbox reloads by itself, most severe first.
    const second = engine.onWarning(
      warning({ level: 'orange', area_id: 'hb.laocheng', source_id: 's-water-9', lon: 121.3, lat: 31.0, title: 'Water level 30 cm' }),
    );
    if (second.outcome !== 'opened') throw new Error(`expected a second case; got ${second.outcome}`);
    await bus.producer().send(TOPICS.incidents, [{ key: second.incident.id, value: encodeRecord(second.incident) }]);
    await expect.poll(() => page.getByTestId('case-row').count(), { timeout: 15_000 }).toBe(2);
    expect(await page.getByTestId('case-row').nth(0).getAttribute('data-level')).toBe('red');
    expect(await page.getByTestId('case-row').nth(1).getAttribute('data-level')).toBe('orange');
    await page.screenshot({ path: join(RESULTS_DIR, 'console-desk.png') });
    // The language choice is shared with every page through localStorage.
    await page.getByTestId('lang-toggle').click();
  }, 120_000);

  it("analyst: the indicator's fan chart, breach probabilities, market warnings and track record", async () => {
    const page = await logIn('ana', '/analyst', 'desk');
    await page.getByTestId('fan-chart').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('fan-band').count()).toBe(1);
    expect(await page.getByTestId('fan-actual').count()).toBe(1);
    expect(await page.getByTestId('fan-warning').count()).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('track-row').count(), { timeout: 15_000 }).toBe(2);
    expect(await page.getByTestId('track-record').innerText()).toContain('seasonal-naive@1');
    expect(await page.getByTestId('market-warnings').innerText()).toContain('Pork price forecast to pass 31 CNY/kg');
    expect(await page.getByTestId('csv-forecasts').getAttribute('href')).toMatch(/^\/api\/indicators\/cpi\.pork\/forecasts\?.*format=csv$/);
    // An analyst may not act on cases: the console says so instead of showing buttons.
    expect(await page.getByTestId('nav-console').count()).toBe(0);
    await page.screenshot({ path: join(RESULTS_DIR, 'analyst-fan-chart.png'), fullPage: true });

    await page.getByTestId('model-picker').selectOption('seasonal-naive');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(RESULTS_DIR, 'analyst-seasonal-naive.png') });

    await page.goto(`${h.base}/console`);
    await expect.poll(() => page.getByTestId('forbidden').innerText(), { timeout: 15_000 }).toContain('incidents:act');
    expect(await page.getByTestId('case-row').count()).toBe(0);
    await page.screenshot({ path: join(RESULTS_DIR, 'analyst-console-403.png') });
  }, 120_000);

  it('wall account: a 403 on the analyst page, from the page and from the API alike', async () => {
    const page = await logIn('wall-1', '/analyst', 'desk');
    await expect.poll(() => page.getByTestId('forbidden').innerText(), { timeout: 15_000 }).toContain('analytics:read');
    expect(await page.getByTestId('fan-chart').count()).toBe(0);
    const status = await page.evaluate(async () => (await fetch('/api/indicators')).status);
    expect(status).toBe(403);
    await page.screenshot({ path: join(RESULTS_DIR, 'analyst-wall-403.png') });
  }, 120_000);
});
