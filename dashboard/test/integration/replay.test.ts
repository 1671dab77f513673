import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { openStore, type Store } from '@cityops/store';
import type { IncidentEvent, IncidentEventType } from '@cityops/schemas';
import type { ApiErrorBody, DashboardServer, ReplayResponse } from '../../src/index.js';
import { createDashboardServer } from '../../src/index.js';
import { serveOnLocalhost, type ServedDashboard } from '../fixtures/serve.js';
import { addUser, ApiClient, createTestAuth, type TestAuth } from '../fixtures/auth.js';
import { AREAS, BASEMAP, DEPARTMENTS, SENSORS, anomaly, createMemoryQueries, incident, reading, warning } from '../fixtures/demo-city.js';

/*
 * The wall's time slider against the real embedded ClickHouse (chDB): readings, an anomaly, a
 * warning and incidents with their lifecycle written to the store, then replayed through
 * GET /api/replay — per-minute rollups averaged into frames, the lookbacks, incidents open in
 * the window with the steps that give their status over time, and the refusals.
 */

const MIN = 60_000;
/** The start of the hour before the current one: inside every table's retention. */
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
const [s0, s1] = SENSORS;
const inWindow = incident({ opened_at: T0 + 40_000, updated_at: T0 + 150_000, status: 'resolved', level: 'orange', area_id: AREAS[0]!.id });
const closedBefore = incident({ opened_at: T0 - 60 * MIN, updated_at: T0 - 30 * MIN, status: 'closed', kind: 'pollution' });
const openedAfter = incident({ opened_at: T0 + 10 * MIN, kind: 'waterlogging' });

function step(incidentId: string, ts: number, type: IncidentEventType, revision: number): IncidentEvent {
  return {
    id: `ev-${incidentId}-${revision}`,
    schema_version: 1,
    incident_id: incidentId,
    ts,
    type,
    actor: 'machine:incidents@1',
    machine_made: true,
    detail: type,
    revision,
    department_id: 'dept-traffic',
    assist_ids: [],
    severity: 50,
    priority: 'P2',
    stage: '',
    due_at: 0,
    escalation_level: 0,
    ref_ids: [],
  };
}

let dataDir: string;
let store: Store;
let bus: Bus;
let dashboard: DashboardServer;
let served: ServedDashboard;
let t: TestAuth;
let wall: ApiClient;

beforeAll(async () => {
  if (s0 === undefined || s1 === undefined) throw new Error('the fixture city has sensors');
  dataDir = mkdtempSync(join(tmpdir(), 'cityops-replay-'));
  store = await openStore({ kind: 'embedded', dataDir });
  await store.migrate();
  await store.insert('areas', AREAS);
  await store.insert('sensors', SENSORS);
  await store.insert('departments', DEPARTMENTS);
  await store.insert('readings', [
    reading(s0, T0 + 10_000, 10),
    reading(s0, T0 + 20_000, 20),
    reading(s0, T0 + 70_000, 30),
    reading(s1, T0 + 130_000, 5),
    // Outside the window: not in any frame.
    reading(s1, T0 + 200_000, 99),
  ]);
  await store.insert('anomalies', [anomaly(s0, T0 + 90_000), anomaly(s1, T0 - 10 * MIN)]);
  await store.insert('warnings', [
    warning({ ts: T0 + 30_000, area_id: AREAS[0]!.id }),
    warning({ ts: T0 - 2 * 3_600_000, kind: 'pollution' }),
  ]);
  await store.insert('incidents', [inWindow, closedBefore, openedAfter]);
  await store.insert('incident_events', [
    step(inWindow.id, T0 + 40_000, 'opened', 1),
    step(inWindow.id, T0 + 100_000, 'dispatched', 2),
    step(inWindow.id, T0 + 150_000, 'resolved', 3),
    step(inWindow.id, T0 + 20 * MIN, 'closed', 4),
  ]);
  bus = createInProcessBus();
  t = await createTestAuth();
  dashboard = createDashboardServer({
    store,
    bus,
    basemap: BASEMAP,
    auth: t.auth,
    staticDir: join(tmpdir(), 'cityops-no-such-dir'),
    liveGroupId: `replay-test-${Math.random().toString(36).slice(2)}`,
  });
  await dashboard.start();
  served = await serveOnLocalhost(dashboard);
  await addUser(t.auth, 'wall-1', 'wall');
  wall = await ApiClient.login(served.base, 'wall-1');
}, 60_000);

afterAll(async () => {
  await served?.close();
  await bus?.close();
  await t?.cleanup();
  await store?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('GET /api/replay on the embedded store (integration)', () => {
  it('averages the per-minute rollups of each sensor into one cell per frame', async () => {
    const res = await wall.get<ReplayResponse>(`/api/replay?from=${T0}&to=${T0 + 3 * MIN}&step_ms=${MIN}`);
    expect(res.status, res.text).toBe(200);
    const { sensors } = res.body;
    expect(res.body.frames).toBe(3);
    const cells = sensors.frame.map((frame, c) => ({
      frame,
      sensor: sensors.sensor_ids[sensors.sensor[c]!],
      avg: sensors.avg[c],
      count: sensors.count[c],
    }));
    expect(cells).toEqual([
      { frame: 0, sensor: s0!.id, avg: 15, count: 2 },
      { frame: 1, sensor: s0!.id, avg: 30, count: 1 },
      { frame: 2, sensor: s1!.id, avg: 5, count: 1 },
    ]);

    const wide = await wall.get<ReplayResponse>(`/api/replay?from=${T0}&to=${T0 + 3 * MIN}&step_ms=${2 * MIN}`);
    expect(wide.body.frames).toBe(2);
    expect(wide.body.sensors.avg[0]).toBe(20);
    expect(wide.body.sensors.count[0]).toBe(3);
  });

  it('carries the anomalies and warnings of the lookback before the window, and nothing older', async () => {
    const { body } = await wall.get<ReplayResponse>(`/api/replay?from=${T0}&to=${T0 + 3 * MIN}&step_ms=${MIN}`);
    expect(body.anomaly_lookback_ms).toBe(5 * MIN);
    expect(body.anomalies).toEqual([{ ts: T0 + 90_000, sensor_id: s0!.id }]);
    expect(body.warnings.map((w) => w.ts)).toEqual([T0 + 30_000]);
  });

  it('lists the incidents open during the window with the steps that give their status over time', async () => {
    const { body } = await wall.get<ReplayResponse>(`/api/replay?from=${T0}&to=${T0 + 3 * MIN}&step_ms=${MIN}`);
    expect(body.incidents.map((i) => i.id)).toEqual([inWindow.id]);
    expect(body.incident_steps).toEqual([
      { incident_id: inWindow.id, ts: T0 + 40_000, type: 'opened' },
      { incident_id: inWindow.id, ts: T0 + 100_000, type: 'dispatched' },
      { incident_id: inWindow.id, ts: T0 + 150_000, type: 'resolved' },
    ]);
  });

  it('refuses a step that is not whole minutes, a reversed window, an unknown parameter, and no session', async () => {
    const errorOf = (body: unknown) => (body as ApiErrorBody).error;
    const odd = await wall.get(`/api/replay?from=${T0}&to=${T0 + 3 * MIN}&step_ms=90000`);
    expect(odd.status).toBe(400);
    expect(errorOf(odd.body).message).toContain("'step_ms'");
    const reversed = await wall.get(`/api/replay?from=${T0 + MIN}&to=${T0}`);
    expect(reversed.status).toBe(400);
    expect(errorOf(reversed.body).message).toContain("'from'");
    expect((await wall.get(`/api/replay?from=${T0}&speed=4`)).status).toBe(400);
    expect((await new ApiClient(served.base).get('/api/replay')).status).toBe(401);
  });
});

describe('GET /api/replay without a SQL store', () => {
  it('answers 404 saying why', async () => {
    const t2 = await createTestAuth();
    const memoryBus = createInProcessBus();
    const { queries } = createMemoryQueries();
    const d = createDashboardServer({
      store: { queries },
      bus: memoryBus,
      basemap: BASEMAP,
      auth: t2.auth,
      staticDir: join(tmpdir(), 'cityops-no-such-dir'),
      liveGroupId: `replay-test-memory-${Math.random().toString(36).slice(2)}`,
    });
    await d.start();
    const s = await serveOnLocalhost(d);
    try {
      await addUser(t2.auth, 'wall-2', 'wall');
      const client = await ApiClient.login(s.base, 'wall-2');
      const res = await client.get('/api/replay');
      expect(res.status).toBe(404);
      expect((res.body as ApiErrorBody).error.message).toContain('store that answers SQL');
    } finally {
      await s.close();
      await memoryBus.close();
      await t2.cleanup();
    }
  });
});
