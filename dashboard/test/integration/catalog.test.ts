import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createInProcessBus, type Bus, type Consumer } from '@cityops/bus';
import {
  createIncidentsApi,
  defaultResponsibilityTablePath,
  openTableSource,
  startIncidentWorker,
  type RunningIncidentWorker,
  type TableSource,
} from '@cityops/incidents';
import {
  decodeDimension,
  encodeRecord,
  TOPICS,
  type Area,
  type Camera,
  type DimensionRecord,
  type EarlyWarning,
  type RunningWorker,
  type Sensor,
} from '@cityops/schemas';
import { openEmbeddedStore, startSink, type Store } from '@cityops/store';
import type { ApiErrorBody, DashboardServer } from '../../src/index.js';
import { createDashboardServer } from '../../src/index.js';
import type { RulesResponse, RulesSaved } from '../../src/admin/rules-routes.js';
import { addUser, ApiClient, createTestAuth, type TestAuth } from '../fixtures/auth.js';
import { BASEMAP } from '../fixtures/demo-city.js';
import { serveOnLocalhost, type ServedDashboard } from '../fixtures/serve.js';

/*
 * The administrators' catalog (cameras, sensors, areas) and responsibility-table editor against
 * a real server, the embedded ClickHouse (chDB) behind the real sink, the in-process bus and a
 * running incidents role: what the admin saves is a dimension record on city.dimensions that the
 * sink stores, or a new table version the incidents role dispatches by at its next warning —
 * and every other role is refused by the API, with the refusal audited.
 */

const AREA: Omit<Area, 'schema_version'> = {
  id: 'hb.test-north',
  name_zh: '测试北区',
  name_en: 'Test North',
  population: 120_000,
  geometry: JSON.stringify({
    type: 'Polygon',
    coordinates: [
      [
        [121.4, 31.2],
        [121.5, 31.2],
        [121.5, 31.3],
        [121.4, 31.3],
        [121.4, 31.2],
      ],
    ],
  }),
  lon: 121.45,
  lat: 31.25,
};
const CAMERA = {
  id: 'cam-test-1',
  area_id: AREA.id,
  name: 'North gate',
  url: 'rtsp://viewer:secret@10.0.0.7/stream1',
  lon: 121.44,
  lat: 31.24,
  fps: 5,
};
const SENSOR = { id: 'sensor-test-1', kind: 'water_level', area_id: AREA.id, name: 'Underpass gauge', lon: 121.46, lat: 31.26 };

let dir: string;
let store: Store;
let bus: Bus;
let sink: RunningWorker;
let rules: TableSource;
let worker: RunningIncidentWorker;
let t: TestAuth;
let dashboard: DashboardServer;
let served: ServedDashboard;
let dimensionsTap: Consumer;
const published: DimensionRecord[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityops-catalog-'));
  store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
  await store.migrate();
  bus = createInProcessBus({ retryDelayMs: 10 });
  sink = await startSink({ bus, store, writer: { flushIntervalMs: 10 } });
  // What any other reader of city.dimensions (the vision worker) is handed.
  dimensionsTap = bus.consumer({ groupId: 'catalog-test-tap', topics: [TOPICS.dimensions] });
  await dimensionsTap.run((batch) => {
    for (const m of batch.messages) {
      const d = decodeDimension(m.headers, m.value);
      if (d.ok) published.push(d.value);
    }
    return Promise.resolve();
  });
  rules = await openTableSource({ path: join(dir, 'responsibility.yaml'), seedFrom: defaultResponsibilityTablePath(), watchFile: false });
  worker = await startIncidentWorker({ bus, table: rules.current(), tableSource: rules, slaCheckIntervalMs: 100 });
  t = await createTestAuth();
  dashboard = createDashboardServer({
    store,
    bus,
    basemap: BASEMAP,
    auth: t.auth,
    rules,
    incidents: createIncidentsApi({ backend: worker.backend }),
    staticDir: join(tmpdir(), 'cityops-no-such-dir'),
    liveGroupId: `catalog-test-${Math.random().toString(36).slice(2)}`,
  });
  await dashboard.start();
  served = await serveOnLocalhost(dashboard);
  await addUser(t.auth, 'ops', 'admin');
  await addUser(t.auth, 'chief', 'commander');
  await addUser(t.auth, 'ana', 'analyst');
  await addUser(t.auth, 'wall-1', 'wall');
}, 120_000);

afterAll(async () => {
  await served?.close();
  await dimensionsTap?.stop();
  await worker?.stop();
  rules?.close();
  await sink?.stop();
  await bus?.close();
  await store?.close();
  await t?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const errorOf = (body: unknown) => (body as ApiErrorBody).error;

describe('catalog: cameras, sensors, areas (integration)', () => {
  it('publishes what the admin creates on city.dimensions; the sink stores it and the list shows it', async () => {
    const admin = await ApiClient.login(served.base, 'ops');
    const area = await admin.post<{ area: Area; stored: boolean }>('/api/admin/areas', AREA);
    expect(area.status).toBe(201);
    expect(area.body).toEqual({ area: { ...AREA, schema_version: 1 }, stored: true });

    const camera = await admin.post<{ camera: Camera; stored: boolean }>('/api/admin/cameras', CAMERA);
    expect(camera.status).toBe(201);
    expect(camera.body.stored).toBe(true);
    const sensor = await admin.post<{ sensor: Sensor; stored: boolean }>('/api/admin/sensors', SENSOR);
    expect(sensor.status).toBe(201);
    // The unit is the kind's when the form leaves it out.
    expect(sensor.body.sensor).toEqual({ ...SENSOR, schema_version: 1, unit: 'cm' });

    expect(await store.queries.cameras()).toEqual([{ ...CAMERA, schema_version: 1 }]);
    expect(await store.queries.sensors()).toEqual([{ ...SENSOR, schema_version: 1, unit: 'cm' }]);
    expect((await admin.get<{ cameras: Camera[] }>('/api/admin/cameras')).body.cameras.map((c) => c.id)).toEqual([CAMERA.id]);
    expect((await admin.get<{ sensors: Sensor[] }>('/api/admin/sensors')).body.sensors.map((s) => s.id)).toEqual([SENSOR.id]);
    // Every role's map reads them from the store too.
    const city = await admin.get<{ cameras: Camera[]; sensors: Sensor[]; areas: Area[] }>('/api/city');
    expect(city.body.areas.map((a) => a.id)).toContain(AREA.id);
    await vi.waitFor(() =>
      expect(published.map((d) => `${d.name}:${d.record.id}`)).toEqual(
        expect.arrayContaining([`Area:${AREA.id}`, `Camera:${CAMERA.id}`, `Sensor:${SENSOR.id}`]),
      ),
    );

    // An update re-publishes the whole record under the same id; the table keeps the latest.
    const moved = await admin.patch<{ camera: Camera; stored: boolean }>(`/api/admin/cameras/${CAMERA.id}`, {
      fps: 10,
      name: 'North gate (east)',
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({ camera: { ...CAMERA, schema_version: 1, fps: 10, name: 'North gate (east)' }, stored: true });
    expect(await store.queries.cameras()).toEqual([{ ...CAMERA, schema_version: 1, fps: 10, name: 'North gate (east)' }]);

    const audit = await t.auth.audit.query({ limit: 20, actor: 'ops' });
    const camCreate = audit.find((r) => r.action === 'camera.create');
    expect(camCreate).toMatchObject({ outcome: 'success', target: `Camera:${CAMERA.id}`, role: 'admin' });
    // The camera's RTSP login never reaches the trail.
    expect(JSON.stringify(audit)).not.toContain('secret');
    expect(camCreate?.detail).toContain('url=rtsp://***@10.0.0.7/stream1');
    expect(audit.find((r) => r.action === 'camera.update')?.detail).toBe('name North gate→North gate (east); fps 5→10');
    expect(audit.find((r) => r.action === 'sensor.create')).toMatchObject({ outcome: 'success', target: `Sensor:${SENSOR.id}` });
  });

  it('refuses a bad body with a 400 naming the field, and keeps ids unique and stable', async () => {
    const admin = await ApiClient.login(served.base, 'ops');
    const cases: [string, unknown, RegExp][] = [
      ['/api/admin/cameras', { ...CAMERA, id: 'cam-bad', fps: 0 }, /field 'fps': .*got 0/],
      ['/api/admin/cameras', { ...CAMERA, id: 'cam-bad', url: 'ftp://x/y' }, /field 'url': expected a URL starting rtsp:\/\//],
      ['/api/admin/cameras', { ...CAMERA, id: 'cam bad' }, /field 'id': /],
      [
        '/api/admin/sensors',
        { ...SENSOR, id: 's-bad', area_id: 'hb.nowhere' },
        /field 'area_id': expected one of the areas hb\.test-north; got 'hb\.nowhere'/,
      ],
      ['/api/admin/sensors', { ...SENSOR, id: 's-bad', unit: 'm' }, /field 'unit': expected 'cm' for water_level; got 'm'/],
      ['/api/admin/sensors', { ...SENSOR, id: 's-bad', kind: 'noise' }, /field 'kind': /],
      ['/api/admin/sensors', { ...SENSOR, id: 's-bad', colour: 'red' }, /unknown field 'colour'/],
      ['/api/admin/sensors', { ...SENSOR, id: 's-bad', lat: '31.2' }, /field 'lat': .*got "31.2"/],
      [
        '/api/admin/areas',
        { ...AREA, id: 'hb.bad', geometry: '{"type":"Point","coordinates":[1,2]}' },
        /field 'geometry': expected a GeoJSON geometry of type Polygon or MultiPolygon; got "Point"/,
      ],
      ['/api/admin/areas', { ...AREA, id: 'hb.bad', population: -1 }, /field 'population': /],
    ];
    for (const [path, body, message] of cases) {
      const res = await admin.post(path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res.body).code).toBe('bad-request');
      expect(errorOf(res.body).message).toMatch(message);
    }
    const again = await admin.post('/api/admin/cameras', CAMERA);
    expect(again.status).toBe(409);
    expect(errorOf(again.body).message).toMatch(/field 'id': expected a new camera id; got 'cam-test-1', which exists/);
    expect((await admin.patch(`/api/admin/cameras/${CAMERA.id}`, { id: 'cam-renamed' })).status).toBe(400);
    expect((await admin.patch('/api/admin/cameras/cam-nowhere', { fps: 2 })).status).toBe(404);
    expect((await store.queries.cameras()).map((c) => c.id)).toEqual([CAMERA.id]);
    // Failed writes are audited with the reason.
    const failures = await t.auth.audit.query({ limit: 50, actor: 'ops', action: 'sensor.create' });
    expect(failures.some((r) => r.outcome === 'failure' && r.detail.includes("field 'unit'"))).toBe(true);
  });

  it('retires a camera (gone from every list, audited with the reason) and brings it back into service', async () => {
    const admin = await ApiClient.login(served.base, 'ops');
    const id = 'cam-retire-1';
    expect((await admin.post('/api/admin/cameras', { ...CAMERA, id })).status).toBe(201);
    expect((await admin.post(`/api/admin/cameras/${id}/retire`, {})).status).toBe(400);
    expect((await admin.post('/api/admin/cameras/no-such-camera/retire', { reason: 'gone' })).status).toBe(404);

    const retired = await admin.post<{ retired: string; stored: boolean }>(`/api/admin/cameras/${id}/retire`, {
      reason: 'pole taken down',
    });
    expect(retired.status).toBe(200);
    expect(retired.body).toEqual({ retired: id, stored: true });
    expect((await store.queries.cameras()).map((c) => c.id)).not.toContain(id);
    expect((await admin.get<{ cameras: Camera[] }>('/api/city')).body.cameras.map((c) => c.id)).not.toContain(id);
    const decisions = (await admin.get<{ retirements: { id: string; retired: boolean; reason: string }[] }>('/api/admin/retirements')).body;
    expect(decisions.retirements).toContainEqual(expect.objectContaining({ id: `Camera:${id}`, retired: true, reason: 'pole taken down' }));
    // A second retire of the same camera is refused: it is not in service.
    expect((await admin.post(`/api/admin/cameras/${id}/retire`, { reason: 'again' })).status).toBe(404);

    const restored = await admin.post<{ restored: string; stored: boolean }>(`/api/admin/cameras/${id}/restore`, { reason: 'new pole' });
    expect(restored.body).toEqual({ restored: id, stored: true });
    expect((await store.queries.cameras()).map((c) => c.id)).toContain(id);
    const audit = await t.auth.audit.query({ limit: 50, actor: 'ops' });
    expect(audit.find((r) => r.action === 'camera.retire' && r.outcome === 'success')).toMatchObject({
      outcome: 'success',
      target: `Camera:${id}`,
      detail: 'retired: pole taken down',
    });
    expect(audit.find((r) => r.action === 'camera.restore')).toMatchObject({ outcome: 'success', detail: 'back in service: new pole' });
  });

  it.each(['chief', 'ana', 'wall-1'])('refuses %s every catalog and rules route with a 403, audited', async (login) => {
    const c = await ApiClient.login(served.base, login);
    const calls: [string, string, unknown][] = [
      ['GET', '/api/admin/cameras', undefined],
      ['POST', '/api/admin/cameras', { ...CAMERA, id: 'cam-sneaky' }],
      ['PATCH', `/api/admin/cameras/${CAMERA.id}`, { fps: 1 }],
      ['GET', '/api/admin/sensors', undefined],
      ['POST', '/api/admin/sensors', { ...SENSOR, id: 's-sneaky' }],
      ['PATCH', `/api/admin/sensors/${SENSOR.id}`, { name: 'x' }],
      ['GET', '/api/admin/areas', undefined],
      ['POST', '/api/admin/areas', { ...AREA, id: 'hb.sneaky' }],
      ['PATCH', `/api/admin/areas/${AREA.id}`, { population: 1 }],
      ['GET', '/api/admin/rules', undefined],
      ['PUT', '/api/admin/rules', { yaml: 'version: x', base_version: 'x' }],
      ['POST', `/api/admin/cameras/${CAMERA.id}/retire`, { reason: 'x' }],
      ['POST', `/api/admin/sensors/${SENSOR.id}/restore`, { reason: 'x' }],
      ['GET', '/api/admin/retirements', undefined],
    ];
    for (const [method, path, body] of calls) {
      const res = await c.send(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(errorOf(res.body)).toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining("expected a principal with 'catalog:manage' (role admin)") as unknown,
      });
    }
    const denied = await t.auth.audit.query({ limit: 50, actor: login });
    expect(denied.filter((r) => r.outcome === 'denied').map((r) => r.action)).toEqual(
      expect.arrayContaining(['camera.list', 'camera.create', 'sensor.update', 'area.create', 'rules.read', 'rules.update']),
    );
    expect((await store.queries.cameras()).map((c2) => c2.id)).not.toContain('cam-sneaky');
  });
});

describe('responsibility rules (integration)', () => {
  const warning = (over: Partial<EarlyWarning>): EarlyWarning => ({
    id: `w-${Math.random().toString(36).slice(2)}`,
    schema_version: 1,
    ts: Date.now(),
    level: 'orange',
    kind: 'congestion',
    area_id: AREA.id,
    source_kind: 'sensor',
    source_id: 'sensor-speed-1',
    lon: 121.45,
    lat: 31.25,
    title: 'Speed 8 km/h',
    reasons: ['speed 8 km/h, expected above 25 km/h'],
    score: 9,
    evidence_ids: [],
    produced_by: 'anomaly-worker/rolling-robust-z@1',
    machine_made: true,
    ...over,
  });

  it('refuses a table with a mistake, naming its line, and keeps the version in force', async () => {
    const admin = await ApiClient.login(served.base, 'ops');
    const current = await admin.get<RulesResponse>('/api/admin/rules');
    expect(current.status).toBe(200);
    expect(current.body.version).toBe('2026-11-22.1');
    expect(current.body.yaml).toBe(await readFile(defaultResponsibilityTablePath(), 'utf8'));
    expect(current.body.summary.rules.find((r) => r.kind === 'congestion' && r.areas[0] === '*')).toMatchObject({
      department: 'dept.traffic-police',
    });

    const broken = current.body.yaml
      .replace("version: '2026-11-22.1'", "version: '2026-11-22.2'")
      .replace('department: dept.traffic-police', 'department: dept.traffic-polise');
    const line = broken.split('\n').findIndex((l) => l.includes('dept.traffic-polise')) + 1;
    const res = await admin.send('PUT', '/api/admin/rules', { yaml: broken, base_version: '2026-11-22.1' });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).message).toMatch(
      new RegExp(
        `field 'yaml': expected a valid responsibility table; got a problem:\\nline ${line}:\\d+ \\(rules\\[1\\]\\.department\\): .*dept\\.traffic-polise`,
      ),
    );
    expect(errorOf(res.body).message).not.toContain(dir); // the server's file path stays on the server
    expect(rules.current().version).toBe('2026-11-22.1');

    const stale = await admin.send('PUT', '/api/admin/rules', { yaml: broken, base_version: '2026-01-01.1' });
    expect(stale.status).toBe(409);
    expect(errorOf(stale.body).message).toMatch(/field 'base_version': expected the version in force, '2026-11-22.1'/);
    const audit = await t.auth.audit.query({ limit: 5, actor: 'ops', action: 'rules.update' });
    expect(audit[0]).toMatchObject({ outcome: 'failure' });
  });

  it('saves a new version that the running incidents role dispatches its next incident by, audited', async () => {
    const admin = await ApiClient.login(served.base, 'ops');
    const current = await admin.get<RulesResponse>('/api/admin/rules');
    // Congestion in the new area goes to urban management instead of the traffic police.
    const override = [
      '  - kind: congestion',
      `    areas: [${AREA.id}]`,
      '    department: dept.urban',
      '    assist: []',
      '    sla: { accept_minutes: 15, resolve_minutes: 90 }',
      '    dispatch: auto',
      '    basis: test override for the new district',
      '',
    ].join('\n');
    const edited = current.body.yaml
      .replace("version: '2026-11-22.1'", "version: '2026-11-22.2'")
      .replace(/\nrules:\n/, `\nrules:\n${override}`);
    const saved = await admin.send<RulesSaved>('PUT', '/api/admin/rules', { yaml: edited, base_version: '2026-11-22.1' });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ previous_version: '2026-11-22.1', version: '2026-11-22.2' });
    expect(saved.body.summary.rules.find((r) => r.areas.includes(AREA.id))).toMatchObject({ kind: 'congestion', department: 'dept.urban' });

    const after = await admin.get<RulesResponse>('/api/admin/rules');
    expect(after.body.version).toBe('2026-11-22.2');
    expect(after.body.yaml).toBe(edited);
    expect(after.body.versions.map((v) => v.version).sort()).toEqual(['2026-11-22.1', '2026-11-22.2']);
    expect(await readFile(join(dir, 'responsibility.yaml'), 'utf8')).toBe(edited);

    const audit = await t.auth.audit.query({ limit: 5, actor: 'ops', action: 'rules.update' });
    expect(audit[0]).toMatchObject({ outcome: 'success', role: 'admin', target: 'responsibility-table' });
    expect(audit[0]?.detail).toMatch(/^version 2026-11-22\.1 → 2026-11-22\.2 \(\d+ rules, \d+ departments\)$/);
    expect(audit[0]?.ts).toBeGreaterThan(0);

    // The running role, never restarted, routes the next congestion there by the new version.
    await bus.producer().send(TOPICS.warnings, [{ key: AREA.id, value: encodeRecord(warning({})) }]);
    await vi.waitFor(
      async () => {
        const incidents = await store.queries.incidents({ limit: 10 });
        expect(incidents.find((i) => i.area_id === AREA.id)).toMatchObject({ department_id: 'dept.urban', rule_version: '2026-11-22.2' });
      },
      { timeout: 20_000, interval: 100 },
    );
    // …and elsewhere still by the city-wide rule.
    await bus
      .producer()
      .send(TOPICS.warnings, [
        { key: 'hb.haihe', value: encodeRecord(warning({ area_id: 'hb.haihe', lon: 121.6, lat: 31.1, source_id: 'sensor-speed-2' })) },
      ]);
    await vi.waitFor(
      async () => {
        const incidents = await store.queries.incidents({ limit: 10 });
        expect(incidents.find((i) => i.area_id === 'hb.haihe')).toMatchObject({
          department_id: 'dept.traffic-police',
          rule_version: '2026-11-22.2',
        });
      },
      { timeout: 20_000, interval: 100 },
    );
  });
});
