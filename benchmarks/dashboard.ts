/**
 * bench:dashboard — the wall display in headless Chromium with 100,000 live sensors.
 *
 *   npm run bench:dashboard [-- --sensors 100000 --seconds 12 --incidents 40 --screenshot wall.png]
 *
 * A real dashboard server (createDashboardServer over the embedded ClickHouse store and the
 * in-process bus, as `npm start` runs it) serves the built static export (`npm run build -w
 * @cityops/dashboard` first) for a generated city of `--sensors` sensors in 25 districts. The
 * bench logs in as a `wall` account, opens the wall in a fresh browser (no cache) and measures:
 *
 * - first_render_ms: navigation start → the first map frame drawn with the city's sensors
 *   (deck.gl onAfterRender, `window.__cityopsPerf.mapFirstFrameMs`);
 * - renderer: WEBGL_debug_renderer_info's UNMASKED_RENDERER (SwiftShader = software);
 * - fps_100k: requestAnimationFrame callbacks per second over `--seconds` (≥ 10) while readings
 *   for every sensor arrive each second, with the incidents below pulsing on the map; map_fps is
 *   the frames deck.gl actually drew in that window (it draws only when something changed);
 * - js_update_ms: main-thread time the page spent applying one second's readings for all sensors
 *   (decode of the packed event + the typed-array loop + attribute invalidation), from the page's
 *   own performance.now() pairs (`__cityopsPerf.readingsApplyMs`); p50 and p99 over the window.
 *   Not included: Chromium's own SSE parsing before the event reaches the page;
 * - incident_to_wall_p50/p99_ms: `--incidents` red incidents published on the bus over the
 *   window, each stamped with its creation time; a MutationObserver in the page stamps when its
 *   row appears in the wall's incident list.
 *
 * Readings are produced like ingest does (NDJSON batches of 1,000 per bus message, the decoded
 * records remembered for co-located consumers), in this process: the server side competes with
 * the browser for the same cores, as on a one-box install. The 1-minute load average is printed
 * before and after, because the figures depend on what else the machine runs.
 *
 * BENCH_DEBUG=1 also prints the page's console, a state probe every 10 s and a 15 s CPU profile of
 * the page's main thread (by function) — how the software renderer was found to be the bottleneck.
 *
 * Figures, the headline (js_update_ms, target ≤ 8) last:
 *   sensors, renderer, first_render_ms, fps_100k, map_fps_100k,
 *   readings_events_applied, incidents_unseen, incident_to_wall_p50_ms, incident_to_wall_p99_ms,
 *   js_update_p99_ms, loadavg_1m_before, loadavg_1m_after, js_update_ms
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import {
  SENSOR_KINDS,
  SENSOR_KIND_INFO,
  SensorReading as SensorReadingSchema,
  TOPICS,
  encodeRecord,
  entityTimeId,
  recordBatchHeaders,
  rememberDecodedRecords,
  type Area,
  type Camera,
  type Department,
  type Incident,
  type Sensor,
  type SensorReading,
} from '@cityops/schemas';
import { createInProcessBus } from '@cityops/bus';
import { openStore } from '@cityops/store';
import { createDashboardServer, openAuth, type Basemap, type GeoJsonFeature } from '@cityops/dashboard';

const { values: args } = parseArgs({
  options: {
    sensors: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '12' },
    incidents: { type: 'string', default: '40' },
    /** A PNG of the wall after the measured window, to see what was measured. */
    screenshot: { type: 'string' },
  },
});
const SENSOR_COUNT = Number(args.sensors);
const WINDOW_S = Math.max(10, Number(args.seconds));
const INCIDENTS = Math.max(30, Number(args.incidents));
const CHROMIUM = '/usr/bin/chromium';
const OUT_DIR = fileURLToPath(new URL('../dashboard/out/', import.meta.url));
const READINGS_PER_MESSAGE = 1000;
const WALL_LOGIN = 'wall-bench';
const WALL_PASSWORD = `bench-${randomUUID()}`;

for (const [what, path] of [
  ['Chromium', CHROMIUM],
  ['the built wall (npm run build -w @cityops/dashboard)', join(OUT_DIR, 'index.html')],
] as const) {
  if (!existsSync(path)) {
    console.error(`bench:dashboard needs ${what}: ${path} is missing`);
    process.exit(1);
  }
}
const loadBefore = loadavg()[0] ?? 0;

/* ---------- a generated city: 5×5 districts, sensors spread over them ---------- */

const LON0 = 121.3;
const LAT0 = 31.1;
const CELL_W = 0.06;
const CELL_H = 0.05;
const GRID = 5;
let seed = 20260101;
const random = (): number => {
  // Park–Miller LCG: the same city every run.
  seed = (seed * 48271) % 2147483647;
  return seed / 2147483647;
};

const areas: Area[] = [];
for (let row = 0; row < GRID; row++) {
  for (let col = 0; col < GRID; col++) {
    const lon = LON0 + col * CELL_W;
    const lat = LAT0 + row * CELL_H;
    const ring = [
      [lon, lat],
      [lon + CELL_W, lat],
      [lon + CELL_W, lat + CELL_H],
      [lon, lat + CELL_H],
      [lon, lat],
    ];
    const n = row * GRID + col;
    areas.push({
      id: `bench-area-${n}`,
      schema_version: 1,
      name_zh: `测试${n + 1}区`,
      name_en: `District ${n + 1}`,
      population: 200_000 + 10_000 * n,
      geometry: JSON.stringify({ type: 'Polygon', coordinates: [ring] }),
      lon: lon + CELL_W / 2,
      lat: lat + CELL_H / 2,
    });
  }
}
const sensors: Sensor[] = Array.from({ length: SENSOR_COUNT }, (_, i): Sensor => {
  const area = areas[i % areas.length]!;
  const kind = SENSOR_KINDS[i % SENSOR_KINDS.length]!;
  return {
    id: `bench-sensor-${String(i).padStart(6, '0')}`,
    schema_version: 1,
    kind,
    area_id: area.id,
    name: `${area.name_en} ${SENSOR_KIND_INFO[kind].en} ${i}`,
    lon: area.lon + (random() - 0.5) * CELL_W * 0.96,
    lat: area.lat + (random() - 0.5) * CELL_H * 0.96,
    unit: SENSOR_KIND_INFO[kind].unit,
  };
});
const cameras: Camera[] = areas.map((a, i) => ({
  id: `bench-camera-${i}`,
  schema_version: 1,
  area_id: a.id,
  name: `${a.name_en} crossing`,
  url: `file:///data/video/${i}.mp4`,
  lon: a.lon,
  lat: a.lat - CELL_H / 4,
  fps: 5,
}));
const departments: Department[] = [{ id: 'bench-dept-traffic', schema_version: 1, name_zh: '交警支队', name_en: 'Traffic Police' }];
const road = (coordinates: number[][]): GeoJsonFeature => ({
  type: 'Feature',
  geometry: { type: 'LineString', coordinates },
  properties: { class: 'primary' },
});
const basemap: Basemap = {
  roads: {
    type: 'FeatureCollection',
    features: Array.from({ length: GRID + 1 }, (_, k) => [
      road([
        [LON0, LAT0 + k * CELL_H],
        [LON0 + GRID * CELL_W, LAT0 + k * CELL_H],
      ]),
      road([
        [LON0 + k * CELL_W, LAT0],
        [LON0 + k * CELL_W, LAT0 + GRID * CELL_H],
      ]),
    ]).flat(),
  },
  water: { type: 'FeatureCollection', features: [] },
};

/* ---------- the platform: embedded store, in-process bus, dashboard ---------- */

const dataDir = await mkdtemp(join(tmpdir(), 'cityops-bench-dashboard-'));
const store = await openStore({ kind: 'embedded', dataDir: join(dataDir, 'clickhouse') });
await store.migrate();
await store.insert('areas', areas);
await store.insert('departments', departments);
await store.insert('cameras', cameras);
await store.insert('sensors', sensors);
const bus = createInProcessBus();
const { auth } = await openAuth({ dataDir, initialAdminPassword: `bench-${randomUUID()}`, apiKeyReloadIntervalMs: 0 });
await auth.users.create({ login: WALL_LOGIN, role: 'wall', password: WALL_PASSWORD, mustChangePassword: false });
const dashboard = createDashboardServer({ store, bus, basemap, auth, staticDir: OUT_DIR, liveGroupId: 'bench-dashboard-live' });
await dashboard.start();
const server = createServer((req, res) => {
  void dashboard.handle(req, res).then((handled) => {
    if (!handled) res.writeHead(404).end();
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

/** One second of readings for every sensor, packed as ingest packs them. */
async function publishReadings(): Promise<void> {
  const ts = Date.now();
  const producer = bus.producer();
  const messages = [];
  for (let from = 0; from < sensors.length; from += READINGS_PER_MESSAGE) {
    const batch: SensorReading[] = [];
    for (let i = from; i < Math.min(from + READINGS_PER_MESSAGE, sensors.length); i++) {
      const s = sensors[i]!;
      batch.push({
        id: entityTimeId(s.id, ts),
        schema_version: 1,
        sensor_id: s.id,
        kind: s.kind,
        ts,
        value: Math.round((20 + 10 * Math.sin(ts / 60_000 + i)) * 100) / 100,
        unit: s.unit,
      });
    }
    const value = new TextEncoder().encode(batch.map((r) => JSON.stringify(r)).join('\n'));
    rememberDecodedRecords(value, SensorReadingSchema, batch);
    messages.push({ key: batch[0]!.sensor_id, value, headers: recordBatchHeaders('SensorReading', batch.length) });
  }
  await producer.send(TOPICS.sensorReadings, messages);
}

function incident(n: number, createdAt: number): Incident {
  const area = areas[n % areas.length]!;
  return {
    id: `bench-incident-${n}-${createdAt}`,
    schema_version: 1,
    opened_at: createdAt,
    updated_at: createdAt,
    kind: 'congestion',
    area_id: area.id,
    lon: area.lon,
    lat: area.lat,
    level: 'red',
    status: 'open',
    title: `Bench incident ${n}`,
    department_id: '',
    warning_ids: [],
    rule_version: 'bench@1',
    revision: 1,
  };
}

const percentile = (xs: readonly number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
};
/** Polls from here: the wall's CSP forbids the eval that page.waitForFunction's polling needs. */
async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench:dashboard: waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/* ---------- the browser ---------- */

let pump: NodeJS.Timeout | undefined;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // No --disable-gpu: a machine with a GPU uses it; without one Chromium falls back to SwiftShader.
  args: ['--no-sandbox', '--disable-background-networking', '--no-first-run', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
try {
  const login = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: WALL_LOGIN, password: WALL_PASSWORD }),
  });
  const session = /cityops_session=([^;]*)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
  if (login.status !== 200 || session === undefined) throw new Error(`wall login: expected 200 with a session cookie; got ${login.status}`);
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
  await context.addCookies([{ name: 'cityops_session', value: session, url: base, httpOnly: true, sameSite: 'Strict' }]);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[wall page error] ${error.message}`));
  if (process.env.BENCH_DEBUG === '1') page.on('console', (m) => console.error(`[wall console] ${m.text()}`));

  // Readings flow before the page opens, as on a running platform.
  await publishReadings();
  pump = setInterval(() => void publishReadings(), 1000);

  await page.goto(`${base}/`);
  if (process.env.BENCH_DEBUG === '1') {
    const probe = setInterval(() => {
      void page
        .evaluate(
          `JSON.stringify({ perf: window.__cityopsPerf, res: performance.getEntriesByType('resource').map((r) => [r.name.slice(-40), Math.round(r.responseEnd)]) })`,
        )
        .then(
          (x) => console.error(`[probe ${Date.now()}] ${String(x).slice(0, 1500)}`),
          () => undefined,
        );
    }, 10_000);
    probe.unref();
  }
  await until('the first map frame with the sensors', 180_000, () =>
    page.evaluate(() => (window as { __cityopsPerf?: { mapFirstFrameMs: number | null } }).__cityopsPerf?.mapFirstFrameMs != null),
  );
  const firstRenderMs = await page.evaluate(
    () => (window as unknown as { __cityopsPerf: { mapFirstFrameMs: number } }).__cityopsPerf.mapFirstFrameMs,
  );
  const renderer = await page.evaluate(() => {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    if (gl === null) return 'no WebGL';
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    return String(gl.getParameter(info === null ? gl.RENDERER : info.UNMASKED_RENDERER_WEBGL));
  });
  if (process.env.BENCH_DEBUG === '1') {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const { profile } = (await cdp.send('Profiler.stop')) as unknown as {
      profile: {
        nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
        samples: number[];
        timeDeltas: number[];
      };
    };
    const self = new Map<string, number>();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, k) => {
      const n = byId.get(id);
      const key = n === undefined ? '?' : `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.slice(-30)}:${n.callFrame.lineNumber}`;
      self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[k] ?? 0) / 1000);
    });
    for (const [k, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.error(`[profile] ${Math.round(ms)} ms ${k}`);
  }
  // Two full readings events applied: the stream is live and every sensor is known.
  await until('two readings events for every sensor', 60_000, () =>
    page.evaluate(
      (n) =>
        ((window as { __cityopsPerf?: { readingsCount: number[] } }).__cityopsPerf?.readingsCount ?? []).filter((c) => c >= n).length >= 2,
      SENSOR_COUNT,
    ),
  );

  // Stamp when each incident row first appears in the wall's list.
  // Page scripts with inner functions go as text: tsx's keepNames would wrap them in a __name() the page lacks.
  await page.evaluate(`(() => {
    const seen = {};
    window.__benchSeen = seen;
    const stamp = (node) => {
      if (!(node instanceof Element)) return;
      const rows = node.matches('[data-incident-id]') ? [node] : Array.from(node.querySelectorAll('[data-incident-id]'));
      for (const row of rows) {
        const id = row.getAttribute('data-incident-id') ?? '';
        seen[id] ??= performance.timeOrigin + performance.now();
      }
    };
    new MutationObserver((records) => {
      for (const r of records) r.addedNodes.forEach(stamp);
    }).observe(document.body, { childList: true, subtree: true });
  })()`);
  const appliedBefore = await page.evaluate(
    () => (window as unknown as { __cityopsPerf: { readingsApplyMs: number[] } }).__cityopsPerf.readingsApplyMs.length,
  );

  // The measured window: readings every second, an incident every WINDOW_S / INCIDENTS seconds.
  const created = new Map<string, number>();
  const incidentsDone = (async () => {
    const spacingMs = (WINDOW_S * 1000) / INCIDENTS;
    for (let n = 0; n < INCIDENTS; n++) {
      const createdAt = Date.now();
      const i = incident(n, createdAt);
      created.set(i.id, createdAt);
      await bus.producer().send(TOPICS.incidents, [{ key: i.id, value: encodeRecord(i) }]);
      await new Promise((resolve) => setTimeout(resolve, spacingMs));
    }
  })();
  const frames = await page.evaluate<{ fps: number; mapFps: number }>(`(async () => {
    const perf = window.__cityopsPerf;
    const mapFramesBefore = perf.mapFrames;
    const t0 = performance.now();
    let rafs = 0;
    await new Promise((resolve) => {
      const loop = (t) => {
        rafs++;
        if (t - t0 < ${WINDOW_S * 1000}) requestAnimationFrame(loop);
        else resolve();
      };
      requestAnimationFrame(loop);
    });
    const seconds = (performance.now() - t0) / 1000;
    return { fps: rafs / seconds, mapFps: (perf.mapFrames - mapFramesBefore) / seconds };
  })()`);
  await incidentsDone;
  // A renderer that blocks the page for seconds per frame can leave incidents unseen for long:
  // wait up to a minute, then count the unseen ones at the time waited (a lower bound).
  const allSeen = await until('every incident on the wall', 60_000, () =>
    page.evaluate(
      (ids) => ids.every((id) => (window as unknown as { __benchSeen: Record<string, number> }).__benchSeen[id] !== undefined),
      [...created.keys()],
    ),
  ).then(
    () => true,
    () => false,
  );
  const seen = await page.evaluate(() => (window as unknown as { __benchSeen: Record<string, number> }).__benchSeen);
  const waitedUntil = Date.now();
  const unseen = [...created.keys()].filter((id) => seen[id] === undefined).length;
  const latencies = [...created].map(([id, at]) => (seen[id] ?? waitedUntil) - at);
  const applied = await page.evaluate(
    ({ from, n }) => {
      const perf = (window as unknown as { __cityopsPerf: { readingsApplyMs: number[]; readingsCount: number[] } }).__cityopsPerf;
      return perf.readingsApplyMs.slice(from).filter((_, k) => (perf.readingsCount[from + k] ?? 0) >= n);
    },
    { from: appliedBefore, n: SENSOR_COUNT },
  );
  if (args.screenshot !== undefined) {
    // Best effort: a software renderer can hold the page past any reasonable screenshot timeout.
    await page
      .screenshot({ path: args.screenshot, timeout: 120_000 })
      .catch((error: unknown) => console.error(`screenshot skipped: ${error instanceof Error ? error.message : String(error)}`));
  }
  if (applied.length < WINDOW_S / 2)
    throw new Error(`expected a readings event a second in the window; the page applied ${applied.length}`);

  console.log(`sensors=${SENSOR_COUNT}`);
  console.log(`renderer=${renderer}`);
  console.log(`first_render_ms=${Math.round(firstRenderMs)}`);
  console.log(`fps_100k=${round(frames.fps)}`);
  console.log(`map_fps_100k=${round(frames.mapFps)}`);
  console.log(`readings_events_applied=${applied.length}`);
  console.log(`incidents_unseen=${allSeen ? 0 : unseen}`);
  console.log(`incident_to_wall_p50_ms=${Math.round(percentile(latencies, 50))}`);
  console.log(`incident_to_wall_p99_ms=${Math.round(percentile(latencies, 99))}`);
  console.log(`js_update_p99_ms=${round(percentile(applied, 99), 2)}`);
  console.log(`loadavg_1m_before=${round(loadBefore, 2)}`);
  console.log(`loadavg_1m_after=${round(loadavg()[0] ?? 0, 2)}`);
  console.log(`js_update_ms=${round(percentile(applied, 50), 2)}`);
} finally {
  clearInterval(pump);
  await browser.close();
  await dashboard.stop();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await bus.close();
  await auth.close();
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
}
