import { createServer, request, type Server } from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { TOPICS, encodeRecord, type EarlyWarning, type Incident } from '@cityops/schemas';
import { BASEMAP, SENSORS, createMemoryQueries, incident, reading, warning, type QueryLog } from '../test/fixtures/demo-city.js';
import { SseClient } from '../test/fixtures/sse-client.js';
import { addUser, ApiClient, createTestAuth, type TestAuth } from '../test/fixtures/auth.js';
import type { ApiErrorBody, CityResponse, LiveReadings } from './index.js';
import { createDashboardServer, type DashboardServer, type DashboardServerOptions } from './index.js';

interface Harness {
  bus: Bus;
  dashboard: DashboardServer;
  server: Server;
  base: string;
  log: QueryLog;
  /** Requests the dashboard's handle() left to the platform (resolved false). */
  passedOn: string[];
  testAuth: TestAuth;
  /** The session cookie of a logged-in wall account. */
  cookie: string;
}

async function startHarness(options: Partial<DashboardServerOptions> = {}): Promise<Harness> {
  const bus = createInProcessBus();
  const testAuth = await createTestAuth();
  await addUser(testAuth.auth, 'wall-1', 'wall');
  const { queries, log } = createMemoryQueries({ incidents: [incident({ opened_at: Date.now() - 60_000 })] });
  const dashboard = createDashboardServer({
    store: { queries },
    bus,
    basemap: BASEMAP,
    staticDir: join(tmpdir(), 'cityops-dashboard-no-such-dir'),
    liveIntervalMs: 100,
    liveGroupId: `dashboard-test-${Math.random().toString(36).slice(2)}`,
    auth: testAuth.auth,
    ...options,
  });
  await dashboard.start();
  const passedOn: string[] = [];
  const server = createServer((req, res) => {
    void dashboard.handle(req, res).then((handled) => {
      if (!handled) {
        passedOn.push(req.url ?? '');
        res.writeHead(404).end('platform 404');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const base = `http://127.0.0.1:${port}`;
  const { cookie } = await ApiClient.login(base, 'wall-1');
  cookie_ = cookie;
  return { bus, dashboard, server, base, log, passedOn, testAuth, cookie };
}

/** The newest harness's session cookie, sent by get() and the SSE clients below. */
let cookie_ = '';
const connect = (url: string) => SseClient.connect(url, { cookie: cookie_ });

async function stopHarness(h: Harness): Promise<void> {
  await h.dashboard.stop();
  h.server.closeAllConnections();
  await new Promise<void>((resolve) => h.server.close(() => resolve()));
  await h.bus.close();
  await h.testAuth.cleanup();
}

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const headers = new Headers(init.headers);
  if (!headers.has('cookie')) headers.set('cookie', cookie_);
  const res = await fetch(url, { ...init, headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function parse<T>(text: string): T {
  return JSON.parse(text) as T;
}

describe('live stream (GET /api/stream)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await stopHarness(h);
  });

  it('coalesces readings into one event per interval with the newest value per sensor', async () => {
    const client = await connect(`${h.base}/api/stream`);
    expect(client.status).toBe(200);
    await client.next((e) => e.event === 'hello');
    const [s1, s2] = SENSORS;
    if (s1 === undefined || s2 === undefined) throw new Error('fixture has sensors');
    const t = Date.now();
    // Three readings of one sensor and one of another, sent together: one event, newest values only.
    await h.bus.producer().send(TOPICS.sensorReadings, [
      { key: s1.id, value: encodeRecord(reading(s1, t, 10)) },
      { key: s1.id, value: encodeRecord(reading(s1, t + 1000, 11)) },
      { key: s1.id, value: encodeRecord(reading(s1, t + 2000, 12)) },
      { key: s2.id, value: encodeRecord(reading(s2, t + 500, 55)) },
    ]);
    // s1 must show up once, with its newest value: three readings coalesced into one entry.
    const seen = new Map<string, number>();
    while (!seen.has(s1.id) || !seen.has(s2.id)) {
      const r = parse<LiveReadings>((await client.next((e) => e.event === 'readings')).data);
      expect(r.values).toHaveLength(r.sensor_ids.length);
      expect(r.reading_ts).toHaveLength(r.sensor_ids.length);
      r.sensor_ids.forEach((id, i) => {
        expect(seen.has(id), `sensor ${id} in more than one readings event`).toBe(false);
        seen.set(id, r.values[i] ?? Number.NaN);
      });
    }
    expect(seen.get(s1.id)).toBe(12);
    expect(seen.get(s2.id)).toBe(55);
    client.close();
  });

  it('pushes a warning at once to every client, as the contract record', async () => {
    const a = await connect(`${h.base}/api/stream`);
    const b = await connect(`${h.base}/api/stream`);
    await Promise.all([a.next((e) => e.event === 'hello'), b.next((e) => e.event === 'hello')]);
    expect(h.dashboard.health().counters.sse_clients).toBe(2);
    const w = warning({ ts: Date.now(), level: 'red', kind: 'waterlogging' });
    await h.bus.producer().send(TOPICS.warnings, [{ key: w.area_id, value: encodeRecord(w) }]);
    const [ea, eb] = await Promise.all([a.next((e) => e.event === 'warning'), b.next((e) => e.event === 'warning')]);
    expect(parse<EarlyWarning>(ea.data)).toEqual(w);
    expect(eb.data).toBe(ea.data);

    const i = incident({ opened_at: Date.now(), level: 'orange' });
    await h.bus.producer().send(TOPICS.incidents, [{ key: i.id, value: encodeRecord(i) }]);
    expect(parse<Incident>((await a.next((e) => e.event === 'incident')).data)).toEqual(i);
    a.close();
    b.close();
  });

  it('drops a malformed record instead of forwarding it, and counts it', async () => {
    const client = await connect(`${h.base}/api/stream`);
    await client.next((e) => e.event === 'hello');
    const good = warning({ ts: Date.now(), kind: 'congestion' });
    await h.bus.producer().send(TOPICS.warnings, [
      { key: 'x', value: new TextEncoder().encode('{"id":"w-bad","level":"purple"}') },
      { key: 'x', value: encodeRecord(good) },
    ]);
    const e = await client.next((x) => x.event === 'warning');
    expect(parse<EarlyWarning>(e.data).id).toBe(good.id);
    expect(client.events.filter((x) => x.event === 'warning')).toHaveLength(1);
    expect(h.dashboard.health().counters.rejected_messages).toBe(1);
    client.close();
  });

  it('ends the clients when the server stops', async () => {
    const client = await connect(`${h.base}/api/stream`);
    await client.next((e) => e.event === 'hello');
    await h.dashboard.stop();
    await client.whenClosed();
    const after = await get(`${h.base}/api/stream`);
    expect(after.status).toBe(503);
    expect(parse<ApiErrorBody>(after.text).error.code).toBe('live-unavailable');
  });
});

describe('live stream heartbeats', () => {
  it('sends a heartbeat with the server clock', async () => {
    const h = await startHarness({ heartbeatIntervalMs: 50, clock: () => 1_800_000_000_000 });
    try {
      const client = await connect(`${h.base}/api/stream`);
      const hb = await client.next((e) => e.event === 'heartbeat');
      expect(parse<{ server_ts: number }>(hb.data).server_ts).toBe(1_800_000_000_000);
      client.close();
    } finally {
      await stopHarness(h);
    }
  });
});

describe('JSON API', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await stopHarness(h);
  });

  it('serves the city, the basemap and the incidents from the store', async () => {
    const city = parse<CityResponse>((await get(`${h.base}/api/city`)).text);
    expect(city.areas).toHaveLength(4);
    expect(city.sensors).toHaveLength(SENSORS.length);
    expect(city.departments.map((d) => d.id)).toContain('dept-traffic');
    const basemap = await get(`${h.base}/api/basemap`);
    expect(basemap.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(parse<typeof BASEMAP>(basemap.text)).toEqual(BASEMAP);

    const incidents = await get(`${h.base}/api/incidents?limit=5&status=open,dispatched`);
    expect(incidents.status).toBe(200);
    expect(h.log.incidents.at(-1)).toEqual({ limit: 5, statuses: ['open', 'dispatched'] });

    const events = await get(`${h.base}/api/incidents/${encodeURIComponent('inc:a/b')}/events`);
    expect(parse<{ incident_id: string }>(events.text).incident_id).toBe('inc:a/b');
    expect(h.log.incidentEvents).toEqual(['inc:a/b']);

    const series = await get(`${h.base}/api/sensors/sensor-0-0/series?from=1700000000000&to=1700003600000`);
    expect(series.status).toBe(200);
    expect(h.log.readingRollup).toEqual([{ sensorId: 'sensor-0-0', range: { fromMs: 1_700_000_000_000, toMs: 1_700_003_600_000 } }]);
  });

  it.each([
    ['/api/warnings?limit=abc', "query parameter 'limit': expected an integer from 1 to 1000; got 'abc'"],
    ['/api/warnings?limit=0', "query parameter 'limit': expected an integer from 1 to 1000; got '0'"],
    ['/api/dispatches?limit=5&limit=6', "query parameter 'limit': expected at most one value; got '5', '6'"],
    [
      '/api/incidents?status=open,lost',
      "query parameter 'status': expected a comma-separated list of open, dispatched, accepted, resolved, closed; got 'lost'",
    ],
    ['/api/warnings?limt=5', "unknown query parameter 'limt': expected one of limit; got 'limt=5'"],
    [
      '/api/sensors/sensor-0-0/series?from=1700000000',
      "query parameter 'from': expected epoch milliseconds (an integer between 2000-01-01 and 2100-01-01); got '1700000000'",
    ],
    [
      '/api/sensors/sensor-0-0/series?from=1700003600000&to=1700000000000',
      "query parameter 'from': expected a time before 'to' (1700000000000); got '1700003600000'",
    ],
    ['/api/incidents/%E2%9C%97/events', "path segment 'id': expected an id of 1–128 characters [A-Za-z0-9._:@/-]; got '✗'"],
  ])('%s → 400 naming the parameter, what was expected and what came', async (path, message) => {
    const res = await get(`${h.base}${path}`);
    expect(res.status).toBe(400);
    expect(parse<ApiErrorBody>(res.text)).toEqual({ error: { code: 'bad-request', message } });
  });

  it('answers 405 to writes, and leaves other /api paths to the platform', async () => {
    const res = await get(`${h.base}/api/warnings`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(parse<ApiErrorBody>(res.text).error.message).toBe('/api/warnings: expected GET or HEAD; got POST');
    const health = await get(`${h.base}/api/health`);
    expect(health.text).toBe('platform 404');
    expect(h.passedOn).toEqual(['/api/health']);
  });

  it('turns a failing store query into a retriable 503', async () => {
    const { queries } = createMemoryQueries();
    queries.recentWarnings = () => Promise.reject(new Error('connection refused'));
    const failing = await startHarness({ store: { queries } });
    try {
      const res = await get(`${failing.base}/api/warnings`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(parse<ApiErrorBody>(res.text).error).toEqual({ code: 'store-failed', message: 'store query failed: connection refused' });
    } finally {
      await stopHarness(failing);
    }
  });
});

describe('static files (the Next.js export)', () => {
  let dir: string;
  let h: Harness;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityops-out-'));
    await mkdir(join(dir, '_next/static/chunks'), { recursive: true });
    await writeFile(join(dir, 'index.html'), '<html>wall</html>');
    await writeFile(join(dir, 'commander.html'), '<html>commander</html>');
    await writeFile(join(dir, '404.html'), '<html>not here</html>');
    await writeFile(join(dir, '_next/static/chunks/app.js'), 'console.log(1)');
    await writeFile(join(dir, 'index.txt'), 'rsc payload');
    h = await startHarness({ staticDir: dir });
  });
  afterEach(async () => {
    await stopHarness(h);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html for /, .html for exported routes, hashed assets with a long cache', async () => {
    const root = await get(`${h.base}/`);
    expect(root.status).toBe(200);
    expect(root.text).toBe('<html>wall</html>');
    expect(root.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(root.headers.get('cache-control')).toBe('no-cache');
    // Pages may not be framed, and run no script but the dashboard's own.
    expect(root.headers.get('x-frame-options')).toBe('DENY');
    expect(root.headers.get('content-security-policy')).toContain("script-src 'self';");
    expect(root.headers.get('referrer-policy')).toBe('no-referrer');

    expect((await get(`${h.base}/commander`)).text).toBe('<html>commander</html>');

    const js = await get(`${h.base}/_next/static/chunks/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-security-policy')).toBeNull();

    const again = await get(`${h.base}/`, { headers: { 'if-none-match': root.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
  });

  it('answers 404 with the exported 404 page and never leaves the folder', async () => {
    const missing = await get(`${h.base}/no-such-page`);
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('<html>not here</html>');
    const traversal = await new Promise<number>((resolve, reject) => {
      // fetch() would normalise '..' away; send the raw path.
      const req = request(`${h.base}/..%2f..%2fetc%2fpasswd`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(traversal).toBe(404);
  });

  it('shows a friendly 503 page when out/ is not built', async () => {
    const unbuilt = await startHarness();
    try {
      const res = await get(`${unbuilt.base}/`);
      expect(res.status).toBe(503);
      expect(res.text).toContain('dashboard not built yet: run <code>npm run build</code>');
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    } finally {
      await stopHarness(unbuilt);
    }
  });
});
