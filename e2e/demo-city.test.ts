import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { Incident } from '@cityops/schemas';
import { cliIsBuilt, startCityOps, waitFor, type CityOpsProcess } from './cityops-process.js';

/*
 * The acceptance of the platform, as a new user meets it: `cityops all` on a fresh data
 * directory, the demo city running, an injected incident becoming a warning and a dispatched
 * incident, bad input rejected to the dead-letter table, and a restart on the same data keeping
 * history without duplicating a row. The simulator runs 30× faster than real time so the first
 * injected incident arrives in seconds.
 */
const built = cliIsBuilt();
if (!built) console.warn('SKIP e2e/demo-city: cli/dist is not built — run `npm test` (it builds first) or `npm run build`.');
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const requireAll = process.env.CITYOPS_REQUIRE_ALL_SUITES === '1';
if (!hasChromium && !requireAll) console.warn(`SKIP e2e wall display check: ${CHROMIUM} is missing (Debian package chromium)`);

/** The administrator's password after the first login replaced the printed one-time password. */
const ADMIN_PASSWORD = 'e2e operations passphrase';

/**
 * Logs in as the first-start administrator with the one-time password the process printed,
 * replaces it as the login page makes one do, and returns the session cookie.
 */
async function adminSession(app: CityOpsProcess): Promise<string> {
  const oneTime = /one-time password: (\S+)/.exec(app.output())?.[1];
  if (oneTime === undefined) throw new Error(`expected the first start to print a one-time password; got:\n${app.output()}`);
  const login = await fetch(`${app.baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: 'admin', password: oneTime }),
  });
  expect(login.status).toBe(200);
  const me = (await login.json()) as { must_change_password: boolean; csrf_token: string };
  expect(me.must_change_password).toBe(true);
  const cookie = /cityops_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0] ?? '';
  const changed = await fetch(`${app.baseUrl}/api/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': me.csrf_token },
    body: JSON.stringify({ current_password: oneTime, new_password: ADMIN_PASSWORD }),
  });
  expect(changed.status).toBe(200);
  return /cityops_session=[^;]+/.exec(changed.headers.get('set-cookie') ?? '')?.[0] ?? '';
}

describe.skipIf(!built)('the demo city from one command', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cityops-e2e-'));
  const env = { CITYOPS_DATA_DIR: dataDir, CITYOPS_SIM_SPEEDUP: '30' };
  let app: CityOpsProcess;
  let cookie: string;

  beforeAll(async () => {
    app = await startCityOps(env);
    cookie = await adminSession(app);
  });
  afterAll(async () => {
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves health with tables and running workers', async () => {
    const h = await app.health();
    expect(h.bus.kind).toBe('in-process');
    expect(h.store.kind).toBe('chdb');
    expect(h.workers.map((w) => w.name)).toEqual(expect.arrayContaining(['sink', 'anomaly', 'forecast', 'incidents', 'simulator']));
    expect(h.workers.every((w) => w.state === 'running')).toBe(true);
  });

  it('turns an injected incident into a warning and an incident dispatched to a department', async () => {
    const h = await waitFor(
      'a warning, an incident and a dispatch order in the store',
      async () => {
        const r = await app.health();
        return (r.tables.warnings ?? 0) > 0 && (r.tables.incidents ?? 0) > 0 && (r.tables.dispatches ?? 0) > 0 ? r : undefined;
      },
      120_000,
    );
    expect(h.tables.readings).toBeGreaterThan(200);
    expect((await fetch(`${app.baseUrl}/api/incidents?limit=10`)).status).toBe(401);
    const { incidents } = (await (await fetch(`${app.baseUrl}/api/incidents?limit=10`, { headers: { cookie } })).json()) as {
      incidents: Incident[];
    };
    expect(incidents.some((i) => i.department_id !== '' && i.status === 'dispatched')).toBe(true);
  });

  it.runIf(hasChromium || requireAll)('shows live sensors and the dispatched incident on the wall display', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
      // The wall sends an anonymous browser to the login page.
      await page.goto(app.baseUrl);
      await page.getByTestId('login-form').waitFor({ timeout: 30_000 });
      await page.getByTestId('login-name').fill('admin');
      await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
      await page.getByTestId('login-submit').click();
      await page.waitForURL(`${app.baseUrl}/`, { timeout: 30_000 });
      await page.getByTestId('city-map').locator('canvas').first().waitFor();
      // Every demo sensor reporting live: the KPI reads "240 / 240" once the first second arrives.
      await expect
        .poll(async () => page.locator('.kpi-value').filter({ hasText: '/ 240' }).innerText(), { timeout: 30_000 })
        .toMatch(/^240\s*\/\s*240$/);
      await expect.poll(async () => page.getByTestId('incident-row').count(), { timeout: 30_000 }).toBeGreaterThan(0);
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: 'test-results/e2e-demo-city-wall.png' });
    } finally {
      await browser.close();
    }
  });

  it('rejects bad readings with named fields, dead-letters them, and keeps the valid ones', async () => {
    const now = Date.now();
    const body = [
      { sensor_id: 'e2e-good-1', kind: 'water_level', ts: now, value: 12.5 },
      { sensor_id: 'e2e-bad-type', kind: 'water_level', ts: now, value: 'high' },
      { sensor_id: 'e2e-bad-range', kind: 'water_level', ts: now, value: 99_999 },
      { sensor_id: 'e2e-bad-ts', kind: 'water_level', ts: Math.floor(now / 1000), value: 1 },
      { sensor_id: 'e2e-bad-kind', kind: 'lava_flow', ts: now, value: 1 },
    ];
    const before = (await app.health()).tables.dead_letters ?? 0;
    const res = await fetch(`${app.baseUrl}/api/ingest/readings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': app.apiKey },
      body: JSON.stringify(body),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const answer = (await res.json()) as { accepted: number; rejected: number; errors: { index: number; errors: { path: string }[] }[] };
    expect(answer.accepted).toBe(1);
    expect(answer.rejected).toBe(4);
    const paths = new Map(answer.errors.map((e) => [e.index, e.errors.map((f) => f.path)]));
    expect(paths.get(1)).toContain('/value');
    expect(paths.get(2)).toContain('/value');
    expect(paths.get(3)).toContain('/ts');
    expect(paths.get(4)).toContain('/kind');
    await waitFor('4 more dead letters', async () => ((await app.health()).tables.dead_letters ?? 0) >= before + 4 || undefined, 30_000);

    const unauthorised = await fetch(`${app.baseUrl}/api/ingest/readings`, {
      method: 'POST',
      body: '[]',
      headers: { 'content-type': 'application/json' },
    });
    expect(unauthorised.status).toBe(401);
    const oversized = await fetch(`${app.baseUrl}/api/ingest/readings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': app.apiKey },
      body: `[${'{"sensor_id":"x","kind":"water_level","ts":1767225600000,"value":1},'.repeat(200_000)}{}]`,
    });
    expect(oversized.status).toBe(413);
    expect((await app.health()).status).not.toBe('failing');
  });

  it('keeps history and duplicates nothing across a stop and a start on the same data directory', async () => {
    const beforeStop = await app.health();
    expect(await app.stop()).toBe(0);
    app = await startCityOps({ ...env, CITYOPS_SIMULATOR: '0' });
    // The accounts survive the restart, and no new password is printed.
    expect(app.output()).not.toContain('one-time password');
    const relogin = await fetch(`${app.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'admin', password: ADMIN_PASSWORD }),
    });
    expect(relogin.status).toBe(200);
    const after = await app.health();
    // The anomaly worker resumed every series it had (from <dataDir>/anomaly-state.bin), not warming up again.
    const anomalyBefore = beforeStop.workers.find((w) => w.name === 'anomaly')!;
    const anomalyAfter = after.workers.find((w) => w.name === 'anomaly')!;
    expect(anomalyBefore.counters['series']).toBeGreaterThanOrEqual(200);
    expect(anomalyAfter.counters['series_restored']).toBeGreaterThanOrEqual(anomalyBefore.counters['series'] ?? 0);
    expect(app.output()).toMatch(/anomaly.*resumed \d+ series/);
    for (const table of ['readings', 'warnings', 'incidents', 'dispatches', 'dead_letters'] as const) {
      expect(after.tables[table], table).toBeGreaterThanOrEqual(beforeStop.tables[table] ?? 0);
    }
    // Re-sending what was already accepted must not add rows: ids are stable.
    const ts = Date.now();
    const one = [{ sensor_id: 'e2e-replay', kind: 'power_load', ts, value: 300 }];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${app.baseUrl}/api/ingest/readings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': app.apiKey },
        body: JSON.stringify(one),
      });
      expect(r.status).toBe(202);
    }
    await waitFor(
      'the replayed reading stored',
      async () => ((await app.health()).tables.readings ?? 0) > (after.tables.readings ?? 0) || undefined,
      30_000,
    );
    const final = await app.health();
    expect(final.tables.readings).toBe((after.tables.readings ?? 0) + 1);
  });
});
