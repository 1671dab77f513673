/**
 * bench:dashboard — the wall display in headless Chromium: as deployed, then under a 100k stress.
 *
 *   npm run bench:dashboard [-- --phase both --city-sensors 2000 --city-seconds 20 --sensors 100000
 *                              --seconds 12 --incidents 40 --screenshot wall.png]
 *
 * Each phase starts its own platform — a real dashboard server (createDashboardServer over a fresh
 * embedded ClickHouse store and in-process bus, as `npm start` runs it) serving the built static
 * export (`npm run build -w @cityops/dashboard` first) for a generated city of 25 districts — and
 * its own browser (no cache), logs in as a `wall` account and opens the wall. `--phase city|stress`
 * runs one of them; the default runs both, city first.
 *
 * Phase "city" — the wall as deployed: `--city-sensors` (2,000, an order of magnitude above the
 * demo city's 240) reporting every second, `--incidents` (≥ 40) red incidents over
 * `--city-seconds` (≥ 20) s. Figures:
 * - first_render_ms: navigation start → the first map frame drawn with the city's sensors
 *   (deck.gl onAfterRender, `window.__cityopsPerf.mapFirstFrameMs`), cold load;
 * - incident_to_wall_p50_ms / incident_to_wall_p99_ms: each incident is stamped with its creation
 *   time when published on the bus; a MutationObserver in the page stamps when its row appears in
 *   the wall's incident list (DOM commit, before paint); incidents_unseen: rows still missing a
 *   minute after the window (their latency is counted up to then, a lower bound);
 * - where the time goes, per incident (p50 / p99): incident_to_socket_* (creation → the server's
 *   write of the `incident` SSE frame to the wall's response), incident_socket_backlog_max_bytes
 *   (bytes still unsent on that response when the frame was written: readings it queued behind),
 *   incident_socket_to_page_* (→ the page's EventSource dispatching it, stamped by a listener the
 *   bench adds in an init script: network, SSE parsing, main-thread queueing) and
 *   incident_page_to_row_* (→ the row in the DOM: the feed's 50 ms emit delay, React's render and
 *   whatever else holds the main thread);
 *   fps_city, long_tasks_city (main-thread tasks over 50 ms in the window) and their longest.
 *
 * Phase "stress" — `--sensors` (100,000) reporting every second, `--incidents` (≥ 30) over
 * `--seconds` (≥ 10) s. Figures:
 * - renderer: WEBGL_debug_renderer_info's UNMASKED_RENDERER (SwiftShader = software);
 * - first_render_100k_ms: as first_render_ms, at this size;
 * - fps_100k: requestAnimationFrame callbacks per second over the window while readings for
 *   every sensor arrive each second, with the incidents pulsing on the map; map_fps_100k is the
 *   frames deck.gl actually drew in that window (it draws only when something changed);
 * - js_update_ms: main-thread time the page spent applying one second's readings for all sensors
 *   (decode of the packed event + the typed-array loop + attribute invalidation), from the page's
 *   own performance.now() pairs (`__cityopsPerf.readingsApplyMs`); p50 (the headline) and p99
 *   over the window. Not included: Chromium's own SSE parsing before the event reaches the page;
 * - incident_to_wall_100k_p50_ms / _p99_ms, incidents_unseen_100k and the same breakdown with
 *   a `_100k` suffix: as in the city phase. With a software renderer each map frame blocks the
 *   page for seconds, so these measure the renderer more than the platform.
 *
 * Readings are produced like ingest does (NDJSON batches of 1,000 per bus message, the decoded
 * records remembered for co-located consumers), in this process: the server side competes with
 * the browser for the same cores, as on a one-box install. The 1-minute load average is printed
 * before and after, because the figures depend on what else the machine runs.
 *
 * BENCH_DEBUG=1 also prints the page's console, a state probe every 10 s and a CPU profile of the
 * page's main thread over each measured window (by function) — how the software renderer was found to
 * be the bottleneck. The profiler slows the page: figures printed with it are not comparable.
 *
 * Figures in order, the headline (js_update_ms, target ≤ 8) last:
 *   loadavg_1m_before;
 *   city: city_sensors, [renderer when the stress phase does not run], first_render_ms, fps_city,
 *     long_tasks_city, long_task_max_city_ms, incident_to_socket_p50_ms, incident_to_socket_p99_ms,
 *     incident_socket_backlog_max_bytes, incident_socket_to_page_p50_ms, incident_socket_to_page_p99_ms,
 *     incident_page_to_row_p50_ms, incident_page_to_row_p99_ms, incidents_unseen,
 *     incident_to_wall_p50_ms, incident_to_wall_p99_ms;
 *   stress: sensors, renderer, first_render_100k_ms, fps_100k, map_fps_100k, readings_events_applied,
 *     incident_to_socket_100k_p50_ms, incident_to_socket_100k_p99_ms,
 *     incident_socket_backlog_max_100k_bytes, incident_socket_to_page_100k_p50_ms,
 *     incident_socket_to_page_100k_p99_ms, incident_page_to_row_100k_p50_ms,
 *     incident_page_to_row_100k_p99_ms, incidents_unseen_100k, incident_to_wall_100k_p50_ms,
 *     incident_to_wall_100k_p99_ms, js_update_p99_ms;
 *   loadavg_1m_after, js_update_ms (stress phase; absent with --phase city).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
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
import { createInProcessBus, type Bus } from '@cityops/bus';
import { openStore } from '@cityops/store';
import { createDashboardServer, openAuth, type Basemap, type GeoJsonFeature } from '@cityops/dashboard';

const { values: args } = parseArgs({
  options: {
    phase: { type: 'string', default: 'both' },
    'city-sensors': { type: 'string', default: '2000' },
    'city-seconds': { type: 'string', default: '20' },
    sensors: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '12' },
    incidents: { type: 'string', default: '40' },
    /** A PNG of the wall after each measured window (`wall.png` → `wall-city.png`, `wall-stress.png`). */
    screenshot: { type: 'string' },
  },
});
const PHASES = { city: ['city'], stress: ['stress'], both: ['city', 'stress'] } as const;
const phaseArg = args.phase;
if (!(phaseArg in PHASES)) {
  console.error(`bench:dashboard: --phase expected city, stress or both; got '${phaseArg}'`);
  process.exit(1);
}
const PHASES_TO_RUN: readonly ('city' | 'stress')[] = PHASES[phaseArg as keyof typeof PHASES];
const CHROMIUM = '/usr/bin/chromium';
const OUT_DIR = fileURLToPath(new URL('../dashboard/out/', import.meta.url));
const READINGS_PER_MESSAGE = 1000;
const WALL_LOGIN = 'wall-bench';
const DEBUG = process.env.BENCH_DEBUG === '1';

for (const [what, path] of [
  ['Chromium', CHROMIUM],
  ['the built wall (npm run build -w @cityops/dashboard)', join(OUT_DIR, 'index.html')],
] as const) {
  if (!existsSync(path)) {
    console.error(`bench:dashboard needs ${what}: ${path} is missing`);
    process.exit(1);
  }
}

/* ---------- a generated city: 5×5 districts, sensors spread over them ---------- */

const LON0 = 121.3;
const LAT0 = 31.1;
const CELL_W = 0.06;
const CELL_H = 0.05;
const GRID = 5;

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

function generateSensors(count: number): Sensor[] {
  let seed = 20260101;
  const random = (): number => {
    // Park–Miller LCG: the same city every run.
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  return Array.from({ length: count }, (_, i): Sensor => {
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
}
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

/** One second of readings for every sensor, packed as ingest packs them. */
async function publishReadings(bus: Bus, sensors: readonly Sensor[]): Promise<void> {
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
const ms = (x: number): number => Math.round(x);

/* ---------- instrumentation ---------- */

/** The server's write of each `incident` SSE frame to a wall's response, and how much it queued behind. */
interface SocketStamps {
  at: Map<string, number>;
  backlogBytes: Map<string, number>;
}

/**
 * Stamps the `incident` frames the dashboard writes to a live-stream response. The hub writes each
 * event as one string `event: <name>\ndata: <json>\n\n` (live-hub.ts), so the frame's first line
 * names it; the incident id is the record's first `"id"` key.
 */
function stampIncidentWrites(res: ServerResponse, stamps: SocketStamps): void {
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string' && chunk.startsWith('event: incident\n')) {
      const id = /"id":"([^"]+)"/.exec(chunk)?.[1];
      if (id !== undefined && !stamps.at.has(id)) {
        stamps.at.set(id, Date.now());
        stamps.backlogBytes.set(id, res.writableLength);
      }
    }
    return write(chunk, ...rest);
  }) as typeof res.write;
}

/*
 * Page scripts go as text: tsx's keepNames would wrap inner functions in a __name() the page lacks.
 * Both run outside the page's CSP (CDP), and neither changes what the wall does: the first adds one
 * listener to the wall's own EventSource, before the wall's listeners, to stamp when each incident
 * event is dispatched on the main thread; the second stamps each incident row's first DOM commit.
 */
const STAMP_INCIDENT_EVENTS = `(() => {
  const at = {};
  window.__benchEventAt = at;
  const Native = window.EventSource;
  window.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      this.addEventListener('incident', (event) => {
        const id = /"id":"([^"]+)"/.exec(String(event.data))?.[1];
        if (id !== undefined) at[id] ??= performance.timeOrigin + performance.now();
      });
    }
  };
})()`;
const STAMP_INCIDENT_ROWS_AND_LONG_TASKS = `(() => {
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
  const longTasks = [];
  window.__benchLongTasks = longTasks;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push(e.duration);
  }).observe({ type: 'longtask' });
})()`;

interface PhaseOptions {
  name: 'city' | 'stress';
  sensorCount: number;
  windowS: number;
  incidents: number;
  screenshot: string | undefined;
}

interface PhaseResult {
  renderer: string;
  firstRenderMs: number;
  fps: number;
  mapFps: number;
  /** js_update per full readings event in the window. */
  applied: number[];
  longTasksMs: number[];
  unseen: number;
  /** Per incident, ms: creation → row (unseen ones: up to when the bench stopped waiting). */
  toWall: number[];
  toSocket: number[];
  socketBacklogBytes: number[];
  socketToPage: number[];
  pageToRow: number[];
}

/**
 * Starts a CPU profile of the page's main thread; the returned function stops it and prints the
 * top functions by self time (BENCH_DEBUG, over the measured window: what the incidents wait behind).
 */
async function profilePage(context: BrowserContext, page: Page): Promise<() => Promise<void>> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
  return async () => {
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
    for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.error(`[profile] ${Math.round(t)} ms ${k}`);
  };
}

/** One phase: its own store, bus, server and browser, torn down before it returns. */
async function runPhase(o: PhaseOptions): Promise<PhaseResult> {
  const sensors = generateSensors(o.sensorCount);
  const wallPassword = `bench-${randomUUID()}`;
  const dataDir = await mkdtemp(join(tmpdir(), `cityops-bench-dashboard-${o.name}-`));
  const store = await openStore({ kind: 'embedded', dataDir: join(dataDir, 'clickhouse') });
  const bus = createInProcessBus();
  const { auth } = await openAuth({ dataDir, initialAdminPassword: `bench-${randomUUID()}`, apiKeyReloadIntervalMs: 0 });
  const dashboard = createDashboardServer({ store, bus, basemap, auth, staticDir: OUT_DIR, liveGroupId: `bench-dashboard-live-${o.name}` });
  const socket: SocketStamps = { at: new Map(), backlogBytes: new Map() };
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/stream') === true) stampIncidentWrites(res, socket);
    void dashboard.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  let pump: NodeJS.Timeout | undefined;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    await store.migrate();
    await store.insert('areas', areas);
    await store.insert('departments', departments);
    await store.insert('cameras', cameras);
    await store.insert('sensors', sensors);
    await auth.users.create({ login: WALL_LOGIN, role: 'wall', password: wallPassword, mustChangePassword: false });
    await dashboard.start();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // No --disable-gpu: a machine with a GPU uses it; without one Chromium falls back to SwiftShader.
      args: ['--no-sandbox', '--disable-background-networking', '--no-first-run', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
    });
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: WALL_LOGIN, password: wallPassword }),
    });
    const session = /cityops_session=([^;]*)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
    if (login.status !== 200 || session === undefined)
      throw new Error(`wall login: expected 200 with a session cookie; got ${login.status}`);
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
    await context.addCookies([{ name: 'cityops_session', value: session, url: base, httpOnly: true, sameSite: 'Strict' }]);
    await context.addInitScript(STAMP_INCIDENT_EVENTS);
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error(`[wall page error, ${o.name}] ${error.message}`));
    if (DEBUG) page.on('console', (m) => console.error(`[wall console, ${o.name}] ${m.text()}`));

    // Readings flow before the page opens, as on a running platform.
    await publishReadings(bus, sensors);
    pump = setInterval(() => void publishReadings(bus, sensors), 1000);

    await page.goto(`${base}/`);
    if (DEBUG) {
      const probe = setInterval(() => {
        void page
          .evaluate(
            `JSON.stringify({ perf: window.__cityopsPerf, res: performance.getEntriesByType('resource').map((r) => [r.name.slice(-40), Math.round(r.responseEnd)]) })`,
          )
          .then(
            (x) => console.error(`[probe ${o.name} ${Date.now()}] ${String(x).slice(0, 1500)}`),
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
    // Two full readings events applied: the stream is live and every sensor is known.
    await until('two readings events for every sensor', 60_000, () =>
      page.evaluate(
        (n) =>
          ((window as { __cityopsPerf?: { readingsCount: number[] } }).__cityopsPerf?.readingsCount ?? []).filter((c) => c >= n).length >=
          2,
        o.sensorCount,
      ),
    );

    await page.evaluate(STAMP_INCIDENT_ROWS_AND_LONG_TASKS);
    const appliedBefore = await page.evaluate(
      () => (window as unknown as { __cityopsPerf: { readingsApplyMs: number[] } }).__cityopsPerf.readingsApplyMs.length,
    );

    const stopProfile = DEBUG ? await profilePage(context, page) : undefined;
    // The measured window: readings every second, an incident every windowS / incidents seconds.
    const created = new Map<string, number>();
    const incidentsDone = (async () => {
      const spacingMs = (o.windowS * 1000) / o.incidents;
      for (let n = 0; n < o.incidents; n++) {
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
          if (t - t0 < ${o.windowS * 1000}) requestAnimationFrame(loop);
          else resolve();
        };
        requestAnimationFrame(loop);
      });
      const seconds = (performance.now() - t0) / 1000;
      return { fps: rafs / seconds, mapFps: (perf.mapFrames - mapFramesBefore) / seconds };
    })()`);
    await incidentsDone;
    await stopProfile?.();
    // A renderer that blocks the page for seconds per frame can leave incidents unseen for long:
    // wait up to a minute, then count the unseen ones at the time waited (a lower bound).
    await until('every incident on the wall', 60_000, () =>
      page.evaluate(
        (ids) => ids.every((id) => (window as unknown as { __benchSeen: Record<string, number> }).__benchSeen[id] !== undefined),
        [...created.keys()],
      ),
    ).catch(() => undefined);
    const waitedUntil = Date.now();
    const stamps = await page.evaluate(() => {
      const w = window as unknown as {
        __benchSeen: Record<string, number>;
        __benchEventAt: Record<string, number>;
        __benchLongTasks: number[];
      };
      return { seen: w.__benchSeen, eventAt: w.__benchEventAt, longTasks: w.__benchLongTasks };
    });
    const applied = await page.evaluate(
      ({ from, n }) => {
        const perf = (window as unknown as { __cityopsPerf: { readingsApplyMs: number[]; readingsCount: number[] } }).__cityopsPerf;
        return perf.readingsApplyMs.slice(from).filter((_, k) => (perf.readingsCount[from + k] ?? 0) >= n);
      },
      { from: appliedBefore, n: o.sensorCount },
    );
    if (o.screenshot !== undefined) {
      // Best effort: a software renderer can hold the page past any reasonable screenshot timeout.
      await page
        .screenshot({ path: o.screenshot, timeout: 120_000 })
        .catch((error: unknown) => console.error(`screenshot skipped: ${error instanceof Error ? error.message : String(error)}`));
    }
    if (applied.length < o.windowS / 2)
      throw new Error(`${o.name} phase: expected a readings event a second in the window; the page applied ${applied.length}`);

    // Each stage only for the incidents that reached both of its ends.
    const stage = (from: (id: string) => number | undefined, to: (id: string) => number | undefined): number[] =>
      [...created.keys()].flatMap((id) => {
        const a = from(id);
        const b = to(id);
        return a === undefined || b === undefined ? [] : [b - a];
      });
    return {
      renderer,
      firstRenderMs,
      fps: frames.fps,
      mapFps: frames.mapFps,
      applied,
      longTasksMs: stamps.longTasks,
      unseen: [...created.keys()].filter((id) => stamps.seen[id] === undefined).length,
      toWall: [...created].map(([id, at]) => (stamps.seen[id] ?? waitedUntil) - at),
      toSocket: stage(
        (id) => created.get(id),
        (id) => socket.at.get(id),
      ),
      socketBacklogBytes: [...socket.backlogBytes.values()],
      socketToPage: stage(
        (id) => socket.at.get(id),
        (id) => stamps.eventAt[id],
      ),
      pageToRow: stage(
        (id) => stamps.eventAt[id],
        (id) => stamps.seen[id],
      ),
    };
  } finally {
    clearInterval(pump);
    await browser?.close();
    await dashboard.stop();
    server.closeAllConnections();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    await bus.close();
    await auth.close();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const screenshotFor = (name: string): string | undefined => args.screenshot?.replace(/(\.png)?$/i, `-${name}.png`);
const incidentsArg = Number(args.incidents);

console.log(`loadavg_1m_before=${round(loadavg()[0] ?? 0, 2)}`);
let headline: number | undefined;
for (const name of PHASES_TO_RUN) {
  if (name === 'city') {
    const r = await runPhase({
      name,
      sensorCount: Number(args['city-sensors']),
      windowS: Math.max(20, Number(args['city-seconds'])),
      incidents: Math.max(40, incidentsArg),
      screenshot: screenshotFor(name),
    });
    console.log(`city_sensors=${Number(args['city-sensors'])}`);
    if (!PHASES_TO_RUN.includes('stress')) console.log(`renderer=${r.renderer}`);
    console.log(`first_render_ms=${ms(r.firstRenderMs)}`);
    console.log(`fps_city=${round(r.fps)}`);
    console.log(`long_tasks_city=${r.longTasksMs.length}`);
    console.log(`long_task_max_city_ms=${ms(Math.max(0, ...r.longTasksMs))}`);
    console.log(`incident_to_socket_p50_ms=${ms(percentile(r.toSocket, 50))}`);
    console.log(`incident_to_socket_p99_ms=${ms(percentile(r.toSocket, 99))}`);
    console.log(`incident_socket_backlog_max_bytes=${Math.max(0, ...r.socketBacklogBytes)}`);
    console.log(`incident_socket_to_page_p50_ms=${ms(percentile(r.socketToPage, 50))}`);
    console.log(`incident_socket_to_page_p99_ms=${ms(percentile(r.socketToPage, 99))}`);
    console.log(`incident_page_to_row_p50_ms=${ms(percentile(r.pageToRow, 50))}`);
    console.log(`incident_page_to_row_p99_ms=${ms(percentile(r.pageToRow, 99))}`);
    console.log(`incidents_unseen=${r.unseen}`);
    console.log(`incident_to_wall_p50_ms=${ms(percentile(r.toWall, 50))}`);
    console.log(`incident_to_wall_p99_ms=${ms(percentile(r.toWall, 99))}`);
  } else {
    const sensorCount = Number(args.sensors);
    const r = await runPhase({
      name,
      sensorCount,
      windowS: Math.max(10, Number(args.seconds)),
      incidents: Math.max(30, incidentsArg),
      screenshot: screenshotFor(name),
    });
    console.log(`sensors=${sensorCount}`);
    console.log(`renderer=${r.renderer}`);
    console.log(`first_render_100k_ms=${ms(r.firstRenderMs)}`);
    console.log(`fps_100k=${round(r.fps)}`);
    console.log(`map_fps_100k=${round(r.mapFps)}`);
    console.log(`readings_events_applied=${r.applied.length}`);
    console.log(`incident_to_socket_100k_p50_ms=${ms(percentile(r.toSocket, 50))}`);
    console.log(`incident_to_socket_100k_p99_ms=${ms(percentile(r.toSocket, 99))}`);
    console.log(`incident_socket_backlog_max_100k_bytes=${Math.max(0, ...r.socketBacklogBytes)}`);
    console.log(`incident_socket_to_page_100k_p50_ms=${ms(percentile(r.socketToPage, 50))}`);
    console.log(`incident_socket_to_page_100k_p99_ms=${ms(percentile(r.socketToPage, 99))}`);
    console.log(`incident_page_to_row_100k_p50_ms=${ms(percentile(r.pageToRow, 50))}`);
    console.log(`incident_page_to_row_100k_p99_ms=${ms(percentile(r.pageToRow, 99))}`);
    console.log(`incidents_unseen_100k=${r.unseen}`);
    console.log(`incident_to_wall_100k_p50_ms=${ms(percentile(r.toWall, 50))}`);
    console.log(`incident_to_wall_100k_p99_ms=${ms(percentile(r.toWall, 99))}`);
    console.log(`js_update_p99_ms=${round(percentile(r.applied, 99), 2)}`);
    headline = percentile(r.applied, 50);
  }
}
console.log(`loadavg_1m_after=${round(loadavg()[0] ?? 0, 2)}`);
if (headline !== undefined) console.log(`js_update_ms=${round(headline, 2)}`);
