import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { TOPICS, encodeRecord, stableId, type Forecast, type VisionDetection } from '@cityops/schemas';
import { createDashboardServer, type DashboardServer } from '../src/index.js';
import { addUser, createTestAuth, TEST_PASSWORD, type TestAuth } from './fixtures/auth.js';
import { browserSuitePrerequisites, OUT_DIR, RESULTS_DIR, serveInBrowser, type BrowserHarness } from './fixtures/browser.js';
import { AREAS, BASEMAP, CAMERAS, SENSORS, anomaly, createMemoryQueries, warning } from './fixtures/demo-city.js';

/*
 * The wall's issue-7 pieces in headless Chromium: the events heatmap (a deck.gl layer and its
 * legend entry), camera badges with the newest frame's detections (sent over the bus as the
 * vision worker does, forwarded by the live hub), and `?cycle=2` alternating the main panel
 * between the map and the risk-forecast fan charts, with a countdown and a pin.
 */

const missing = browserSuitePrerequisites('wall views', ['index', 'login']);

const HOUR = 3_600_000;

function forecastPath(indicator: string, issuedAt: number, breaches: readonly number[]): Forecast[] {
  return breaches.map((p, i) => {
    const mean = indicator === 'cpi.pork' ? 29 + i : 7 + i / 10;
    const spread = indicator === 'cpi.pork' ? 1 + i / 2 : 0.1 + i / 20;
    return {
      id: stableId('forecast', indicator, issuedAt, i + 1),
      schema_version: 1,
      indicator_id: indicator,
      issued_at: issuedAt,
      target_ts: issuedAt + (i + 1) * HOUR,
      horizon_step: i + 1,
      mean,
      lower: mean - spread,
      upper: mean + spread,
      breach_probability: p,
      model: 'ets',
      model_version: '1',
    };
  });
}

function detection(cameraId: string, frameId: string, ts: number, className: string, n: number): VisionDetection {
  return {
    id: stableId('detection', frameId, className, n),
    schema_version: 1,
    camera_id: cameraId,
    frame_id: frameId,
    ts,
    class_name: className,
    score: 0.8,
    x1: 0.1,
    y1: 0.1,
    x2: 0.2,
    y2: 0.2,
    track_id: `${className}-${n}`,
    model_version: 'yolo-test@1',
  };
}

describe.skipIf(missing.length > 0)('wall views in headless Chromium', () => {
  let bus: Bus;
  let dashboard: DashboardServer;
  let harness: BrowserHarness;
  let testAuth: TestAuth;
  let page: Page;
  const now = Date.now();
  const issued = Math.floor(now / HOUR) * HOUR;
  const central = AREAS[0]!;
  const busySensor = SENSORS[3]!;

  beforeAll(async () => {
    bus = createInProcessBus();
    const { queries } = createMemoryQueries({
      // Three warnings of the last hour at one spot, one older than the heatmap's hour.
      warnings: [
        warning({ ts: now - 5 * 60_000, area_id: central.id, kind: 'waterlogging' }),
        warning({ ts: now - 10 * 60_000, area_id: central.id, kind: 'congestion' }),
        warning({ ts: now - 20 * 60_000, area_id: central.id, kind: 'pollution' }),
        warning({ ts: now - 2 * HOUR, area_id: central.id, kind: 'power_overload' }),
      ],
      // Two anomalies of one sensor elsewhere.
      anomalies: [anomaly(busySensor, now - 3 * 60_000), anomaly(busySensor, now - 40 * 60_000)],
      forecasts: [...forecastPath('cpi.pork', issued, [0.3, 0.6, 0.85]), ...forecastPath('fx.cny', issued - 2 * HOUR, [0.05, 0.2])],
      marketTicks: Array.from({ length: 6 }, (_, k) => {
        const ts = issued - (5 - k) * HOUR;
        return { id: stableId('tick', ts), schema_version: 1, indicator_id: 'cpi.pork', ts, value: 27.5 + k / 5 };
      }),
    });
    testAuth = await createTestAuth();
    await addUser(testAuth.auth, 'wall-1', 'wall');
    dashboard = createDashboardServer({
      store: { queries },
      bus,
      basemap: BASEMAP,
      staticDir: OUT_DIR,
      liveIntervalMs: 500,
      auth: testAuth.auth,
    });
    await dashboard.start();
    harness = await serveInBrowser(dashboard);
    // The login page sends the wall back with its query: it keeps cycling after a new login.
    page = await harness.logIn('wall-1', TEST_PASSWORD, '/?cycle=2', 'wall');
  }, 120_000);

  afterAll(async () => {
    await harness?.close();
    await bus?.close();
    await testAuth?.cleanup();
  });

  it('draws the events heatmap under the sensors and badges each camera with its newest frame’s detections', async () => {
    // Pinned on the map so the cycle does not hide it while the map is checked.
    await page.getByTestId('view-tab-map').click();
    await page.locator('[data-testid=connection].conn-live').waitFor({ timeout: 30_000 });
    const map = page.getByTestId('city-map');
    await page.locator('[data-testid=city-map] canvas').first().waitFor({ timeout: 30_000 });
    const layerIds = (await map.getAttribute('data-layer-ids'))?.split(' ') ?? [];
    expect(layerIds).toContain('events-heat');
    expect(layerIds.indexOf('events-heat')).toBeLessThan(layerIds.indexOf('sensors'));
    // The three warnings of the hour share a cell; the sensor's two anomalies make another.
    await expect.poll(() => map.getAttribute('data-heat-cells'), { timeout: 15_000 }).toBe('2');
    expect(await map.getAttribute('data-heat-max')).toBe('3');
    expect(await page.getByTestId('legend-heat').isVisible()).toBe(true);

    // A live warning at the same spot warms that cell.
    await bus
      .producer()
      .send(TOPICS.warnings, [{ key: central.id, value: encodeRecord(warning({ ts: Date.now(), area_id: central.id, kind: 'crowd' })) }]);
    await expect.poll(() => map.getAttribute('data-heat-max'), { timeout: 15_000 }).toBe('4');

    // Camera 0: one frame, 3 cars and a person. Camera 1: an older frame of 5 people, then a newer one of 2 buses.
    const t = Date.now();
    const [cam0, cam1] = [CAMERAS[0]!, CAMERAS[1]!];
    const detections = [
      ...[1, 2, 3].map((n) => detection(cam0.id, 'f-0-1', t, 'car', n)),
      detection(cam0.id, 'f-0-1', t, 'person', 1),
      ...[1, 2, 3, 4, 5].map((n) => detection(cam1.id, 'f-1-1', t - 2000, 'person', n)),
      ...[1, 2].map((n) => detection(cam1.id, 'f-1-2', t, 'bus', n)),
    ];
    await bus.producer().send(
      TOPICS.visionDetections,
      detections.map((d) => ({ key: d.camera_id, value: encodeRecord(d) })),
    );
    const badges = page.getByTestId('camera-badge');
    await expect.poll(() => badges.count(), { timeout: 15_000 }).toBe(2);
    expect(await page.locator(`[data-testid=camera-badge][data-camera-id="${cam0.id}"]`).innerText()).toBe('car 3 · person 1');
    expect(await page.locator(`[data-testid=camera-badge][data-camera-id="${cam1.id}"]`).innerText()).toBe('bus 2');
    await page.waitForTimeout(1000); // the pulse and the badges settle for the picture
    await page.screenshot({ path: join(RESULTS_DIR, 'wall-views-map.png') });

    // A wall that connects later gets what the cameras saw last, though nothing new was detected.
    await page.reload();
    await expect.poll(() => page.getByTestId('camera-badge').count(), { timeout: 30_000 }).toBe(2);
  }, 120_000);

  it('cycles between the map and the risk forecasts every 2 s, with fan charts of the likeliest breaches', async () => {
    const panel = page.getByTestId('main-panel');
    // After the reload nothing is pinned: the countdown runs and the view changes by itself.
    await page.getByTestId('view-countdown').waitFor({ timeout: 15_000 });
    await expect.poll(() => panel.getAttribute('data-view'), { timeout: 15_000 }).toBe('forecasts');
    const charts = page.getByTestId('wall-forecast');
    await expect.poll(() => charts.count(), { timeout: 15_000 }).toBe(2);
    // Highest breach probability first.
    expect(await charts.first().getAttribute('data-indicator-id')).toBe('cpi.pork');
    expect(await charts.first().getByTestId('wall-forecast-breach').innerText()).toContain('85%');
    expect(await page.locator('[data-testid=wall-forecast] [data-testid=fan-band]').count()).toBe(2);
    expect(await charts.first().getByTestId('fan-actual').count()).toBe(1);
    await page.screenshot({ path: join(RESULTS_DIR, 'wall-views-forecasts.png') });
    await expect.poll(() => panel.getAttribute('data-view'), { timeout: 15_000 }).toBe('map');
    await expect.poll(() => panel.getAttribute('data-view'), { timeout: 15_000 }).toBe('forecasts');
  }, 60_000);

  it('keeps a view the operator clicked until it is clicked again', async () => {
    const panel = page.getByTestId('main-panel');
    await page.getByTestId('view-tab-forecasts').click();
    expect(await panel.getAttribute('data-view')).toBe('forecasts');
    expect(await page.getByTestId('view-countdown').count()).toBe(0);
    // Longer than a period: still pinned.
    await page.waitForTimeout(4500);
    expect(await panel.getAttribute('data-view')).toBe('forecasts');
    await page.getByTestId('view-tab-forecasts').click();
    await page.getByTestId('view-countdown').waitFor({ timeout: 5000 });
    await expect.poll(() => panel.getAttribute('data-view'), { timeout: 15_000 }).toBe('map');
  }, 60_000);
});
