import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { stableId, type Forecast, type Indicator, type MarketTick } from '@cityops/schemas';
import type { ApiErrorBody, DashboardServer, WallForecastsResponse } from '../../src/index.js';
import { createDashboardServer } from '../../src/index.js';
import { serveOnLocalhost, type ServedDashboard } from '../fixtures/serve.js';
import { addUser, ApiClient, createTestAuth, type TestAuth } from '../fixtures/auth.js';
import { BASEMAP, createMemoryQueries, INDICATORS } from '../fixtures/demo-city.js';

/*
 * GET /api/wall/forecasts: the wall's risk-forecast view reads it with the wall role's
 * city:read (the analysts' forecast routes are analytics:read), and it answers the newest
 * forecast path of the indicators most likely to breach, from known forecasts in the store.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const issued = Math.floor(Date.now() / HOUR) * HOUR;
const now = issued + 30 * 60_000;

const STALE: Indicator = { ...INDICATORS[0]!, id: 'cpi.eggs', name_zh: '鸡蛋零售价', name_en: 'Egg retail price' };

function step(indicator: string, model: string, issuedAt: number, horizon: number, breach: number): Forecast {
  const mean = 28 + horizon;
  return {
    id: stableId('forecast', indicator, model, issuedAt, horizon),
    schema_version: 1,
    indicator_id: indicator,
    issued_at: issuedAt,
    target_ts: issuedAt + horizon * HOUR,
    horizon_step: horizon,
    mean,
    lower: mean - 1,
    upper: mean + 1,
    breach_probability: breach,
    model,
    model_version: '2',
  };
}

const FORECASTS: Forecast[] = [
  // Pork, newest issue: two models; 'ets' peaks at 0.9, the wall shows its path.
  ...[0.2, 0.5, 0.9].map((p, i) => step('cpi.pork', 'ets', issued, i + 1, p)),
  ...[0.1, 0.3, 0.4].map((p, i) => step('cpi.pork', 'seasonal-naive', issued, i + 1, p)),
  // An older pork issue that breached for sure: superseded, not shown.
  ...[0.99, 0.99, 0.99].map((p, i) => step('cpi.pork', 'ets', issued - 6 * HOUR, i + 1, p)),
  // The exchange rate peaks at 0.6.
  ...[0.05, 0.6].map((p, i) => step('fx.cny', 'ets', issued - DAY, i + 1, p)),
  // Eggs: a certain breach, but forecast eight days ago (the forecaster stopped).
  step('cpi.eggs', 'ets', issued - 8 * DAY, 1, 1),
];

const TICKS: MarketTick[] = Array.from({ length: 10 }, (_, k) => {
  const ts = issued - (9 - k) * HOUR;
  return { id: stableId('tick', 'cpi.pork', ts), schema_version: 1, indicator_id: 'cpi.pork', ts, value: 27 + k / 10 };
});

let bus: Bus;
let dashboard: DashboardServer;
let served: ServedDashboard;
let t: TestAuth;
let wall: ApiClient;
let analyst: ApiClient;

beforeAll(async () => {
  bus = createInProcessBus();
  t = await createTestAuth();
  const { queries } = createMemoryQueries({ indicators: [...INDICATORS, STALE], forecasts: FORECASTS, marketTicks: TICKS });
  dashboard = createDashboardServer({
    store: { queries },
    bus,
    basemap: BASEMAP,
    auth: t.auth,
    clock: () => now,
    staticDir: join(tmpdir(), 'cityops-no-such-dir'),
    liveGroupId: `wall-forecasts-test-${Math.random().toString(36).slice(2)}`,
  });
  await dashboard.start();
  served = await serveOnLocalhost(dashboard);
  await addUser(t.auth, 'wall-1', 'wall');
  await addUser(t.auth, 'ana', 'analyst');
  wall = await ApiClient.login(served.base, 'wall-1');
  analyst = await ApiClient.login(served.base, 'ana');
});

afterAll(async () => {
  await served.close();
  await bus.close();
  await t.cleanup();
});

describe('GET /api/wall/forecasts', () => {
  it('is readable by a wall display, which still gets 403 on the analysts’ forecast route', async () => {
    expect((await wall.get('/api/wall/forecasts')).status).toBe(200);
    expect((await analyst.get('/api/wall/forecasts')).status).toBe(200);
    expect((await wall.get('/api/indicators/cpi.pork/forecasts')).status).toBe(403);
    expect((await new ApiClient(served.base).get('/api/wall/forecasts')).status).toBe(401);
  });

  it('ranks indicators by the peak breach probability of their newest forecast and leaves out stale ones', async () => {
    const res = await wall.get<WallForecastsResponse>('/api/wall/forecasts');
    expect(res.status).toBe(200);
    expect(res.body.generated_at).toBe(now);
    expect(res.body.forecasts.map((f) => [f.indicator.id, f.peak_breach_probability])).toEqual([
      ['cpi.pork', 0.9],
      ['fx.cny', 0.6],
    ]);
  });

  it('answers the newest issue’s path of the model that peaks highest, with its intervals and the ticks before it', async () => {
    const { body } = await wall.get<WallForecastsResponse>('/api/wall/forecasts?limit=1');
    expect(body.forecasts).toHaveLength(1);
    const pork = body.forecasts[0]!;
    expect(pork.indicator.risk_upper).toBe(31);
    expect(pork.path.map((f) => [f.model, f.issued_at, f.horizon_step, f.breach_probability, f.lower, f.mean, f.upper])).toEqual([
      ['ets', issued, 1, 0.2, 28, 29, 30],
      ['ets', issued, 2, 0.5, 29, 30, 31],
      ['ets', issued, 3, 0.9, 30, 31, 32],
    ]);
    // The path reaches 3 h past its issue: the ticks of the 3 h before it (and since) come with it.
    expect(pork.ticks.map((k) => k.ts)).toEqual([issued - 3 * HOUR, issued - 2 * HOUR, issued - HOUR, issued]);
  });

  it('is a 400 naming the parameter for a bad limit or an unknown parameter', async () => {
    const bad = await wall.get<ApiErrorBody>('/api/wall/forecasts?limit=50');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("'limit'");
    const unknown = await wall.get<ApiErrorBody>('/api/wall/forecasts?indicator=cpi.pork');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("'indicator'");
  });
});
