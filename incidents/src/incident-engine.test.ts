import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DispatchOrder as DispatchOrderSchema,
  Incident as IncidentSchema,
  IncidentEvent as IncidentEventSchema,
  stableId,
  validator,
  type EarlyWarning,
  type Incident,
} from '@cityops/schemas';
import { IncidentEngine, MACHINE_ACTOR, type IncidentChange, type IncidentEngineOptions, type WarningOutcome } from './incident-engine.js';
import { IncidentsError } from './errors.js';
import { defaultResponsibilityTablePath, loadResponsibilityTable } from './responsibility-table.js';
import { INCIDENTS_VERSION } from './version.js';

const table = loadResponsibilityTable(readFileSync(defaultResponsibilityTablePath(), 'utf8'), 'responsibility.yaml');
const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const MIN = 60_000;

/** A controllable clock: tests move time, nothing waits. */
function testClock(start = T0): { now: () => number; set: (ms: number) => void; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms), advance: (ms) => (t += ms) };
}

let seq = 0;
function warning(over: Partial<EarlyWarning> = {}): EarlyWarning {
  seq++;
  return {
    id: `w-${seq}`,
    schema_version: 1,
    ts: T0,
    level: 'yellow',
    kind: 'waterlogging',
    area_id: 'area-riverside',
    source_kind: 'sensor',
    source_id: 's-water-01',
    lon: 121.47,
    lat: 31.23,
    title: 'Water level 42 cm at Riverside Rd underpass',
    reasons: ['water level 42 cm, expected below 10 cm'],
    score: 4.2,
    evidence_ids: ['a-1'],
    produced_by: 'detectors/timeseries@0.1.0',
    machine_made: true,
    ...over,
  };
}

function engine(over: Partial<IncidentEngineOptions> = {}) {
  const clock = testClock();
  return { clock, engine: new IncidentEngine({ table, clock: clock.now, ...over }) };
}

function changed(outcome: WarningOutcome): Exclude<WarningOutcome, { outcome: 'duplicate' }> {
  if (outcome.outcome === 'duplicate') throw new Error('expected a change, got a duplicate');
  return outcome;
}

/** Every record the engine emits must pass the contracts the store and dashboard validate with. */
function expectValid(change: IncidentChange): void {
  expect(validator(IncidentSchema).errors(change.incident)).toEqual([]);
  for (const e of change.events) expect(validator(IncidentEventSchema).errors(e)).toEqual([]);
  if (change.dispatch) expect(validator(DispatchOrderSchema).errors(change.dispatch)).toEqual([]);
}

describe('IncidentEngine: opening and auto-dispatch', () => {
  it('opens an incident whose id is the stable id of its first warning', () => {
    const { engine: e } = engine();
    const w = warning();
    const r = changed(e.onWarning(w));
    expect(r.outcome).toBe('opened');
    expect(r.incident).toMatchObject({
      id: stableId(w.id),
      kind: 'waterlogging',
      area_id: 'area-riverside',
      level: 'yellow',
      revision: 1,
      warning_ids: [w.id],
      rule_version: table.version,
      opened_at: T0,
    });
    expect(r.events.map((ev) => ev.type)).toEqual(['opened', 'dispatched']);
    for (const ev of r.events)
      expect(ev).toMatchObject({ actor: `machine:incidents@${INCIDENTS_VERSION}`, machine_made: true, incident_id: r.incident.id });
    expectValid(r);
  });

  it('dispatches by an auto rule: department, rule version, reason, SLA due times from the clock', () => {
    const { engine: e, clock } = engine();
    clock.set(T0 + 90_000); // the warning is processed 90 s after it was observed
    const r = changed(e.onWarning(warning()));
    expect(r.incident.status).toBe('dispatched');
    expect(r.incident.department_id).toBe('dept.water');
    expect(r.dispatch).toMatchObject({
      incident_id: r.incident.id,
      department_id: 'dept.water',
      kind: 'waterlogging',
      area_id: 'area-riverside',
      level: 'yellow',
      rule_version: table.version,
      machine_made: true,
      ts: T0 + 90_000,
      // The rule says accept within 10 min, resolve within 120 min, counted from dispatch.
      accept_due: T0 + 90_000 + 10 * MIN,
      resolve_due: T0 + 90_000 + 120 * MIN,
    });
    const reason = r.dispatch?.reason ?? '';
    expect(reason).toContain('waterlogging');
    expect(reason).toContain('area-riverside');
    expect(reason).toContain('水务局');
    expect(reason).toContain(table.version);
    expect(reason).toMatch(/city-wide rule for waterlogging .* at line \d+/);
    expect(reason).toContain('because urban drainage');
    expect(r.events[1]?.detail).toContain('accept by 2026-11-21T08:11:30.000Z');
  });

  it('uses the area rule where one exists', () => {
    const { engine: e } = engine();
    const r = changed(e.onWarning(warning({ area_id: 'hb.laocheng' })));
    expect(r.dispatch?.department_id).toBe('dept.emergency');
    expect(r.dispatch?.reason).toMatch(/area rule for waterlogging in hb.laocheng \(overrides the city-wide rule\)/);
    expect(r.dispatch?.accept_due).toBe(T0 + 5 * MIN);
  });

  it("waits for a commander under a 'confirm' rule, then dispatches as that person", () => {
    const { engine: e, clock } = engine();
    const r = changed(e.onWarning(warning({ kind: 'crowd', area_id: 'area-square' })));
    expect(r.incident.status).toBe('open');
    expect(r.dispatch).toBeUndefined();
    // The proposal is visible, but nothing has been sent.
    expect(r.incident.department_id).toBe('dept.emergency');
    expect(r.events.map((ev) => ev.type)).toEqual(['opened', 'proposed']);
    expect(r.events[1]?.detail).toMatch(/awaiting a commander's confirmation/);
    expect(r.events[1]?.machine_made).toBe(true);

    clock.advance(4 * MIN);
    const confirmed = e.confirmDispatch(r.incident.id, { login: 'li.wei' });
    expect(confirmed.incident).toMatchObject({ status: 'dispatched', revision: 2, department_id: 'dept.emergency' });
    expect(confirmed.dispatch).toMatchObject({
      machine_made: false,
      department_id: 'dept.emergency',
      ts: T0 + 4 * MIN,
      accept_due: T0 + 9 * MIN,
      rule_version: table.version,
    });
    expect(confirmed.dispatch?.reason).toMatch(/^user:li\.wei confirmed the table's proposal/);
    expect(confirmed.events).toEqual([expect.objectContaining({ type: 'confirmed', actor: 'user:li.wei', machine_made: false })]);
    expectValid(confirmed);

    expect(() => e.confirmDispatch(r.incident.id, { login: 'li.wei' })).toThrow(expect.objectContaining({ code: 'invalid-transition' }));
  });

  it('lets a commander send a confirm case to another department than proposed', () => {
    const { engine: e } = engine();
    const r = changed(e.onWarning(warning({ kind: 'price_shock', area_id: '' })));
    const c = e.confirmDispatch(r.incident.id, { login: 'zhang.min', departmentId: 'dept.emergency', note: 'panic buying' });
    expect(c.incident.department_id).toBe('dept.emergency');
    expect(c.dispatch?.reason).toMatch(/instead of the table's 市市场监督管理局 \(dept.market\): panic buying/);
    expect(() =>
      e.confirmDispatch(changed(e.onWarning(warning({ kind: 'crowd' }))).incident.id, { login: 'x', departmentId: 'dept-fire' }),
    ).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
  });
});

describe('IncidentEngine: correlation', () => {
  it('joins warnings of the same kind and area within the window; another area opens a second incident', () => {
    const { engine: e, clock } = engine();
    const first = changed(e.onWarning(warning()));
    clock.set(T0 + 20 * MIN);
    const second = changed(e.onWarning(warning({ ts: T0 + 20 * MIN })));
    expect(second.outcome).toBe('joined');
    expect(second.incident.id).toBe(first.incident.id);
    expect(second.incident.revision).toBe(2);
    expect(second.incident.warning_ids).toHaveLength(2);
    expect(second.incident.updated_at).toBe(T0 + 20 * MIN);
    expect(second.dispatch).toBeUndefined();
    expect(second.events.map((ev) => ev.type)).toEqual(['warning_joined']);
    expectValid(second);

    const elsewhere = changed(e.onWarning(warning({ area_id: 'hb.haihe', lon: 121.5, ts: T0 + 20 * MIN })));
    expect(elsewhere.outcome).toBe('opened');
    const otherKind = changed(e.onWarning(warning({ kind: 'congestion', ts: T0 + 20 * MIN })));
    expect(otherKind.outcome).toBe('opened');
    expect(e.incidents()).toHaveLength(3);
  });

  it('measures the window from the last activity, in event time', () => {
    const { engine: e, clock } = engine();
    clock.set(T0 + 3 * 60 * MIN); // a backlog processed three hours late groups as it would have live
    const a = changed(e.onWarning(warning({ ts: T0 })));
    expect(changed(e.onWarning(warning({ ts: T0 + 25 * MIN }))).incident.id).toBe(a.incident.id);
    expect(changed(e.onWarning(warning({ ts: T0 + 50 * MIN }))).incident.id).toBe(a.incident.id);
    const later = changed(e.onWarning(warning({ ts: T0 + 81 * MIN })));
    expect(later.outcome).toBe('opened');
    expect(later.incident.id).not.toBe(a.incident.id);
  });

  it('treats the same warning twice as a no-op', () => {
    const { engine: e } = engine();
    const w1 = warning();
    const w2 = warning();
    const opened = changed(e.onWarning(w1));
    changed(e.onWarning(w2));
    for (const w of [w1, w2]) {
      const again = e.onWarning(w);
      expect(again).toMatchObject({ outcome: 'duplicate', incidentId: opened.incident.id, events: [] });
      expect(again.dispatch).toBeUndefined();
    }
    expect(e.get(opened.incident.id)?.revision).toBe(2);
    expect(e.incidents()).toHaveLength(1);
  });

  it('raises the level to the most serious warning and says so', () => {
    const { engine: e } = engine();
    const opened = changed(e.onWarning(warning({ level: 'yellow' })));
    const raised = changed(e.onWarning(warning({ level: 'orange' })));
    expect(raised.incident.level).toBe('orange');
    expect(raised.events.map((ev) => ev.type)).toEqual(['warning_joined', 'level_raised', 'severity_changed']);
    expect(raised.events[1]?.detail).toMatch(/from yellow \(III\) to orange \(II\)/);
    const lower = changed(e.onWarning(warning({ level: 'blue' })));
    expect(lower.incident.level).toBe('orange');
    expect(lower.events.map((ev) => ev.type)).toEqual(['warning_joined']);
    expect(new Set([...opened.events, ...raised.events, ...lower.events].map((ev) => ev.id)).size).toBe(6);
  });

  it('does not join resolved incidents', () => {
    const { engine: e } = engine();
    const first = changed(e.onWarning(warning()));
    e.resolve(first.incident.id, { login: 'wang.fang' });
    expect(changed(e.onWarning(warning())).outcome).toBe('opened');
  });
});

describe('IncidentEngine: commander actions', () => {
  it('accepts, resolves and closes with user events, one revision per step', () => {
    const { engine: e, clock } = engine();
    const { incident } = changed(e.onWarning(warning()));
    clock.advance(3 * MIN);
    const accepted = e.accept(incident.id, { login: 'water.duty' });
    clock.advance(40 * MIN);
    const resolved = e.resolve(incident.id, { login: 'water.duty', note: 'pumps running, road open' });
    const commented = e.comment(incident.id, { login: 'li.wei', text: 'checked on camera 12' });
    const closed = e.close(incident.id, { login: 'li.wei' });
    expect([accepted, resolved, commented, closed].map((c) => [c.incident.status, c.incident.revision])).toEqual([
      ['accepted', 2],
      ['resolved', 3],
      ['resolved', 4],
      ['closed', 5],
    ]);
    for (const c of [accepted, resolved, commented, closed]) {
      expect(c.events).toHaveLength(1);
      expect(c.events[0]).toMatchObject({ machine_made: false });
      expect(c.events[0]?.actor).toMatch(/^user:/);
      expectValid(c);
    }
    expect(resolved.events[0]?.detail).toMatch(
      /^user:water.duty reported the case resolved: pumps running, road open; awaiting verification/,
    );
    expect(closed.events[0]?.detail).toMatch(/closed the case without verification \(resolved, not verified\)/);
    expect(accepted.events[0]?.ts).toBe(T0 + 3 * MIN);
    // Closed incidents leave the engine; their warnings stay no-ops.
    expect(e.get(incident.id)).toBeUndefined();
    expect(() => e.comment(incident.id, { login: 'li.wei', text: 'late' })).toThrow(
      expect.objectContaining({ code: 'incident-not-found' }),
    );
    expect(e.onWarning({ ...warning(), id: incident.warning_ids[0]! }).outcome).toBe('duplicate');
  });

  it('refuses actions out of order and malformed logins', () => {
    const { engine: e } = engine();
    const { incident } = changed(e.onWarning(warning({ kind: 'intrusion' })));
    expect(() => e.accept(incident.id, { login: 'a' })).toThrow(IncidentsError);
    expect(() => e.accept(incident.id, { login: 'a' })).toThrow(/expected incident .* to be dispatched to accept; got open/);
    expect(() => e.comment(incident.id, { login: 'bad login', text: 'x' })).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
    expect(() => e.comment(incident.id, { login: 'a', text: '  ' })).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
  });
});

describe('IncidentEngine: auto-close', () => {
  it('is off by default: a month later the case is escalated, not closed', () => {
    const { engine: e, clock } = engine();
    changed(e.onWarning(warning()));
    clock.advance(30 * 24 * 60 * MIN);
    const changes = e.tick();
    expect(changes.flatMap((c) => c.events.map((ev) => ev.type))).toEqual(['sla_breached', 'escalated']);
    expect(e.liveCount).toBe(1);
  });

  it('closes incidents idle for the configured time, saying they were not verified', () => {
    // Shorter than the accept SLA (10 min), so no escalation counts as activity first.
    const { engine: e, clock } = engine({ autoCloseAfterMs: 5 * MIN });
    const { incident } = changed(e.onWarning(warning()));
    clock.advance(4 * MIN);
    expect(e.tick()).toEqual([]);
    clock.advance(MIN);
    const [closed, ...rest] = e.tick();
    expect(rest).toEqual([]);
    expect(closed?.incident).toMatchObject({ id: incident.id, status: 'closed', revision: 2 });
    expect(closed?.events[0]).toMatchObject({ type: 'closed', actor: MACHINE_ACTOR, machine_made: true });
    expect(closed?.events[0]?.detail).toMatch(/^closed without verification: no activity for 5 minutes/);
    expect(e.liveCount).toBe(0);
  });
});

describe('IncidentEngine: restart', () => {
  it('rebuilt from replayed incident records, it does not open duplicates', () => {
    const before = engine();
    const ws = [warning(), warning({ level: 'red' }), warning({ area_id: 'hb.haihe', lon: 121.5 }), warning({ kind: 'crowd' })];
    const records: Incident[] = [];
    for (const w of ws) records.push(changed(before.engine.onWarning(w)).incident);
    const crowd = records[3]!;
    records.push(before.engine.confirmDispatch(crowd.id, { login: 'li.wei' }).incident);

    // A new process: the incidents topic read from the beginning, in any order, old revisions too.
    const after = engine();
    const summary = after.engine.restore([...records].reverse());
    expect(summary).toEqual({ live: 3, closed: 0, stale: 2, withoutEvents: 3 });
    expect(after.engine.get(crowd.id)).toMatchObject({ status: 'dispatched', revision: 2 });
    expect(after.engine.get(records[1]!.id)).toMatchObject({ level: 'red', revision: 2 });

    // The uncommitted warnings are delivered again: all no-ops.
    for (const w of ws) expect(after.engine.onWarning(w).outcome).toBe('duplicate');
    expect(after.engine.incidents()).toHaveLength(3);

    // A new warning joins the restored incident and continues its revisions.
    const next = changed(after.engine.onWarning(warning()));
    expect(next).toMatchObject({ outcome: 'joined', incident: { id: records[0]!.id, revision: 3 } });
  });

  it('remembers closed incidents so their warnings stay no-ops', () => {
    const first = engine();
    const w = warning();
    const opened = changed(first.engine.onWarning(w));
    const closed = first.engine.close(opened.incident.id, { login: 'li.wei', note: 'false alarm' });
    expect(closed.events[0]?.detail).toMatch(/while it was dispatched \(not resolved\): false alarm/);

    const second = engine();
    expect(second.engine.restore([closed.incident, opened.incident])).toEqual({ live: 0, closed: 1, stale: 1, withoutEvents: 0 });
    expect(second.engine.onWarning(w).outcome).toBe('duplicate');
  });

  it('forgets the oldest closed incidents beyond its memory', () => {
    const { engine: e } = engine({ rememberClosedIncidents: 1 });
    const a = warning({ area_id: 'a' });
    const b = warning({ area_id: 'b' });
    e.close(changed(e.onWarning(a)).incident.id, { login: 'x' });
    e.close(changed(e.onWarning(b)).incident.id, { login: 'x' });
    expect(e.onWarning(b).outcome).toBe('duplicate');
    expect(e.onWarning(a).outcome).toBe('opened');
  });
});

describe('version', () => {
  it('names the package version in machine actors', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(INCIDENTS_VERSION).toBe(pkg.version);
    expect(MACHINE_ACTOR).toBe(`machine:incidents@${pkg.version}`);
  });
});
