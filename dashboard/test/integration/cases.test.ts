import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import {
  createIncidentsApi,
  engineBackend,
  IncidentEngine,
  readResponsibilityTableFile,
  type IncidentDetail,
  type IncidentList,
} from '@cityops/incidents';
import type { EarlyWarning } from '@cityops/schemas';
import type { ApiErrorBody, DashboardServer } from '../../src/index.js';
import { createDashboardServer } from '../../src/index.js';
import { serveOnLocalhost, type ServedDashboard } from '../fixtures/serve.js';
import { addUser, ApiClient, createTestAuth, type TestAuth } from '../fixtures/auth.js';
import { BASEMAP, createMemoryQueries } from '../fixtures/demo-city.js';

/*
 * The commanders' case API through the dashboard's HTTP layer, on a real incident engine and the
 * shipped responsibility table: the role check of the route (authorize.ts) and the department
 * rules of @cityops/incidents both answer with HTTP statuses, and a report comes out as CSV.
 */

const table = await readResponsibilityTableFile();
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 255]);
const SNAPSHOT = {
  header: {
    id: 'snapshot:w-cam-1',
    schema_version: 1 as const,
    camera_id: 'cam-1',
    ts: Date.now() - 30_000,
    warning_id: 'w-cam-1',
    width: 64,
    height: 64,
    format: 'png' as const,
    masked: true,
    model_version: 'yolox@1',
  },
  png: PNG,
};
const now = Date.now();

function warning(over: Partial<EarlyWarning>): EarlyWarning {
  return {
    id: `w-${Math.random().toString(36).slice(2)}`,
    schema_version: 1,
    ts: now - 60_000,
    level: 'orange',
    kind: 'waterlogging',
    area_id: 'hb.binhai',
    source_kind: 'sensor',
    source_id: 's-water-1',
    lon: 121.5,
    lat: 31.2,
    title: 'Water level 55 cm',
    reasons: ['water level 55 cm, expected below 10 cm'],
    score: 12,
    evidence_ids: [],
    produced_by: 'anomaly-worker/rolling-robust-z@1',
    machine_made: true,
    ...over,
  };
}

interface Harness {
  bus: Bus;
  dashboard: DashboardServer;
  served: ServedDashboard;
  base: string;
  t: TestAuth;
  waterCase: string;
}

async function start(): Promise<Harness> {
  const bus = createInProcessBus();
  const t = await createTestAuth();
  const engine = new IncidentEngine({ table, clock: () => now });
  const opened = engine.onWarning(warning({}));
  if (opened.outcome !== 'opened') throw new Error(`expected the warning to open a case; got ${opened.outcome}`);
  const { queries } = createMemoryQueries({ incidents: [opened.incident], snapshots: [SNAPSHOT] });
  const dashboard = createDashboardServer({
    store: { queries },
    bus,
    basemap: BASEMAP,
    auth: t.auth,
    incidents: createIncidentsApi({ backend: engineBackend(engine), clock: () => now }),
    staticDir: join(tmpdir(), 'cityops-no-such-dir'),
    liveGroupId: `cases-test-${Math.random().toString(36).slice(2)}`,
  });
  await dashboard.start();
  const served = await serveOnLocalhost(dashboard);
  const base = served.base;
  const lead = opened.incident.department_id;
  await addUser(t.auth, 'wall-1', 'wall');
  await addUser(t.auth, 'chief', 'commander');
  await addUser(t.auth, 'lead-duty', 'commander', lead);
  await addUser(t.auth, 'other-duty', 'commander', lead === 'dept.traffic' ? 'dept.water' : 'dept.traffic');
  await addUser(t.auth, 'ana', 'analyst');
  return { bus, dashboard, served, base, t, waterCase: opened.incident.id };
}

async function stop(h: Harness): Promise<void> {
  await h.served.close();
  await h.bus.close();
  await h.t.cleanup();
}

const errorOf = (body: unknown) => (body as ApiErrorBody).error;

describe('case API through the dashboard (integration)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await start();
  });
  afterEach(async () => {
    await stop(h);
  });

  it('lists and details cases for every role that reads the city, scoped to the department', async () => {
    const wall = await ApiClient.login(h.base, 'wall-1');
    const list = await wall.get<IncidentList>('/api/cases?status=open,dispatched');
    expect(list.status).toBe(200);
    expect(list.body.items.map((c) => c.incident.id)).toEqual([h.waterCase]);
    const detail = await wall.get<IncidentDetail>(`/api/cases/${h.waterCase}`);
    expect(detail.status).toBe(200);
    expect(detail.body.case.incident.kind).toBe('waterlogging');
    // A wall display may look, not act: the UI hides the buttons, the API says so too.
    expect(detail.body.allowed).toEqual([]);

    const other = await ApiClient.login(h.base, 'other-duty');
    expect((await other.get<IncidentList>('/api/cases')).body.items).toEqual([]);
    const hidden = await other.get(`/api/cases/${h.waterCase}`);
    expect(hidden.status).toBe(404);
  });

  it('lets the lead department accept its case, and refuses others with 403 or 404 from the API', async () => {
    const wall = await ApiClient.login(h.base, 'wall-1');
    const refused = await wall.post(`/api/cases/${h.waterCase}/accept`, {});
    expect(refused.status).toBe(403);
    expect(errorOf(refused.body).message).toMatch(/incidents:act/);

    const other = await ApiClient.login(h.base, 'other-duty');
    expect((await other.post(`/api/cases/${h.waterCase}/accept`, {})).status).toBe(404);

    const lead = await ApiClient.login(h.base, 'lead-duty');
    // Only the command center reassigns; the department's duty officer cannot.
    const reassign = await lead.post(`/api/cases/${h.waterCase}/reassign`, { department_id: 'dept.traffic' });
    expect(reassign.status).toBe(403);
    const accepted = await lead.post<{ incident: { status: string } }>(`/api/cases/${h.waterCase}/accept`, { note: 'crew on the way' });
    expect(accepted.status).toBe(200);
    expect(accepted.body.incident.status).toBe('accepted');
    expect((await lead.post(`/api/cases/${h.waterCase}/accept`, {})).status).toBe(409);
  });

  it('answers 400 for an unknown field and 404 for an unknown action', async () => {
    const chief = await ApiClient.login(h.base, 'chief');
    const bad = await chief.post(`/api/cases/${h.waterCase}/comment`, { text: 'ok', colour: 'red' });
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body).message).toMatch(/unknown field 'colour'/);
    expect((await chief.post(`/api/cases/${h.waterCase}/teleport`, {})).status).toBe(404);
    expect((await chief.post(`/api/cases/${h.waterCase}/comment`, { text: 'pumps requested' })).status).toBe(200);
  });

  it("serves a camera warning's masked snapshot as PNG to every role that reads the city, and 404 for an unknown one", async () => {
    const wall = await ApiClient.login(h.base, 'wall-1');
    const res = await fetch(`${h.base}/api/snapshots/${SNAPSHOT.header.id}`, { headers: { cookie: wall.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(PNG))).toBe(true);
    expect((await wall.get('/api/snapshots/snapshot:nope')).status).toBe(404);
    expect((await fetch(`${h.base}/api/snapshots/${SNAPSHOT.header.id}`)).status).toBe(401);
  });

  it('gives analysts the daily report as JSON and as a CSV download, and refuses it to a wall display', async () => {
    const ana = await ApiClient.login(h.base, 'ana');
    const json = await ana.get<{ total: number; period: string }>('/api/reports/incidents?period=day');
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ period: 'day', total: 1 });
    const csv = await ana.get('/api/reports/incidents?period=week&format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="incidents-week.csv"/);
    // RFC 4180 line ends, so spreadsheet tools read it as is.
    expect(csv.text.split('\r\n')[0]).toBe('section,key,value');
    const wall = await ApiClient.login(h.base, 'wall-1');
    expect((await wall.get('/api/reports/incidents')).status).toBe(403);
  });
});
