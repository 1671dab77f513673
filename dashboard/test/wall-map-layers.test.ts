import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { TOPICS, encodeRecord, type Department, type Incident } from '@cityops/schemas';
import { latToTileY, lonToTileX } from '../app/_lib/raster-tiles.js';
import { createDashboardServer, type DashboardServer, type TileServerConfig } from '../src/index.js';
import { addUser, createTestAuth, TEST_PASSWORD, type TestAuth } from './fixtures/auth.js';
import { browserSuitePrerequisites, OUT_DIR, RESULTS_DIR, serveInBrowser, type BrowserHarness } from './fixtures/browser.js';
import { AREAS, BASEMAP, DEPARTMENTS, createMemoryQueries, incident } from './fixtures/demo-city.js';
import { decodePng, solidPng } from './fixtures/png.js';

/*
 * The wall map's issue-7 layers in headless Chromium: raster tiles from an on-premises tile
 * server (here a local HTTP server answering magenta PNGs, with CORS as a real one must), and the
 * departments' stations with busy/total units and a line to each dispatched incident. Without a
 * tile server, the wall must request nothing from any other origin.
 */

const missing = browserSuitePrerequisites('wall map layers', ['index', 'login']);

const MAGENTA = [255, 0, 255] as const;

/** The fixture city's stations: drainage and traffic placed, environment not (it gets no marker). */
const STATIONED: Department[] = DEPARTMENTS.map((d) =>
  d.id === 'dept-drainage'
    ? { ...d, lon: 121.455, lat: 31.215, units: 4 }
    : d.id === 'dept-traffic'
      ? { ...d, lon: 121.53, lat: 31.27, units: 1 }
      : { ...d, units: 3 },
);

/** [west, south, east, north] of the fixture city's districts. */
function cityBounds(): [number, number, number, number] {
  const rings = AREAS.map((a) => (JSON.parse(a.geometry) as { coordinates: [number, number][][] }).coordinates[0] ?? []);
  const lons = rings.flat().map((p) => p[0]);
  const lats = rings.flat().map((p) => p[1]);
  return [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
}

/** A tile server answering every /z/x/y.png with one colour, counting what was asked. */
async function startTileServer(): Promise<{ server: Server; base: string; requests: string[] }> {
  const tile = solidPng(256, 256, MAGENTA);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const m = /^\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(req.url ?? '');
    if (m === null) {
      res.writeHead(404).end();
      return;
    }
    requests.push(`${m[1]}/${m[2]}/${m[3]}`);
    // WebGL uploads a cross-origin image only when the server allowed it.
    res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
    res.end(tile);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, base: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, requests };
}

/** Pixels of the PNG within `tolerance` of `rgb` on every channel. */
function pixelsOf(png: Buffer, rgb: readonly [number, number, number], tolerance = 4): number {
  const { rgba } = decodePng(png);
  let n = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    if (
      Math.abs(rgba[i]! - rgb[0]) <= tolerance &&
      Math.abs(rgba[i + 1]! - rgb[1]) <= tolerance &&
      Math.abs(rgba[i + 2]! - rgb[2]) <= tolerance
    )
      n++;
  }
  return n;
}

async function startDashboard(
  tiles: TileServerConfig | null,
  incidents: Incident[],
): Promise<{ bus: Bus; dashboard: DashboardServer; testAuth: TestAuth }> {
  const bus = createInProcessBus();
  const { queries } = createMemoryQueries({ incidents });
  const testAuth = await createTestAuth();
  await addUser(testAuth.auth, 'wall-1', 'wall');
  const dashboard = createDashboardServer({
    store: { queries: { ...queries, departments: () => Promise.resolve(STATIONED) } },
    bus,
    basemap: BASEMAP,
    staticDir: OUT_DIR,
    liveIntervalMs: 500,
    auth: testAuth.auth,
    tiles,
  });
  await dashboard.start();
  return { bus, dashboard, testAuth };
}

describe.skipIf(missing.length > 0)('the wall map over an on-premises tile server, with department stations', () => {
  let tileServer: Awaited<ReturnType<typeof startTileServer>>;
  let bus: Bus;
  let testAuth: TestAuth;
  let harness: BrowserHarness;
  let page: Page;
  const now = Date.now();
  const [central, north] = [AREAS[0]!, AREAS[1]!];
  /** In the store before the wall opens: one incident out with the drainage authority. */
  const flooding = incident({
    opened_at: now - 10 * 60_000,
    kind: 'waterlogging',
    area_id: central.id,
    level: 'red',
    department_id: 'dept-drainage',
  });

  beforeAll(async () => {
    tileServer = await startTileServer();
    const started = await startDashboard(
      { url: `${tileServer.base}/{z}/{x}/{y}.png`, origin: tileServer.base, attribution: '© Test City GIS', max_zoom: 18 },
      [flooding],
    );
    bus = started.bus;
    testAuth = started.testAuth;
    harness = await serveInBrowser(started.dashboard);
    page = await harness.logIn('wall-1', TEST_PASSWORD, '/', 'wall');
  }, 120_000);

  afterAll(async () => {
    await harness?.close();
    await bus?.close();
    await testAuth?.cleanup();
    tileServer?.server.closeAllConnections();
    await new Promise<void>((resolve) => (tileServer ? tileServer.server.close(() => resolve()) : resolve()));
  });

  it('draws the tile server’s tiles covering the city under the basemap, with its attribution', async () => {
    const map = page.getByTestId('city-map');
    await page.locator('[data-testid=city-map] canvas').first().waitFor({ timeout: 30_000 });
    await expect.poll(() => map.getAttribute('data-tiles-loaded').then(Number), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await map.getAttribute('data-tiles')).toBe('on');

    // The tiles asked for cover the whole city at one zoom: its four corners and its centre.
    const zooms = new Set(tileServer.requests.map((r) => Number(r.split('/')[0])));
    expect(zooms.size).toBe(1);
    const z = [...zooms][0]!;
    // About 12 km across ~1,100 px: zoom 13 or so for 256-pixel tiles.
    expect(z).toBeGreaterThanOrEqual(11);
    expect(z).toBeLessThanOrEqual(15);
    const requested = new Set(tileServer.requests);
    const [w, s, e, n] = cityBounds();
    for (const [lon, lat] of [
      [w, s],
      [w, n],
      [e, s],
      [e, n],
      [(w + e) / 2, (s + n) / 2],
    ] as const) {
      expect([...requested], `tile of ${lon},${lat}`).toContain(`${z}/${Math.floor(lonToTileX(lon, z))}/${Math.floor(latToTileY(lat, z))}`);
    }
    // Each tile once: the cache holds them, and nothing failed.
    expect(tileServer.requests.length).toBe(requested.size);
    expect(requested.size).toBeLessThanOrEqual(64);
    await expect.poll(() => map.getAttribute('data-tiles-loaded').then(Number), { timeout: 30_000 }).toBe(requested.size);
    expect(await map.getAttribute('data-tiles-failed')).toBe('0');
    expect(Number(await map.getAttribute('data-tiles-drawn'))).toBe(requested.size);

    // Beneath everything else.
    const layerIds = (await map.getAttribute('data-layer-ids'))?.split(' ') ?? [];
    const firstOther = layerIds.findIndex((id) => !id.startsWith('tile-'));
    expect(layerIds.slice(0, firstOther)).toHaveLength(requested.size);
    expect(layerIds[firstOther]).toBe('districts');

    // The magenta reaches the screen where no district, road or water covers it.
    await expect
      .poll(async () => pixelsOf(await map.screenshot(), MAGENTA), { timeout: 30_000, message: 'magenta tile pixels on the map' })
      .toBeGreaterThan(20_000);
    expect(await page.getByTestId('tile-attribution').innerText()).toBe('© Test City GIS');
    await page.screenshot({ path: join(RESULTS_DIR, 'wall-map-tiles.png') });
  }, 120_000);

  it("marks each placed department's station with busy/total units, following live incidents", async () => {
    const map = page.getByTestId('city-map');
    const layerIds = (await map.getAttribute('data-layer-ids'))?.split(' ') ?? [];
    expect(layerIds).toContain('department-stations');
    expect(layerIds).toContain('dispatch-lines');
    // Over the sensors, under the incident markers.
    expect(layerIds.indexOf('dispatch-lines')).toBeGreaterThan(layerIds.indexOf('sensors'));
    expect(layerIds.indexOf('department-stations')).toBeLessThan(layerIds.indexOf('incident-markers'));

    const badge = (id: string) => page.locator(`[data-testid=station-badge][data-department-id="${id}"]`);
    // Two placed departments; the environment bureau has units but no station.
    await expect.poll(() => page.getByTestId('station-badge').count(), { timeout: 30_000 }).toBe(2);
    await expect.poll(() => badge('dept-drainage').innerText(), { timeout: 15_000 }).toBe('市排水管理处 1/4');
    expect(await badge('dept-traffic').innerText()).toBe('交警支队 0/1');

    // Live: a second case for drainage is accepted; two for traffic, which has one unit; one still waits undispatched.
    const t = Date.now();
    const live = [
      incident({ opened_at: t - 3000, kind: 'waterlogging', area_id: north.id, status: 'accepted', department_id: 'dept-drainage' }),
      incident({ opened_at: t - 2000, kind: 'congestion', area_id: north.id, level: 'orange', department_id: 'dept-traffic' }),
      incident({ opened_at: t - 1000, kind: 'stopped_vehicle', area_id: central.id, level: 'yellow', department_id: 'dept-traffic' }),
      incident({ opened_at: t, kind: 'pollution', area_id: central.id, level: 'blue', status: 'open', department_id: 'dept-drainage' }),
    ];
    await bus.producer().send(
      TOPICS.incidents,
      live.map((i) => ({ key: i.id, value: encodeRecord(i) })),
    );
    await expect.poll(() => badge('dept-drainage').innerText(), { timeout: 15_000 }).toBe('市排水管理处 2/4');
    await expect.poll(() => badge('dept-traffic').innerText(), { timeout: 15_000 }).toBe('交警支队 2/1');
    expect(await badge('dept-traffic').getAttribute('class')).toContain('is-overloaded');
    expect(await badge('dept-drainage').getAttribute('class')).not.toContain('is-overloaded');
    expect(await page.getByTestId('legend-station').isVisible()).toBe(true);
    await page.waitForTimeout(1000); // the pulse settles for the picture
    await page.screenshot({ path: join(RESULTS_DIR, 'wall-map-stations.png') });

    // Traffic resolves one: its unit is free again. In English, the names follow.
    const resolved = { ...live[1]!, status: 'resolved' as const, revision: 2, updated_at: Date.now() };
    await bus.producer().send(TOPICS.incidents, [{ key: resolved.id, value: encodeRecord(resolved) }]);
    await expect.poll(() => badge('dept-traffic').innerText(), { timeout: 15_000 }).toBe('交警支队 1/1');
    expect(await badge('dept-traffic').getAttribute('class')).not.toContain('is-overloaded');
    await page.getByTestId('lang-toggle').click();
    await expect.poll(() => badge('dept-drainage').innerText(), { timeout: 15_000 }).toBe('Drainage Authority 2/4');
    expect(await page.getByTestId('legend-station').innerText()).toContain('Department station');
  }, 120_000);
});

describe.skipIf(missing.length > 0)('the wall map without a tile server', () => {
  let bus: Bus;
  let testAuth: TestAuth;
  let harness: BrowserHarness;

  beforeAll(async () => {
    const started = await startDashboard(null, []);
    bus = started.bus;
    testAuth = started.testAuth;
    harness = await serveInBrowser(started.dashboard);
  }, 120_000);

  afterAll(async () => {
    await harness?.close();
    await bus?.close();
    await testAuth?.cleanup();
  });

  it("requests nothing from any origin but the dashboard's and draws no tile layer", async () => {
    const page = await harness.open('wall-1', 'wall');
    const origins = new Set<string>();
    page.on('request', (request) => {
      const url = new URL(request.url());
      // data: and blob: URLs (deck.gl's workers, inline images) never leave the browser.
      if (url.protocol === 'http:' || url.protocol === 'https:') origins.add(url.origin);
    });
    await page.goto(`${harness.base}/`);
    await page.getByTestId('login-form').waitFor({ timeout: 30_000 });
    await page.getByTestId('login-name').fill('wall-1');
    await page.getByTestId('login-password').fill(TEST_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${harness.base}/`, { timeout: 15_000 });
    await page.locator('[data-testid=connection].conn-live').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=city-map] canvas').first().waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('station-badge').count(), { timeout: 30_000 }).toBe(2);
    await page.waitForTimeout(2000); // anything late (fonts, workers) would have gone out by now

    const map = page.getByTestId('city-map');
    expect(await map.getAttribute('data-tiles')).toBe('off');
    expect(await map.getAttribute('data-tiles-loaded')).toBe('0');
    expect((await map.getAttribute('data-layer-ids'))?.split(' ').filter((id) => id.startsWith('tile-'))).toEqual([]);
    expect(await page.getByTestId('tile-attribution').count()).toBe(0);
    expect([...origins]).toEqual([harness.base]);
  }, 120_000);
});
