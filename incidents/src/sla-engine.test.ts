import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IncidentEvent as IncidentEventSchema, validator, type EarlyWarning, type Incident, type IncidentEvent } from '@cityops/schemas';
import { IncidentEngine, MACHINE_ACTOR, changeList, type IncidentChange } from './incident-engine.js';
import { defaultResponsibilityTablePath, loadResponsibilityTable } from './responsibility-table.js';

/*
 * The SLA engine driven by a controllable clock, through restarts: state is rebuilt from the
 * records and events the engine emitted, and timers continue as if nothing happened.
 */

const shipped = readFileSync(defaultResponsibilityTablePath(), 'utf8');
const table = loadResponsibilityTable(shipped, 'responsibility.yaml');
const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const MIN = 60_000;
const checkEvent = validator(IncidentEventSchema);

let seq = 0;
function warning(over: Partial<EarlyWarning> = {}): EarlyWarning {
  seq++;
  return {
    id: `sla-w-${seq}`,
    schema_version: 1,
    ts: T0,
    level: 'orange',
    kind: 'waterlogging',
    area_id: 'hb.haihe',
    source_kind: 'sensor',
    source_id: `s-water-${seq}`,
    lon: 117.2,
    lat: 39.1,
    title: 'water rising',
    reasons: [],
    score: 5,
    evidence_ids: [`anomaly-${seq}`],
    produced_by: 'detectors/timeseries@0.1.0',
    machine_made: true,
    ...over,
  };
}

/** An engine plus a log of everything it emitted, as the topics would hold it. */
function harness(start = T0, restoreFrom?: { incidents: Incident[]; events: IncidentEvent[] }) {
  let now = start;
  const engine = new IncidentEngine({ table, clock: () => now });
  const incidents: Incident[] = [];
  const events: IncidentEvent[] = [];
  if (restoreFrom) engine.restore(restoreFrom.incidents, restoreFrom.events);
  const record = <T extends IncidentChange | IncidentChange[]>(r: T): T => {
    for (const c of changeList(r)) {
      incidents.push(c.incident);
      for (const e of c.events) {
        expect(checkEvent.errors(e)).toEqual([]);
        events.push(e);
      }
    }
    return r;
  };
  return {
    engine,
    incidents,
    events,
    record,
    advance: (ms: number) => (now += ms),
    now: () => now,
    tick: () => record(engine.tick()),
    types: (changes: IncidentChange[]) => changes.flatMap((c) => c.events.map((e) => e.type)),
  };
}

function opened(h: ReturnType<typeof harness>, w: EarlyWarning): Incident {
  const r = h.engine.onWarning(w);
  if (r.outcome === 'duplicate') throw new Error('expected a new incident');
  h.record(r);
  return r.incident;
}

describe('SLA clocks', () => {
  it('runs accept, arrive and resolve clocks from the rule and escalates up the supervisor chain when one runs out', () => {
    const h = harness();
    const inc = opened(h, warning());
    // hb.haihe waterlogging: city-wide rule, accept 10, arrive 30, resolve 120; water's supervisor is emergency.
    expect(h.engine.view(inc.id)).toMatchObject({ stage: 'accept', due_at: T0 + 10 * MIN, escalation_level: 0 });
    h.advance(10 * MIN - 1);
    expect(h.tick()).toEqual([]);
    h.advance(1);
    const breach = h.tick();
    expect(h.types(breach)).toEqual(['sla_breached', 'escalated']);
    expect(breach[0]?.events[1]).toMatchObject({
      actor: MACHINE_ACTOR,
      ref_ids: ['dept.emergency'],
      escalation_level: 1,
      stage: 'accept',
      due_at: T0 + 20 * MIN,
    });
    expect(h.engine.view(inc.id)).toMatchObject({ escalated_to: 'dept.emergency', escalation_level: 1 });

    // The chain has one level: the next run-out says it is exhausted and stops the clock.
    h.advance(10 * MIN);
    const exhausted = h.tick();
    expect(h.types(exhausted)).toEqual(['sla_breached']);
    expect(exhausted[0]?.events[0]?.detail).toMatch(/escalation chain dept.emergency is exhausted at level 1/);
    expect(h.engine.view(inc.id)).toMatchObject({ stage: 'accept', due_at: 0 });
    expect(h.engine.nextDueAt()).toBeUndefined();

    h.record(h.engine.accept(inc.id, { login: 'wang.hai' }));
    expect(h.engine.view(inc.id)).toMatchObject({ stage: 'arrive', due_at: h.now() + 30 * MIN, escalation_level: 0 });
    h.record(h.engine.arrive(inc.id, { login: 'wang.hai' }));
    expect(h.engine.view(inc.id)).toMatchObject({ stage: 'resolve', due_at: T0 + 120 * MIN });
  });

  it('escalates a proposal nobody confirmed along the rule escalate_to chain', () => {
    const h = harness();
    const inc = opened(h, warning({ kind: 'price_shock', area_id: '', source_kind: 'indicator', source_id: 'cpi' }));
    expect(h.engine.view(inc.id)).toMatchObject({ stage: 'confirm', due_at: T0 + 60 * MIN });
    h.advance(60 * MIN);
    expect(h.tick()[0]?.events[1]).toMatchObject({ type: 'escalated', ref_ids: ['dept.development'] });
    h.advance(60 * MIN);
    expect(h.tick()[0]?.events[1]).toMatchObject({ type: 'escalated', ref_ids: ['dept.finance'], escalation_level: 2 });
  });

  it('after a restart rebuilt from the emitted records and events, timers fire when they would have', () => {
    const first = harness();
    const a = opened(first, warning());
    const b = opened(first, warning({ kind: 'crowd', area_id: 'hb.laocheng', lon: 117.3, source_kind: 'camera' }));
    first.advance(3 * MIN);
    first.record(first.engine.accept(a.id, { login: 'wang.hai' }));
    first.advance(2 * MIN);
    const viewA = first.engine.view(a.id);
    const viewB = first.engine.view(b.id);

    // A new process at the same moment: the topics replayed (records in any order, old revisions too).
    const second = harness(first.now(), { incidents: [...first.incidents].reverse(), events: first.events });
    expect(second.engine.view(a.id)).toMatchObject({
      stage: viewA?.stage,
      due_at: viewA?.due_at,
      severity: viewA?.severity,
      priority: viewA?.priority,
    });
    expect(second.engine.view(b.id)).toMatchObject({ stage: 'confirm', due_at: viewB?.due_at, assist_ids: viewB?.assist_ids });
    const link = second.engine.view(a.id)?.evidence[0];
    expect(link?.source).toMatch(/^sensor:s-water-/);
    expect(link?.evidence_ids.join()).toMatch(/^anomaly-\d+$/);

    // The crowd proposal (confirm 5 min from T0) is already overdue: it fires on the first tick
    // (emergency management leads crowds and has nobody above it in the table).
    const overdue = second.tick();
    expect(second.types(overdue)).toEqual(['sla_breached']);
    expect(overdue[0]?.events[0]?.detail).toMatch(/confirm SLA ran out .* \(none configured\)/);
    // The arrive clock (30 min from acceptance at T0+3) fires at T0+33, not earlier.
    second.advance(33 * MIN - 5 * MIN - 1);
    expect(second.tick()).toEqual([]);
    second.advance(1);
    const arrive = second.tick();
    expect(arrive.map((c) => [c.incident.id, c.events[0]?.type, c.events[0]?.stage])).toEqual([[a.id, 'sla_breached', 'arrive']]);
    // Revisions continue from the restored ones: no event id repeats.
    const ids = [...first.events, ...second.events].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('restarts twice in a row without losing the escalation level', () => {
    const first = harness();
    const inc = opened(first, warning());
    first.advance(10 * MIN);
    first.tick();
    const second = harness(first.now(), { incidents: first.incidents, events: first.events });
    const third = harness(first.now(), { incidents: first.incidents, events: [...first.events, ...second.events] });
    expect(third.engine.view(inc.id)).toMatchObject({ escalation_level: 1, due_at: T0 + 20 * MIN });
  });
});

describe('verification and closing', () => {
  it('verifies and closes a resolved case automatically once every warning has been clear for the quiet time', () => {
    const h = harness();
    const w1 = warning();
    const inc = opened(h, w1);
    const w2 = warning({ source_id: 's-water-other' });
    h.record(h.engine.onWarning(w2) as IncidentChange);
    h.record(h.engine.accept(inc.id, { login: 'wang.hai' }));
    h.record(h.engine.resolve(inc.id, { login: 'wang.hai' }));
    expect(h.engine.view(inc.id)).toMatchObject({ stage: 'verify', verification: 'pending' });

    h.advance(MIN);
    h.record(h.engine.onAllClear({ ts: h.now(), source_id: w1.source_id, reason: 'back below 10 cm' }));
    h.advance(20 * MIN);
    expect(h.tick()).toEqual([]); // w2 still active
    h.record(h.engine.onAllClear({ ts: h.now(), warning_ids: [w2.id], reason: 'warning closed' }));
    h.advance(10 * MIN - 1);
    expect(h.tick()).toEqual([]);
    h.advance(1);
    const closed = h.tick();
    expect(h.types(closed)).toEqual(['verified', 'closed']);
    expect(closed[0]?.events[0]?.machine_made).toBe(true);
    expect(closed[0]?.events[0]?.detail).toMatch(/verified automatically: all 2 warning\(s\) clear/);
    expect(h.engine.get(inc.id)).toBeUndefined();
  });

  it('asks a person when no all-clear comes in time, and a close without verification says so', () => {
    const h = harness();
    const inc = opened(h, warning());
    h.record(h.engine.resolve(inc.id, { login: 'wang.hai' }));
    h.advance(60 * MIN);
    const [breach] = h.tick();
    expect(breach?.events[0]).toMatchObject({ type: 'sla_breached', stage: 'verify' });
    expect(breach?.events[0]?.detail).toMatch(/a person must verify/);
    expect(h.engine.view(inc.id)?.verification).toBe('needs_person');
    const closed = h.record(h.engine.close(inc.id, { login: 'li.wei' }));
    expect(closed.events[0]?.detail).toMatch(/without verification/);
  });

  it('lets a person verify, which closes the case as verified by that person', () => {
    const h = harness();
    const inc = opened(h, warning());
    h.record(h.engine.resolve(inc.id, { login: 'wang.hai' }));
    const done = h.record(h.engine.verify(inc.id, { login: 'li.wei', note: 'camera 12 shows the road dry' }));
    expect(done.events.map((e) => [e.type, e.actor])).toEqual([
      ['verified', 'user:li.wei'],
      ['closed', 'user:li.wei'],
    ]);
  });
});

describe('correlation, severity and commander overrides', () => {
  it('joins related kinds near each other, keeps unlocated indicators apart unless they share a source', () => {
    const h = harness();
    const water = opened(h, warning());
    const stalled = h.engine.onWarning(warning({ kind: 'stopped_vehicle', source_kind: 'camera', source_id: 'cam-1' }));
    expect(stalled).toMatchObject({ outcome: 'joined', incident: { id: water.id } });
    const far = h.engine.onWarning(warning({ area_id: 'hb.gaoxin', lon: 117.5 }));
    expect(far.outcome).toBe('opened');
    const cpi = opened(h, warning({ kind: 'price_shock', area_id: '', source_kind: 'indicator', source_id: 'cpi' }));
    expect(h.engine.onWarning(warning({ kind: 'price_shock', area_id: '', source_kind: 'indicator', source_id: 'pork' })).outcome).toBe(
      'opened',
    );
    expect(
      h.engine.onWarning(warning({ kind: 'market_volatility', area_id: '', source_kind: 'indicator', source_id: 'cpi' })),
    ).toMatchObject({
      outcome: 'joined',
      incident: { id: cpi.id },
    });
  });

  it('weighs severity by level, agreeing sources and exposure, with the reasons', () => {
    const h = harness();
    const inc = opened(h, warning({ area_id: 'hb.laocheng', level: 'orange' }));
    const one = h.engine.view(inc.id)!;
    h.engine.onWarning(warning({ area_id: 'hb.laocheng', source_kind: 'camera', source_id: 'cam-9' }));
    const two = h.engine.view(inc.id)!;
    expect(two.severity).toBeGreaterThan(one.severity);
    expect(two.severity_reasons.join('; ')).toMatch(/2 sources agree.*2 kinds of source.*exposure: 420,000 residents/);
    expect(two.priority).toBe('P2');
  });

  it('dispatches a confirm-rule case at once when its level reaches the rule auto level', () => {
    const h = harness();
    const crowd = opened(h, warning({ kind: 'crowd', area_id: 'hb.laocheng', level: 'orange', source_kind: 'camera' }));
    expect(crowd.status).toBe('open');
    const red = h.engine.onWarning(warning({ kind: 'crowd', area_id: 'hb.laocheng', level: 'red', source_kind: 'camera' }));
    expect(red).toMatchObject({ outcome: 'joined', incident: { status: 'dispatched' }, dispatch: { machine_made: true } });
    expect(red.dispatch?.reason).toMatch(/dispatch: auto at red/);
  });

  it('reassigns, recalls, merges and splits with user events and fresh dispatch orders', () => {
    const h = harness();
    const a = opened(h, warning());
    const re = h.record(h.engine.reassign(a.id, { login: 'li.wei', departmentId: 'dept.urban', note: 'drain blocked' }));
    expect(re).toMatchObject({
      incident: { department_id: 'dept.urban', status: 'dispatched' },
      dispatch: { machine_made: false, department_id: 'dept.urban' },
    });
    const back = h.record(h.engine.recall(a.id, { login: 'li.wei' }));
    expect(back.incident.status).toBe('open');
    expect(back.events[0]).toMatchObject({ type: 'recalled', stage: 'confirm' });

    const b = opened(h, warning({ area_id: 'hb.gaoxin', lon: 117.6 }));
    const merged = h.record(h.engine.merge(a.id, [b.id], { login: 'li.wei' }));
    expect(merged[0]?.incident.warning_ids).toHaveLength(2);
    expect(merged[1]?.incident.status).toBe('closed');
    expect(merged[1]?.events.map((e) => e.type)).toEqual(['merged', 'closed']);

    const split = h.record(h.engine.split(a.id, [b.warning_ids[0]!], { login: 'li.wei' }));
    expect(split[0]?.incident.warning_ids).toEqual(a.warning_ids);
    expect(split[1]?.incident).toMatchObject({ area_id: 'hb.gaoxin', warning_ids: b.warning_ids, status: 'dispatched' });
    expect(split[1]?.dispatch?.machine_made).toBe(true);
    expect(() => h.engine.split(a.id, a.warning_ids, { login: 'li.wei' })).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
  });

  it('dispatches by a reloaded table without a restart, naming its version', () => {
    const h = harness();
    const next = loadResponsibilityTable(shipped.replace("version: '2026-11-22.1'", "version: '2026-11-23.1'"), 'next.yaml');
    h.engine.setTable(next);
    const r = h.engine.onWarning(warning({ area_id: 'hb.gaoxin' }));
    expect(r.dispatch?.rule_version).toBe('2026-11-23.1');
  });
});
