import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { defaultResponsibilityTablePath, openTableSource, type TableSource } from '@cityops/incidents';
import { encodeDimension, TOPICS, type Area, type RunningWorker } from '@cityops/schemas';
import { openEmbeddedStore, startSink, type Store } from '@cityops/store';
import { createDashboardServer } from '../src/index.js';
import { addUser, createTestAuth, TEST_PASSWORD, type TestAuth } from './fixtures/auth.js';
import { browserSuitePrerequisites, OUT_DIR, RESULTS_DIR, serveInBrowser, type BrowserHarness } from './fixtures/browser.js';
import { BASEMAP } from './fixtures/demo-city.js';

/*
 * An administrator on a phone-sized screen in headless Chromium adds a sensor through the admin
 * page's form: the record goes out on the in-process bus, the real sink stores it in the embedded
 * ClickHouse, and the list (reloaded from the store) shows it. Then a broken responsibility
 * table is refused with its line, shown in the editor. Screenshots: test-results/admin-catalog-*.png.
 * Skipped, like the other browser suites, without /usr/bin/chromium or a built out/.
 */

const missing = browserSuitePrerequisites('admin catalog', ['login', 'admin']);

const AREA: Area = {
  id: 'hb.riverside',
  schema_version: 1,
  name_zh: '滨河区',
  name_en: 'Riverside',
  population: 80_000,
  geometry: JSON.stringify({
    type: 'Polygon',
    coordinates: [
      [
        [121.4, 31.2],
        [121.5, 31.2],
        [121.5, 31.3],
        [121.4, 31.2],
      ],
    ],
  }),
  lon: 121.45,
  lat: 31.25,
};

describe.skipIf(missing.length > 0)('administrator manages the catalog in the browser', () => {
  let dir: string;
  let store: Store;
  let bus: Bus;
  let sink: RunningWorker;
  let rules: TableSource;
  let t: TestAuth;
  let h: BrowserHarness;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityops-admin-browser-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    await store.migrate();
    bus = createInProcessBus({ retryDelayMs: 10 });
    sink = await startSink({ bus, store, writer: { flushIntervalMs: 10 } });
    // The district exists already, as the simulator or an earlier admin would have published it.
    await bus.producer().send(TOPICS.dimensions, [encodeDimension({ name: 'Area', record: AREA })]);
    await vi.waitFor(async () => expect(await store.queries.areas()).toHaveLength(1), { timeout: 20_000, interval: 50 });
    rules = await openTableSource({ path: join(dir, 'responsibility.yaml'), seedFrom: defaultResponsibilityTablePath(), watchFile: false });
    t = await createTestAuth();
    await addUser(t.auth, 'ops', 'admin');
    const dashboard = createDashboardServer({ store, bus, basemap: BASEMAP, staticDir: OUT_DIR, auth: t.auth, rules });
    await dashboard.start();
    h = await serveInBrowser(dashboard);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    rules?.close();
    await sink?.stop();
    await bus?.close();
    await store?.close();
    await t?.cleanup();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('adds a sensor from the form on a phone and sees it listed from the store', async () => {
    const page = await h.logIn('ops', TEST_PASSWORD, '/admin', 'phone');
    const section = page.getByTestId('catalog-sensors');
    await section.waitFor({ timeout: 30_000 });
    await expect.poll(() => section.getByText('暂无记录').count(), { timeout: 15_000 }).toBe(1);

    const form = page.getByTestId('create-sensors');
    await form.locator('input[name=id]').fill('s-riverside-gauge');
    await form.locator('input[name=name]').fill('滨河下穿积水计');
    await form.locator('select[name=kind]').selectOption('water_level');
    await form.locator('select[name=area_id]').selectOption(AREA.id);
    await form.locator('input[name=lon]').fill('121.452');
    await form.locator('input[name=lat]').fill('31.251');
    await form.locator('button[type=submit]').click();

    await expect.poll(() => page.getByTestId('sensors-message').innerText(), { timeout: 15_000 }).toContain('s-riverside-gauge');
    await expect.poll(() => page.getByTestId('sensors-row').count(), { timeout: 15_000 }).toBe(1);
    const row = await page.getByTestId('sensors-row').innerText();
    expect(row).toContain('s-riverside-gauge');
    expect(row).toContain('滨河区');
    expect(row).toContain('(cm)');
    expect(await store.queries.sensors()).toEqual([
      {
        id: 's-riverside-gauge',
        schema_version: 1,
        kind: 'water_level',
        area_id: AREA.id,
        name: '滨河下穿积水计',
        lon: 121.452,
        lat: 31.251,
        unit: 'cm',
      },
    ]);
    // The page fits the phone: nothing but the tables' own scrollers is wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await section.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS_DIR, 'admin-catalog-phone-sensor.png') });

    // A form mistake comes back from the API naming the field.
    await form.locator('input[name=id]').fill('s-riverside-2');
    await form.locator('input[name=name]').fill('second');
    await form.locator('select[name=area_id]').selectOption(AREA.id);
    await form.locator('input[name=lon]').fill('500');
    await form.locator('input[name=lat]').fill('31.2');
    await form.locator('button[type=submit]').click();
    await expect.poll(() => page.getByTestId('sensors-message').innerText(), { timeout: 15_000 }).toContain("field 'lon'");
    expect(await page.getByTestId('sensors-row').count()).toBe(1);

    // Retiring asks for the reason in the row; the sensor moves to the retired list, and back.
    await page.getByTestId('retire-s-riverside-gauge').click();
    const retireForm = page.getByTestId('retire-s-riverside-gauge-form');
    await retireForm.locator('input[name=reason]').fill('拆除改造');
    await retireForm.locator('button[type=submit]').click();
    await expect.poll(() => page.getByTestId('sensors-row').count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('retired-row').innerText(), { timeout: 15_000 }).toContain('拆除改造');
    expect(await store.queries.sensors()).toEqual([]);
    await page.getByTestId('restore-s-riverside-gauge').click();
    const restoreForm = page.getByTestId('restore-s-riverside-gauge-form');
    await restoreForm.locator('input[name=reason]').fill('改造完成');
    await restoreForm.locator('button[type=submit]').click();
    await expect.poll(() => page.getByTestId('sensors-row').count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId('retired-row').count()).toBe(0);
  }, 120_000);

  it('shows the line of a mistake in the responsibility table and keeps the version in force', async () => {
    const page = await h.logIn('ops', TEST_PASSWORD, '/admin', 'desk');
    const editor = page.getByTestId('rules-editor');
    await expect.poll(() => page.getByTestId('rules-version').innerText(), { timeout: 30_000 }).toBe('2026-11-22.1');
    const yaml = await editor.inputValue();
    const broken = yaml
      .replace("version: '2026-11-22.1'", "version: '2026-11-22.2'")
      .replace('department: dept.water', 'department: dept.waters');
    const line = broken.split('\n').findIndex((l) => l.includes('dept.waters')) + 1;
    await editor.fill(broken);
    await page.getByTestId('rules-save').click();
    const problems = page.getByTestId('rules-problems');
    await expect.poll(() => problems.innerText(), { timeout: 15_000 }).toContain(`line ${line}:`);
    await problems.getByRole('button').first().click();
    expect(await page.getByTestId('rules-version').innerText()).toBe('2026-11-22.1');
    expect(rules.current().version).toBe('2026-11-22.1');
    await problems.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS_DIR, 'admin-catalog-rules-error.png') });

    await editor.fill(broken.replace('department: dept.waters', 'department: dept.water'));
    await page.getByTestId('rules-save').click();
    await expect.poll(() => page.getByTestId('rules-version').innerText(), { timeout: 15_000 }).toBe('2026-11-22.2');
    expect(await page.getByTestId('rules-saved').innerText()).toContain('2026-11-22.1 → 2026-11-22.2');
    expect(rules.current().version).toBe('2026-11-22.2');
  }, 120_000);
});
