import type { Incident, IncidentEvent, SlaStage } from '@cityops/schemas';

/*
 * Incident analysis reports (事件分析报告): what happened where, who handled it, how fast, and
 * where it keeps happening. Computed from the records the role emits — incidents (latest
 * revision each) and their events — so the same function serves the store's history and the
 * engine's memory, and its figures can be re-derived in SQL.
 */

export type ReportPeriod = 'day' | 'week';

export interface ReportInput {
  /** Latest revision of each incident (older revisions are ignored if present). */
  incidents: readonly Incident[];
  /** Their lifecycle events, any order. */
  events: readonly IncidentEvent[];
  /** Incidents opened in [fromMs, toMs) are reported. */
  fromMs: number;
  toMs: number;
  period: ReportPeriod;
  /** Local time for day/week buckets, minutes east of UTC. Default 480 (China Standard Time). */
  utcOffsetMinutes?: number;
  /** How many hotspots to list. Default 10. */
  hotspots?: number;
}

export interface CountRow {
  key: string;
  count: number;
}

export interface SlaRow {
  stage: Exclude<SlaStage, ''>;
  /** Incidents whose clock for this stage ran at least once. */
  clocks: number;
  /** Of those, how many ran out at least once. */
  breached: number;
  /** 1 − breached / clocks; 1 when no clock ran. */
  compliance: number;
}

export interface IncidentReport {
  period: ReportPeriod;
  from_ms: number;
  to_ms: number;
  total: number;
  closed: number;
  by_kind: CountRow[];
  by_area: CountRow[];
  by_department: CountRow[];
  by_priority: CountRow[];
  sla: SlaRow[];
  /** Incidents with no SLA breach at any stage, of those dispatched. */
  sla_compliance: number;
  /** Opened → first dispatch (auto or confirmed), in ms; null when none was dispatched. */
  mean_time_to_dispatch_ms: number | null;
  /** Opened → closed, in ms; null when none closed. */
  mean_time_to_close_ms: number | null;
  verification: { auto: number; manual: number; unverified: number };
  /** kind@area with the most incidents. */
  hotspots: CountRow[];
  /** Count per day (period 'day': hours of the day instead), oldest first, with the change vs the previous bucket. */
  trend: { bucket: string; count: number; change: number }[];
}

const STAGES = ['confirm', 'accept', 'arrive', 'resolve', 'verify'] as const;
const DISPATCH_TYPES = new Set(['dispatched', 'confirmed']);

export function buildIncidentReport(input: ReportInput): IncidentReport {
  const offset = (input.utcOffsetMinutes ?? 480) * 60_000;
  const latest = new Map<string, Incident>();
  for (const i of input.incidents) {
    const known = latest.get(i.id);
    if (known === undefined || known.revision < i.revision) latest.set(i.id, i);
  }
  const incidents = [...latest.values()].filter((i) => i.opened_at >= input.fromMs && i.opened_at < input.toMs);
  const ids = new Set(incidents.map((i) => i.id));
  const events = new Map<string, IncidentEvent[]>();
  for (const e of input.events) {
    if (!ids.has(e.incident_id)) continue;
    let list = events.get(e.incident_id);
    if (list === undefined) events.set(e.incident_id, (list = []));
    list.push(e);
  }

  const count = (key: (i: Incident) => string): CountRow[] => tally(incidents.map(key));
  const clocks = new Map<string, { clocks: number; breached: number }>(STAGES.map((s) => [s, { clocks: 0, breached: 0 }]));
  const dispatchTimes: number[] = [];
  const closeTimes: number[] = [];
  const verification = { auto: 0, manual: 0, unverified: 0 };
  const priorities: string[] = [];
  let dispatched = 0;
  let compliant = 0;

  for (const i of incidents) {
    const list = (events.get(i.id) ?? []).sort((a, b) => a.ts - b.ts || a.revision - b.revision);
    const ran = new Set<string>();
    const breached = new Set<string>();
    let firstDispatch: number | undefined;
    let closedAt: number | undefined;
    let verifiedBy: 'auto' | 'manual' | undefined;
    for (const e of list) {
      if (e.stage !== '') ran.add(e.stage);
      if (e.type === 'sla_breached' && e.stage !== '') breached.add(e.stage);
      if (DISPATCH_TYPES.has(e.type) && firstDispatch === undefined) firstDispatch = e.ts;
      if (e.type === 'closed') closedAt = e.ts;
      if (e.type === 'verified') verifiedBy = e.machine_made ? 'auto' : 'manual';
    }
    priorities.push(list.at(-1)?.priority ?? 'P4');
    for (const s of ran) clocks.get(s)!.clocks++;
    for (const s of breached) clocks.get(s)!.breached++;
    if (firstDispatch !== undefined) {
      dispatched++;
      if ([...breached].every((s) => s === 'confirm' || s === 'verify')) compliant++;
      dispatchTimes.push(Math.max(0, firstDispatch - i.opened_at));
    }
    if (i.status === 'closed' && closedAt !== undefined) {
      closeTimes.push(Math.max(0, closedAt - i.opened_at));
      verification[verifiedBy ?? 'unverified']++;
    }
  }

  const bucketOf = (ts: number): string => {
    const local = new Date(ts + offset).toISOString();
    return input.period === 'day' ? `${local.slice(0, 13)}h` : local.slice(0, 10);
  };
  const buckets = new Map<string, number>();
  const step = input.period === 'day' ? 3_600_000 : 86_400_000;
  for (let t = input.fromMs; t < input.toMs; t += step) buckets.set(bucketOf(t), 0);
  for (const i of incidents) buckets.set(bucketOf(i.opened_at), (buckets.get(bucketOf(i.opened_at)) ?? 0) + 1);
  let previous = 0;
  const trend = [...buckets].map(([bucket, n]) => {
    const row = { bucket, count: n, change: n - previous };
    previous = n;
    return row;
  });

  return {
    period: input.period,
    from_ms: input.fromMs,
    to_ms: input.toMs,
    total: incidents.length,
    closed: incidents.filter((i) => i.status === 'closed').length,
    by_kind: count((i) => i.kind),
    by_area: count((i) => (i.area_id === '' ? '(city-wide)' : i.area_id)),
    by_department: count((i) => i.department_id),
    by_priority: tally(priorities),
    sla: STAGES.map((stage) => {
      const c = clocks.get(stage)!;
      return { stage, clocks: c.clocks, breached: c.breached, compliance: c.clocks === 0 ? 1 : round3(1 - c.breached / c.clocks) };
    }),
    sla_compliance: dispatched === 0 ? 1 : round3(compliant / dispatched),
    mean_time_to_dispatch_ms: mean(dispatchTimes),
    mean_time_to_close_ms: mean(closeTimes),
    verification,
    hotspots: count((i) => `${i.kind}@${i.area_id === '' ? '(city-wide)' : i.area_id}`).slice(0, input.hotspots ?? 10),
    trend,
  };
}

/** The report as CSV (RFC 4180): one `section,key,value` row per figure, for spreadsheets. */
export function incidentReportToCsv(report: IncidentReport): string {
  const rows: (string | number)[][] = [['section', 'key', 'value']];
  rows.push(['summary', 'period', report.period]);
  rows.push(['summary', 'from', new Date(report.from_ms).toISOString()]);
  rows.push(['summary', 'to', new Date(report.to_ms).toISOString()]);
  rows.push(['summary', 'total', report.total]);
  rows.push(['summary', 'closed', report.closed]);
  rows.push(['summary', 'sla_compliance', report.sla_compliance]);
  rows.push([
    'summary',
    'mean_time_to_dispatch_s',
    report.mean_time_to_dispatch_ms === null ? '' : Math.round(report.mean_time_to_dispatch_ms / 1000),
  ]);
  rows.push([
    'summary',
    'mean_time_to_close_s',
    report.mean_time_to_close_ms === null ? '' : Math.round(report.mean_time_to_close_ms / 1000),
  ]);
  for (const [k, v] of Object.entries(report.verification)) rows.push(['verification', k, v]);
  for (const r of report.by_kind) rows.push(['by_kind', r.key, r.count]);
  for (const r of report.by_area) rows.push(['by_area', r.key, r.count]);
  for (const r of report.by_department) rows.push(['by_department', r.key, r.count]);
  for (const r of report.by_priority) rows.push(['by_priority', r.key, r.count]);
  for (const r of report.sla)
    rows.push(
      [`sla_${r.stage}`, 'clocks', r.clocks],
      [`sla_${r.stage}`, 'breached', r.breached],
      [`sla_${r.stage}`, 'compliance', r.compliance],
    );
  for (const r of report.hotspots) rows.push(['hotspot', r.key, r.count]);
  for (const r of report.trend) rows.push(['trend', r.bucket, r.count]);
  return `${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

function csvField(v: string | number): string {
  const s = String(v);
  // Quote what needs it; a leading = + - @ is prefixed so a spreadsheet does not run it as a formula.
  const safe = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function tally(keys: readonly string[]): CountRow[] {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return [...m].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : Math.round(values.reduce((a, b) => a + b, 0) / values.length);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
