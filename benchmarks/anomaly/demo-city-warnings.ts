import { performance } from 'node:perf_hooks';
import { createInProcessBus } from '@cityops/bus';
import { startAnomalyWorker, type AnomalyWorkerConfig } from '@cityops/detectors';
import { createDemoCity, createSimulation, dimensionMessages, ingestReadings, type PlannedIncident } from '@cityops/ingest';
import {
  DEFAULT_PARTITIONS,
  EarlyWarning as EarlyWarningSchema,
  TOPICS,
  decodeRecord,
  levelRank,
  type EarlyWarning,
} from '@cityops/schemas';

/**
 * What operators get from the anomaly worker on the demo city: its labelled incidents replayed as
 * fast as the worker takes them (one reading per sensor per second of simulated time, through the
 * ingest core onto the in-process bus), and the warnings it raised scored against the labels.
 *
 * - An incident is detected when a warning of its kind comes from one of its sources between its
 *   start and 10 minutes after its end; its delay is the first such warning's time from its start.
 *   Price shocks are market indicators (the forecaster's), not sensors, and are left out.
 * - A false warning is an opened one (not a raise) from a source that no incident was moving then.
 * - The replay starts cold, at local midnight, so it includes the warm-up and a whole day's cycle.
 * - `readingIntervalMs` (default 1 s) replays the city at another cadence, one reading per sensor
 *   per interval (detectors/README.md compares the detectors at 15 s to 5 min).
 */
export interface DemoCityWarningQuality {
  hours: number;
  sensors: number;
  readings: number;
  incidents: number;
  detected: number;
  /** Detected incidents whose warnings reached the level the label expects. */
  reachedLevel: number;
  delaysS: number[];
  warningsOpened: number;
  /**
   * Warnings opened again by a source during one incident, after its first: each is the same
   * condition closed and reopened (flapping), a second alert for what the wall already shows.
   */
  reopened: number;
  reopenedByKind: Record<string, number>;
  falseOpened: number;
  falseByKind: Record<string, number>;
  wallS: number;
}

const GRACE_MS = 10 * 60_000;

export async function demoCityWarningQuality(
  hours: number,
  detector: Record<string, unknown>,
  workerConfig: AnomalyWorkerConfig = {},
  readingIntervalMs = 1000,
): Promise<DemoCityWarningQuality> {
  // 00:00 in the demo city (UTC+8).
  const start = Date.UTC(2026, 0, 4, 16, 0, 0);
  const end = start + hours * 3_600_000;
  const city = createDemoCity({});
  const simulation = createSimulation({ city, startTs: start });
  const bus = createInProcessBus();
  await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
  const producer = bus.producer();
  await producer.send(TOPICS.dimensions, dimensionMessages(city));
  const worker = await startAnomalyWorker({
    bus,
    clock: () => start,
    config: { ...workerConfig, detector },
    log: (line) => console.log(`# ${line}`),
  });
  const warnings: EarlyWarning[] = [];
  const consumer = bus.consumer({ groupId: 'bench-warnings', topics: [TOPICS.warnings], fromBeginning: true });
  await consumer.run((batch) => {
    for (const m of batch.messages) {
      const d = decodeRecord(EarlyWarningSchema, m.value);
      if (!d.ok) throw new Error(`expected the worker to produce valid EarlyWarnings; got one that is not: ${d.reason}`);
      warnings.push(d.value);
    }
    return Promise.resolve();
  });
  const drained = async (): Promise<void> => {
    while (worker.health().lag > 0) await new Promise((r) => setTimeout(r, 2));
  };
  const ctx = { producer, clock: () => start, source: 'bench-anomaly' };
  const began = performance.now();
  let readings = 0;
  for (let ts = start, round = 0; ts < end; ts += readingIntervalMs, round++) {
    readings += (await ingestReadings(simulation.readings(ts), ctx)).accepted;
    // Sixty rounds of readings at a time: the bus stays short, as a worker keeping up sees it.
    if (round % 60 === 59) await drained();
  }
  await drained();
  const wallS = (performance.now() - began) / 1000;
  await consumer.stop();
  await worker.stop();
  await bus.close();

  const plans = simulation.incidentsUntil(end).filter((p) => p.endTs <= end && p.kind !== 'price_shock');
  const explained = new Set<string>();
  let detected = 0;
  let reachedLevel = 0;
  const delaysS: number[] = [];
  const isOpening = (w: EarlyWarning) => !w.reasons.some((r) => r.includes('; raised from '));
  let reopened = 0;
  const reopenedByKind: Record<string, number> = {};
  for (const p of plans) {
    const hits = warningsDuring(warnings, p);
    for (const w of hits) explained.add(w.id);
    const seenSources = new Set<string>();
    for (const w of hits) {
      if (!isOpening(w)) continue;
      if (seenSources.has(w.source_id)) {
        reopened++;
        reopenedByKind[`${w.kind}/${w.level}`] = (reopenedByKind[`${w.kind}/${w.level}`] ?? 0) + 1;
      }
      seenSources.add(w.source_id);
    }
    const right = hits.filter((w) => w.kind === p.event.kind);
    if (right.length === 0) continue;
    detected++;
    delaysS.push((Math.min(...right.map((w) => w.ts)) - p.event.start_ts) / 1000);
    if (right.some((w) => levelRank(w.level) >= levelRank(p.event.expected_level))) reachedLevel++;
  }
  const opened = warnings.filter(isOpening);
  const falseOpened = opened.filter((w) => !explained.has(w.id));
  const falseByKind: Record<string, number> = {};
  for (const w of falseOpened) falseByKind[`${w.kind}/${w.level}`] = (falseByKind[`${w.kind}/${w.level}`] ?? 0) + 1;
  delaysS.sort((a, b) => a - b);
  return {
    hours,
    sensors: city.sensors.length,
    readings,
    incidents: plans.length,
    detected,
    reachedLevel,
    delaysS,
    warningsOpened: opened.length,
    reopened,
    reopenedByKind,
    falseOpened: falseOpened.length,
    falseByKind,
    wallS,
  };
}

/** Warnings from an incident's sources while it was under way (or within the grace after it). */
function warningsDuring(warnings: readonly EarlyWarning[], p: PlannedIncident): EarlyWarning[] {
  const sources = new Set(p.event.source_ids);
  return warnings.filter((w) => sources.has(w.source_id) && w.ts >= p.event.start_ts && w.ts <= p.event.end_ts + GRACE_MS);
}
