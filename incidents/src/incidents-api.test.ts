import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EarlyWarning } from '@cityops/schemas';
import { IncidentsError, httpStatusOf } from './errors.js';
import { IncidentEngine, type IncidentChange } from './incident-engine.js';
import { createIncidentsApi, engineBackend, type Principal } from './incidents-api.js';
import { defaultResponsibilityTablePath, loadResponsibilityTable } from './responsibility-table.js';

const table = loadResponsibilityTable(readFileSync(defaultResponsibilityTablePath(), 'utf8'), 'responsibility.yaml');
const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);

let seq = 0;
function warning(over: Partial<EarlyWarning> = {}): EarlyWarning {
  seq++;
  return {
    id: `api-w-${seq}`,
    schema_version: 1,
    ts: T0,
    level: 'orange',
    kind: 'waterlogging',
    area_id: 'hb.haihe',
    source_kind: 'sensor',
    source_id: `s-${seq}`,
    lon: 117.2,
    lat: 39.1,
    title: 't',
    reasons: [],
    score: 1,
    evidence_ids: [],
    produced_by: 'p@1',
    machine_made: true,
    ...over,
  };
}

const commander: Principal = { login: 'li.wei', role: 'commander' };
const water: Principal = { login: 'wang.hai', role: 'commander', department_id: 'dept.water' };
const traffic: Principal = { login: 'zhao.lei', role: 'commander', department_id: 'dept.traffic-police' };
const ecology: Principal = { login: 'eco.duty', role: 'commander', department_id: 'dept.ecology' };
const wall: Principal = { login: 'wall-1', role: 'wall' };

function setUp() {
  let now = T0;
  const engine = new IncidentEngine({ table, clock: () => now });
  const published: IncidentChange[] = [];
  const api = createIncidentsApi({ backend: engineBackend(engine, (c) => published.push(...c)), clock: () => now });
  const flood = engine.onWarning(warning()).incident!;
  const smog = engine.onWarning(warning({ kind: 'pollution', area_id: 'hb.lingang', lon: 117.7 })).incident!;
  return { engine, api, published, flood, smog, advance: (ms: number) => (now += ms) };
}

async function rejection(p: Promise<unknown>): Promise<IncidentsError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IncidentsError);
    return e as IncidentsError;
  }
  throw new Error('expected a rejection');
}

describe('createIncidentsApi: scoping', () => {
  it('shows a department only the incidents it leads, assists or was escalated to', () => {
    const { api, flood, smog } = setUp();
    expect(
      api
        .list(commander)
        .items.map((c) => c.incident.id)
        .sort(),
    ).toEqual([flood.id, smog.id].sort());
    expect(api.list(water).items.map((c) => c.incident.id)).toEqual([flood.id]);
    // Traffic police assist with waterlogging.
    expect(api.list(traffic).items.map((c) => c.incident.id)).toEqual([flood.id]);
    expect(api.list(ecology).items.map((c) => c.incident.id)).toEqual([smog.id]);
  });

  it("answers 'not found' for another department's incident, so its existence does not leak", async () => {
    const { api, smog } = setUp();
    const e = await rejection(api.detail(water, smog.id));
    expect(e.code).toBe('incident-not-found');
    expect(httpStatusOf(e)).toBe(404);
  });

  it('filters and sorts by urgency', () => {
    const { api, flood } = setUp();
    expect(api.list(commander, { kind: ['waterlogging'] }).items.map((c) => c.incident.id)).toEqual([flood.id]);
    expect(api.list(commander, { overdue: true }).total).toBe(0);
  });
});

describe('createIncidentsApi: permissions', () => {
  it('lets the lead department accept and resolve, and refuses it command-center actions with a typed 403', async () => {
    const { api, flood, published } = setUp();
    await api.accept(water, flood.id);
    const e = await rejection(api.close(water, flood.id));
    expect(e.code).toBe('forbidden');
    expect(httpStatusOf(e)).toBe(403);
    expect(e.message).toMatch(/'close' is for the command center/);
    await api.resolve(water, flood.id, { note: 'pumped' });
    expect(published.map((c) => c.events[0]?.type)).toEqual(['accepted', 'resolved']);
  });

  it('lets an assisting department comment but not accept', async () => {
    const { api, flood } = setUp();
    await api.comment(traffic, flood.id, { text: 'diverting traffic at the bridge' });
    const e = await rejection(api.accept(traffic, flood.id));
    expect(e.code).toBe('forbidden');
    expect(e.message).toMatch(/only the lead department \(dept.water\) may accept/);
  });

  it('keeps the wall display read-only and reload for admins', async () => {
    const { api, flood } = setUp();
    expect((await rejection(api.comment(wall, flood.id, { text: 'x' }))).code).toBe('forbidden');
    expect((await rejection(api.reloadRules(commander))).code).toBe('forbidden');
    const detail = await api.detail(wall, flood.id);
    expect(detail.allowed).toEqual([]);
    expect(detail.case.evidence).toHaveLength(1);
  });

  it('lets the command center merge, split, reassign and close', async () => {
    const { api, flood, smog, engine } = setUp();
    const other = engine.onWarning(warning({ area_id: 'hb.gaoxin', lon: 117.9 })).incident!;
    await api.merge(commander, flood.id, { incident_ids: [other.id] });
    await api.split(commander, flood.id, { warning_ids: [other.warning_ids[0]!] });
    await api.reassign(commander, smog.id, { department_id: 'dept.emergency' });
    const closed = await api.close(commander, smog.id, { note: 'false alarm' });
    expect(closed.incident.status).toBe('closed');
    // A department may not merge even its own incidents.
    expect((await rejection(api.merge(water, flood.id, { incident_ids: [other.id] }))).code).not.toBe(undefined);
  });
});
