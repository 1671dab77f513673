/**
 * bench:incidents — the incident engine replaying the demo city's labelled scenario at full speed.
 *
 *   node scripts/run-bench.mjs incidents [--hours 72] [--seed 20250101]
 *
 * The simulator plans its incidents (ingest/src/demo-city: kind, district or indicator, the
 * sources each one moves, start/ramp/hold/end, and a GroundTruthEvent label). From each plan this
 * generates the warnings a detector would raise — per affected source a blue warning early in the
 * ramp, a yellow one at the end of it and one at the expected level while held (ids as the
 * anomaly worker makes them: source + episode start + level) — and the all-clear of every source
 * when the plan ends. Simulated responders confirm proposals after 3 min, accept after 2 min,
 * report arrival after 5 and resolve shortly before the condition ends, so cases run the whole
 * loop: warn → dispatch → accept → arrive → resolve → all-clear → verify → close. Two frictions
 * keep it honest: one department in twenty accepts after 15 min (the accept SLA runs out and
 * escalates), and one source in ten never reports back in band (a stuck sensor), so its case
 * cannot be verified by the data and a commander verifies it when the machine asks.
 *
 * Everything runs in one event-time-ordered queue with the engine's clock at each item's time;
 * the engine is ticked every 10 s of event time. Each warning goes through what the worker does
 * with it — JSON decode and contract validation, the engine, encoding of its results — and
 * `warning → dispatch order` latency is that wall time for each warning that produced a dispatch.
 *
 * Figures, the headline (warnings_per_s, one core, flat out — well above the 1,000/s target load) last:
 *   warnings, incidents, dispatches, sla_breaches, closed, dispatch_p50_ms, dispatch_p99_ms,
 *   grouping_precision, grouping_recall, auto_verified_share, warnings_per_s
 * Grouping is scored pairwise over warnings: a pair is "together" in the truth when both came from
 * one planned incident, and in the prediction when both joined one incident.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  EarlyWarning as EarlyWarningSchema,
  decodeRecord,
  encodeRecord,
  stableId,
  type EarlyWarning,
  type WarningLevel,
} from '@cityops/schemas';
import { createDemoCity, createSimulation, type PlannedIncident } from '@cityops/ingest';
import { IncidentEngine, readResponsibilityTableFile, type IncidentChange } from '@cityops/incidents';

const { values: args } = parseArgs({
  options: {
    hours: { type: 'string', default: '72' },
    seed: { type: 'string' },
  },
});
const hours = Number(args.hours);
const MIN = 60_000;
const START = Date.UTC(2026, 0, 5, 0, 0, 0);
const END = START + hours * 3_600_000;
const TICK_MS = 10_000;

const city = createDemoCity(args.seed === undefined ? {} : { seed: Number(args.seed) });
const sim = createSimulation({ city, startTs: START });
const plans = sim.incidentsUntil(END).filter((p) => p.endTs <= END);
const table = await readResponsibilityTableFile();
const sensorById = new Map(city.sensors.map((s) => [s.id, s] as const));

/* ---------- the scenario as an event-time queue ---------- */

type Item =
  | { at: number; kind: 'warning'; bytes: Uint8Array; truth: string }
  | { at: number; kind: 'clear'; sourceId: string }
  | { at: number; kind: 'tick' };
const items: Item[] = [];

const LEVELS_UP: readonly WarningLevel[] = ['blue', 'yellow', 'orange', 'red'];
function levelsTo(level: WarningLevel): WarningLevel[] {
  return LEVELS_UP.slice(0, LEVELS_UP.indexOf(level) + 1);
}

function warningsOf(plan: PlannedIncident): void {
  const label = plan.event;
  const steps = levelsTo(label.expected_level);
  for (const sourceId of plan.effects.keys()) {
    const sensor = sensorById.get(sourceId);
    // Detectors do not all fire at once: a source's episode starts 30–90 s into the ramp.
    const episodeStart = plan.startTs + 30_000 + (hash(sourceId, label.id) % 60_000);
    const ramp = plan.rampEndTs - plan.startTs;
    steps.forEach((level, i) => {
      const at = Math.min(plan.holdEndTs, episodeStart + Math.round((ramp * i) / Math.max(1, steps.length - 1)));
      const w: EarlyWarning = {
        id: stableId(sourceId, episodeStart, level),
        schema_version: 1,
        ts: at,
        level,
        kind: plan.kind,
        area_id: label.area_id,
        source_kind: sensor === undefined ? 'indicator' : 'sensor',
        source_id: sourceId,
        lon: sensor?.lon ?? city.center.lon,
        lat: sensor?.lat ?? city.center.lat,
        title: label.description.slice(0, 300),
        reasons: [`${sourceId} outside its band`],
        score: 5 + i * 5,
        evidence_ids: [stableId('anomaly', sourceId, at)],
        produced_by: 'bench/incidents',
        machine_made: true,
      };
      items.push({ at, kind: 'warning', bytes: encodeRecord(w), truth: label.id });
    });
    // One source in ten is stuck or offline and never reports back in band: those cases cannot be
    // verified by the data, and a commander verifies them when the machine asks.
    if (hash('clear', sourceId, label.id) % 10 !== 0) items.push({ at: plan.endTs, kind: 'clear', sourceId });
  }
}
for (const plan of plans) warningsOf(plan);
for (let t = START; t < END + 2 * 3_600_000; t += TICK_MS) items.push({ at: t, kind: 'tick' });
items.sort((a, b) => a.at - b.at || order(a) - order(b));

/** Warnings before the tick of the same instant, so a tick sees them. */
function order(i: Item): number {
  return i.kind === 'warning' ? 0 : i.kind === 'clear' ? 1 : 2;
}

function hash(...parts: string[]): number {
  return parseInt(stableId(...parts).slice(0, 8), 16);
}

/* ---------- replay ---------- */

let now = START;
const engine = new IncidentEngine({ table, clock: () => now });
const planEnd = new Map(plans.map((p) => [p.event.id, p] as const));
const truthOf = new Map<string, string>();
const incidentOf = new Map<string, string>();
/** The latest planned end among an incident's warnings: when the responder can say it is handled. */
const incidentTruthEnd = new Map<string, number>();
const latencies: number[] = [];
let warnings = 0;
let dispatches = 0;
let breaches = 0;
let closed = 0;
let autoVerified = 0;
let encodedBytes = 0;

/** Responder actions due, by incident: processed at their event time from the tick. */
const actions: { at: number; run: () => IncidentChange | undefined }[] = [];

function observe(change: IncidentChange): void {
  // What the worker would publish: each record encoded once.
  encodedBytes += encodeRecord(change.incident).length;
  for (const e of change.events) {
    encodedBytes += encodeRecord(e).length;
    if (e.type === 'sla_breached') {
      breaches++;
      if (e.stage === 'verify')
        actions.push({ at: now + 5 * MIN, run: () => tryAct(() => engine.verify(e.incident_id, { login: 'bench.commander' })) });
    }
    if (e.type === 'closed') closed++;
    if (e.type === 'verified' && e.machine_made) autoVerified++;
  }
  if (change.dispatch) {
    dispatches++;
    encodedBytes += encodeRecord(change.dispatch).length;
    schedule(change.incident.id, change.dispatch.ts);
  }
  if (change.events.some((e) => e.type === 'proposed')) {
    const id = change.incident.id;
    actions.push({ at: now + 3 * MIN, run: () => tryAct(() => engine.confirmDispatch(id, { login: 'bench.commander' })) });
  }
}

function schedule(id: string, dispatchedAt: number): void {
  // One department in twenty is slow to accept (15 min): the accept SLA runs out and escalates.
  const acceptAfter = hash('slow', id) % 20 === 0 ? 15 * MIN : 2 * MIN;
  actions.push({ at: dispatchedAt + acceptAfter, run: () => tryAct(() => engine.accept(id, { login: 'bench.duty' })) });
  actions.push({ at: dispatchedAt + acceptAfter + 5 * MIN, run: () => tryAct(() => engine.arrive(id, { login: 'bench.duty' })) });
  actions.push({
    at: Math.max(dispatchedAt + acceptAfter + 6 * MIN, (incidentTruthEnd.get(id) ?? dispatchedAt) - 2 * MIN),
    run: () => tryAct(() => engine.resolve(id, { login: 'bench.duty' })),
  });
}

/** A responder step that no longer applies (the case moved on) is skipped, as a person would. */
function tryAct(step: () => IncidentChange): IncidentChange | undefined {
  try {
    return step();
  } catch {
    return undefined;
  }
}

const started = performance.now();
for (const item of items) {
  now = item.at;
  if (item.kind === 'warning') {
    const t0 = performance.now();
    const decoded = decodeRecord(EarlyWarningSchema, item.bytes);
    if (!decoded.ok) throw new Error(`expected the bench's warnings to be valid; got ${decoded.reason}`);
    const outcome = engine.onWarning(decoded.value);
    warnings++;
    truthOf.set(decoded.value.id, item.truth);
    incidentOf.set(decoded.value.id, outcome.outcome === 'duplicate' ? outcome.incidentId : outcome.incident.id);
    if (outcome.outcome !== 'duplicate') {
      const id = outcome.incident.id;
      incidentTruthEnd.set(id, Math.max(incidentTruthEnd.get(id) ?? 0, planEnd.get(item.truth)?.endTs ?? 0));
      observe(outcome);
      if (outcome.dispatch) latencies.push(performance.now() - t0);
    }
  } else if (item.kind === 'clear') {
    for (const c of engine.onAllClear({ ts: item.at, source_id: item.sourceId, reason: 'back in band' })) observe(c);
  } else {
    actions.sort((a, b) => a.at - b.at);
    while (actions.length > 0 && actions[0]!.at <= now) {
      const change = actions.shift()!.run();
      if (change) observe(change);
    }
    for (const c of engine.tick()) observe(c);
  }
}
const seconds = (performance.now() - started) / 1000;

/* ---------- figures ---------- */

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Pairwise precision and recall from the contingency table of (truth, predicted) counts. */
function pairwise(): { precision: number; recall: number } {
  const pairs = (n: number): number => (n * (n - 1)) / 2;
  const cell = new Map<string, number>();
  const byTruth = new Map<string, number>();
  const byPredicted = new Map<string, number>();
  for (const [w, truth] of truthOf) {
    const predicted = incidentOf.get(w) ?? w;
    cell.set(`${truth}\u0000${predicted}`, (cell.get(`${truth}\u0000${predicted}`) ?? 0) + 1);
    byTruth.set(truth, (byTruth.get(truth) ?? 0) + 1);
    byPredicted.set(predicted, (byPredicted.get(predicted) ?? 0) + 1);
  }
  const together = [...cell.values()].reduce((a, n) => a + pairs(n), 0);
  const predictedPairs = [...byPredicted.values()].reduce((a, n) => a + pairs(n), 0);
  const truePairs = [...byTruth.values()].reduce((a, n) => a + pairs(n), 0);
  return { precision: predictedPairs === 0 ? 1 : together / predictedPairs, recall: truePairs === 0 ? 1 : together / truePairs };
}

const { precision, recall } = pairwise();
console.log(`hours=${hours} planned_incidents=${plans.length} rule_version=${table.version}`);
console.log(`warnings=${warnings}`);
console.log(`incidents=${new Set(incidentOf.values()).size}`);
console.log(`dispatches=${dispatches}`);
console.log(`sla_breaches=${breaches}`);
console.log(`closed=${closed} open_at_end=${engine.liveCount}`);
console.log(`encoded_mb=${(encodedBytes / 1e6).toFixed(1)}`);
console.log(`dispatch_p50_ms=${percentile(latencies, 50).toFixed(3)}`);
console.log(`dispatch_p99_ms=${percentile(latencies, 99).toFixed(3)}`);
console.log(`grouping_precision=${precision.toFixed(3)}`);
console.log(`grouping_recall=${recall.toFixed(3)}`);
console.log(`auto_verified_share=${closed === 0 ? 0 : (autoVerified / closed).toFixed(3)}`);
console.log(`warnings_per_s=${Math.round(warnings / seconds)}`);
