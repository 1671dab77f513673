import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EarlyWarning, Incident, IncidentEvent } from '@cityops/schemas';
import { IncidentEngine, type IncidentChange } from './incident-engine.js';
import { buildIncidentReport, incidentReportToCsv } from './reports.js';
import { defaultResponsibilityTablePath, loadResponsibilityTable } from './responsibility-table.js';

const table = loadResponsibilityTable(readFileSync(defaultResponsibilityTablePath(), 'utf8'), 'responsibility.yaml');
const T0 = Date.UTC(2026, 10, 21, 0, 0, 0);
const MIN = 60_000;

function warning(n: number, over: Partial<EarlyWarning> = {}): EarlyWarning {
  return {
    id: `rep-w-${n}`,
    schema_version: 1,
    ts: T0,
    level: 'orange',
    kind: 'waterlogging',
    area_id: 'hb.haihe',
    source_kind: 'sensor',
    source_id: `s-${n}`,
    lon: 117 + n * 0.1,
    lat: 39,
    title: 't',
    reasons: [],
    score: 1,
    evidence_ids: [],
    produced_by: 'p@1',
    machine_made: true,
    ...over,
  };
}

describe('incident reports', () => {
  it('counts by kind, area and department, measures SLA compliance and times, and exports CSV', () => {
    let now = T0;
    const engine = new IncidentEngine({ table, clock: () => now });
    const incidents: Incident[] = [];
    const events: IncidentEvent[] = [];
    const keep = (c: IncidentChange | IncidentChange[]): void => {
      for (const x of Array.isArray(c) ? c : [c]) {
        incidents.push(x.incident);
        events.push(...x.events);
      }
    };
    now = T0 + 60 * MIN;
    const a = engine.onWarning(warning(1, { ts: now }));
    keep(a as IncidentChange);
    const b = engine.onWarning(warning(2, { ts: now, area_id: 'hb.lingang', kind: 'pollution' }));
    keep(b as IncidentChange);
    now += 5 * MIN;
    keep(engine.accept(a.incident!.id, { login: 'wang.hai' }));
    keep(engine.verify(engine.resolve(a.incident!.id, { login: 'wang.hai' }).incident.id, { login: 'li.wei' }));
    now += 60 * MIN; // pollution accept SLA (10 min in hb.lingang) ran out
    keep(engine.tick());

    const report = buildIncidentReport({ incidents, events, fromMs: T0, toMs: T0 + 86_400_000, period: 'day', utcOffsetMinutes: 0 });
    expect(report.total).toBe(2);
    expect(report.closed).toBe(1);
    expect(report.by_kind).toEqual([
      { key: 'pollution', count: 1 },
      { key: 'waterlogging', count: 1 },
    ]);
    expect(report.by_department.map((r) => r.key).sort()).toEqual(['dept.ecology', 'dept.water']);
    expect(report.sla.find((s) => s.stage === 'accept')).toEqual({ stage: 'accept', clocks: 2, breached: 1, compliance: 0.5 });
    expect(report.sla_compliance).toBe(0.5);
    expect(report.mean_time_to_dispatch_ms).toBe(0);
    expect(report.mean_time_to_close_ms).toBe(5 * MIN);
    expect(report.verification).toEqual({ auto: 0, manual: 1, unverified: 0 });
    expect(report.trend).toHaveLength(24);
    expect(report.trend[1]).toEqual({ bucket: '2026-11-21T01h', count: 2, change: 2 });

    const csv = incidentReportToCsv(report);
    expect(csv.split('\r\n')[0]).toBe('section,key,value');
    expect(csv).toContain('by_kind,pollution,1\r\n');
    expect(csv).toContain('sla_accept,compliance,0.5\r\n');
    expect(csv).toContain('hotspot,waterlogging@hb.haihe,1\r\n');
  });
});
