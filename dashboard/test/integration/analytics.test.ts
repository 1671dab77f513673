import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import type {
  ApiErrorBody,
  DashboardServer,
  ForecastTrackRecordResponse,
  IndicatorForecastsResponse,
  IndicatorsResponse,
  IndicatorTicksResponse,
  IndicatorWarningsResponse,
} from '../../src/index.js';
import { createDashboardServer } from '../../src/index.js';
import { serveOnLocalhost, type ServedDashboard } from '../fixtures/serve.js';
import { addUser, ApiClient, createTestAuth, type TestAuth } from '../fixtures/auth.js';
import { BASEMAP, createMemoryQueries, marketHistory, warning } from '../fixtures/demo-city.js';

/*
 * The analysts' API (issue 5) through the real server: who may read it (analytics:read —
 * analysts, commanders, admins; not a wall display), JSON and CSV answers, and a 400 naming the
 * parameter for every malformed one.
 */

const HOUR = 3_600_000;
const now = Date.now();
const last = Math.floor(now / HOUR) * HOUR;
const market = marketHistory(now);

let bus: Bus;
let dashboard: DashboardServer;
let served: ServedDashboard;
let base: string;
let t: TestAuth;
/** One login each: logins are rate-limited per account (5 a minute). */
const signedIn: Record<'wall' | 'ana' | 'chief' | 'root', ApiClient> = {} as Record<'wall' | 'ana' | 'chief' | 'root', ApiClient>;

beforeAll(async () => {
  bus = createInProcessBus();
  t = await createTestAuth();
  const { queries } = createMemoryQueries({
    marketTicks: market.ticks,
    forecasts: market.forecasts,
    // A sensor warning in the same hours must not show among the market warnings.
    warnings: [...market.warnings, warning({ ts: last - 2 * HOUR })],
  });
  dashboard = createDashboardServer({
    store: { queries },
    bus,
    basemap: BASEMAP,
    auth: t.auth,
    clock: () => now,
    staticDir: join(tmpdir(), 'cityops-no-such-dir'),
    liveGroupId: `analytics-test-${Math.random().toString(36).slice(2)}`,
  });
  await dashboard.start();
  served = await serveOnLocalhost(dashboard);
  base = served.base;
  await addUser(t.auth, 'wall-1', 'wall');
  await addUser(t.auth, 'chief', 'commander');
  await addUser(t.auth, 'ana', 'analyst');
  await addUser(t.auth, 'root', 'admin');
  signedIn.wall = await ApiClient.login(base, 'wall-1');
  for (const login of ['ana', 'chief', 'root'] as const) signedIn[login] = await ApiClient.login(base, login);
});

afterAll(async () => {
  await served.close();
  await bus.close();
  await t.cleanup();
});

const errorOf = (body: unknown) => (body as ApiErrorBody).error;
const range = `from=${last - 24 * HOUR}&to=${last + 12 * HOUR}`;

const ROUTES = [
  '/api/indicators',
  `/api/indicators/cpi.pork/ticks?${range}`,
  `/api/indicators/cpi.pork/forecasts?${range}`,
  `/api/indicators/cpi.pork/warnings?${range}`,
  `/api/forecast-track-record?indicator_id=cpi.pork`,
];

describe('analyst API (integration)', () => {
  it.each(ROUTES.map((r) => [r]))('%s: 200 for analyst, commander and admin; 403 for a wall display', async (route) => {
    for (const login of ['ana', 'chief', 'root'] as const) expect((await signedIn[login].get(route)).status, `${login} ${route}`).toBe(200);
    const refused = await signedIn.wall.get(route);
    expect(refused.status).toBe(403);
    expect(errorOf(refused.body).message).toMatch(/analytics:read/);
    expect((await new ApiClient(base).get(route)).status).toBe(401);
  });

  it('lists the indicators, realised values, forecasts with intervals and market warnings of a range', async () => {
    const ana = signedIn.ana;
    const indicators = await ana.get<IndicatorsResponse>('/api/indicators');
    expect(indicators.body.indicators.map((i) => i.id)).toEqual(['cpi.pork', 'fx.cny']);

    const ticks = await ana.get<IndicatorTicksResponse>(`/api/indicators/cpi.pork/ticks?${range}`);
    expect(ticks.body).toMatchObject({ indicator_id: 'cpi.pork', from: last - 24 * HOUR, to: last + 12 * HOUR });
    expect(ticks.body.ticks.length).toBe(25);
    expect(ticks.body.ticks.every((x, i, all) => i === 0 || all[i - 1]!.ts < x.ts)).toBe(true);

    const forecasts = await ana.get<IndicatorForecastsResponse>(`/api/indicators/cpi.pork/forecasts?${range}`);
    expect(forecasts.body.forecasts.length).toBeGreaterThan(0);
    for (const f of forecasts.body.forecasts) {
      expect(f.target_ts).toBeGreaterThanOrEqual(last - 24 * HOUR);
      expect(f.lower).toBeLessThanOrEqual(f.mean);
      expect(f.upper).toBeGreaterThanOrEqual(f.mean);
    }

    const warnings = await ana.get<IndicatorWarningsResponse>(`/api/indicators/cpi.pork/warnings?${range}`);
    expect(warnings.body.warnings.map((w) => w.level)).toEqual(['orange']);
    const wider = await ana.get<IndicatorWarningsResponse>(`/api/indicators/cpi.pork/warnings?from=${last - 48 * HOUR}&to=${now}`);
    expect(wider.body.warnings.map((w) => w.level)).toEqual(['orange', 'yellow']);
  });

  it('scores each model on the forecasts whose target time has passed', async () => {
    const ana = signedIn.ana;
    const answer = await ana.get<ForecastTrackRecordResponse>(`/api/forecast-track-record?from=${last - 72 * HOUR}&to=${last + 24 * HOUR}`);
    expect(answer.status).toBe(200);
    // `to` is clamped to now: forecasts still in the future are not scored.
    expect(answer.body.to).toBe(now);
    const byModel = new Map(answer.body.records.map((r) => [r.model, r]));
    expect([...byModel.keys()].sort()).toEqual(['ets', 'seasonal-naive']);
    expect(byModel.get('ets')).toMatchObject({ indicator_id: 'cpi.pork', coverage: 1, tolerance_ms: 30 * 60_000 });
    expect(byModel.get('ets')!.mae).toBeLessThan(0.01);
    expect(byModel.get('seasonal-naive')!.mae).toBeCloseTo(1.2, 1);
    expect(byModel.get('seasonal-naive')!.bias).toBeCloseTo(-1.2, 1);
    expect(byModel.get('seasonal-naive')!.coverage).toBeLessThan(0.95);
    expect(byModel.get('ets')!.last_target_ts).toBeLessThanOrEqual(now);
  });

  it('answers format=csv as an RFC 4180 attachment', async () => {
    const ana = signedIn.ana;
    const cases: [string, string][] = [
      [`/api/indicators/cpi.pork/ticks?${range}&format=csv`, 'time_utc,ts,indicator_id,value,unit'],
      [`/api/indicators/cpi.pork/forecasts?${range}&format=csv`, 'target_time_utc,target_ts,issued_at_utc,issued_at,horizon_step,mean'],
      [`/api/indicators/cpi.pork/warnings?${range}&format=csv`, 'time_utc,ts,id,level,kind,title,reasons'],
      ['/api/forecast-track-record?indicator_id=cpi.pork&format=csv', 'indicator_id,model,model_version,forecasts,mae,bias,coverage_95'],
    ];
    for (const [route, header] of cases) {
      const csv = await ana.get(route);
      expect(csv.status, route).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
      expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="[\w.-]+\.csv"$/);
      expect(csv.text.split('\r\n')[0]!.startsWith(header), `${route}: ${csv.text.slice(0, 120)}`).toBe(true);
      expect(csv.text.endsWith('\r\n')).toBe(true);
    }
    const ticks = await ana.get(`/api/indicators/cpi.pork/ticks?${range}&format=csv`);
    expect(ticks.text.trimEnd().split('\r\n').length).toBe(1 + 25);
  });

  it.each([
    [`/api/indicators/cpi.pork/ticks?from=yesterday`, 'from'],
    [`/api/indicators/cpi.pork/ticks?to=1700000000`, 'to'],
    [`/api/indicators/cpi.pork/ticks?from=${now}&to=${now - HOUR}`, 'from'],
    [`/api/indicators/cpi.pork/ticks?from=${now - 200 * 24 * HOUR}&to=${now}`, 'from'],
    [`/api/indicators/cpi.pork/forecasts?limit=0`, 'limit'],
    [`/api/indicators/cpi.pork/forecasts?format=xlsx`, 'format'],
    [`/api/indicators/cpi.pork/warnings?limit=abc`, 'limit'],
    [`/api/indicators/cpi.pork/ticks?colour=red`, 'colour'],
    [`/api/indicators/bad%20id/ticks`, 'id'],
    [`/api/forecast-track-record?indicator_id=no.such`, 'indicator_id'],
    [`/api/forecast-track-record?indicator_id=a%20b`, 'indicator_id'],
    [`/api/forecast-track-record?from=${now + HOUR}&to=${now + 2 * HOUR}`, 'from'],
  ])('%s: 400 naming %s', async (route, name) => {
    const ana = signedIn.ana;
    const answer = await ana.get(route);
    expect(answer.status).toBe(400);
    expect(errorOf(answer.body).message).toContain(`'${name}`);
  });

  it('answers 404 for an indicator the city does not have', async () => {
    const ana = signedIn.ana;
    const answer = await ana.get('/api/indicators/no.such/forecasts');
    expect(answer.status).toBe(404);
    expect(errorOf(answer.body).message).toContain("'no.such'");
  });
});
