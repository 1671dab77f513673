import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { openStore, type Store } from '@cityops/store';
import type { IncidentEvent, IncidentEventType } from '@cityops/schemas';
import { createDashboardServer } from '../src/index.js';
import { addUser, createTestAuth, TEST_PASSWORD, type TestAuth } from './fixtures/auth.js';
import { browserSuitePrerequisites, OUT_DIR, RESULTS_DIR, serveInBrowser, type BrowserHarness } from './fixtures/browser.js';
import { AREAS, BASEMAP, DEPARTMENTS, SENSORS, anomaly, incident, reading } from './fixtures/demo-city.js';

/*
 * The wall's time slider in headless Chromium over the real embedded store: the wall opens live,
 * the slider loads a past quarter hour from /api/replay, the same map, KPIs and incident list
 * show the incident as it was at the chosen minute (open, then resolved), and "back to live"
 * returns to the live picture. Skipped with a message without Chromium or a built out/.
 */

const missing = browserSuitePrerequisites('wall replay', ['index', 'login']);
const MIN = 60_000;
/** Two hours ago, on a whole hour: a window well in the past and inside every retention. */
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const past = incident({ opened_at: T0 + 2 * MIN, updated_at: T0 + 8 * MIN, status: 'resolved', level: 'orange', area_id: AREAS[1]!.id });

function step(ts: number, type: IncidentEventType, revision: number): IncidentEvent {
  return {
    id: `ev-replay-${revision}`,
    schema_version: 1,
    incident_id: past.id,
    ts,
    type,
    actor: 'machine:incidents@1',
    machine_made: true,
    detail: type,
    revision,
    department_id: 'dept-traffic',
    assist_ids: [],
    severity: 60,
    priority: 'P2',
    stage: '',
    due_at: 0,
    escalation_level: 0,
    ref_ids: [],
  };
}

describe.skipIf(missing.length > 0)('the wall time slider in headless Chromium', () => {
  let dataDir: string;
  let store: Store;
  let bus: Bus;
  let t: TestAuth;
  let browser: BrowserHarness;
  let page: Page;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cityops-wall-replay-'));
    store = await openStore({ kind: 'embedded', dataDir });
    await store.migrate();
    await store.insert('areas', AREAS);
    await store.insert('sensors', SENSORS);
    await store.insert('departments', DEPARTMENTS);
    // Every sensor reports each minute of the window; the first one is anomalous from minute 3.
    await store.insert(
      'readings',
      SENSORS.flatMap((s, i) => Array.from({ length: 15 }, (_, m) => reading(s, T0 + m * MIN + 5_000, 10 + i + m))),
    );
    await store.insert('anomalies', [anomaly(SENSORS[0]!, T0 + 3 * MIN)]);
    await store.insert('incidents', [past]);
    await store.insert('incident_events', [step(T0 + 2 * MIN, 'opened', 1), step(T0 + 8 * MIN, 'resolved', 2)]);
    bus = createInProcessBus();
    t = await createTestAuth();
    await addUser(t.auth, 'wall-1', 'wall');
    const dashboard = createDashboardServer({
      store,
      bus,
      basemap: BASEMAP,
      auth: t.auth,
      staticDir: OUT_DIR,
      liveGroupId: `wall-replay-${Math.random().toString(36).slice(2)}`,
    });
    await dashboard.start();
    browser = await serveInBrowser(dashboard);
    page = await browser.logIn('wall-1', TEST_PASSWORD, '/', 'wall');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await bus?.close();
    await t?.cleanup();
    await store?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('switches the wall to a past window, scrubs through it, and goes back to live', async () => {
    const wall = page.getByTestId('wall');
    await page.locator('[data-testid=connection].conn-live').waitFor({ timeout: 30_000 });
    expect(await wall.getAttribute('data-mode')).toBe('live');
    // Live: the incident is long resolved, so no open orange incident.
    await expect.poll(() => page.locator('[data-testid=incident-row]').count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId('kpi-level-orange').innerText()).toContain('0');

    await page.getByTestId('replay-toggle').click();
    const from = await page.evaluate((ms) => {
      const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
      return d.toISOString().slice(0, 16);
    }, T0);
    await page.getByTestId('replay-from').fill(from);
    await page.getByTestId('replay-span').selectOption('15');
    await page.getByTestId('replay-load').click();
    const slider = page.getByTestId('replay-slider');
    await slider.waitFor({ timeout: 30_000 });
    await expect.poll(() => wall.getAttribute('data-mode')).toBe('replay');
    expect(await page.getByTestId('replay-banner').count()).toBe(1);

    // Minute 5: the incident is open (orange, active) and the first sensor anomalous.
    await slider.fill('4');
    expect(Number(await page.getByTestId('replay-time').getAttribute('data-ts'))).toBe(T0 + 5 * MIN);
    await expect.poll(() => page.getByTestId('kpi-level-orange').innerText()).toContain('1');
    const row = page.locator(`[data-incident-id="${past.id}"]`);
    await expect.poll(() => row.getAttribute('class')).not.toContain('is-done');
    await page.screenshot({ path: join(RESULTS_DIR, 'wall-replay.png') });

    // Minute 10: resolved, as the store has it now.
    await slider.fill('9');
    await expect.poll(() => page.getByTestId('kpi-level-orange').innerText()).toContain('0');
    await expect.poll(() => row.getAttribute('class')).toContain('is-done');

    await page.getByTestId('replay-live').click();
    await expect.poll(() => wall.getAttribute('data-mode')).toBe('live');
    expect(await page.getByTestId('replay-banner').count()).toBe(0);
    expect(await page.getByTestId('replay-toggle').count()).toBe(1);
  }, 120_000);
});
