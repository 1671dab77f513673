import {
  encodeDimension,
  encodeRecord,
  SCHEMA_HEADER,
  TOPICS,
  type Clock,
  type DimensionRecord,
  type GroundTruthEvent,
  type RunningWorker,
  type WorkerHealth,
} from '@cityops/schemas';
import type { OutgoingMessage, Producer } from '@cityops/bus';
import { IngestError } from '../errors.js';
import { ingestReadings, ingestTicks, type IngestContext } from '../ingest-records.js';
import { createDemoCity, type DemoCity } from './city.js';
import type { InjectedKind } from './incidents.js';
import { createRng, type Rng } from './prng.js';
import { createSimulation, type SimulatedReading, type Simulation } from './simulation.js';

export interface SimulatorOptions {
  producer: Producer;
  /** Wall-clock time source. Production passes Date.now; tests a controllable clock. */
  clock: Clock;
  /** The city to simulate. Default createDemoCity({ seed }). */
  city?: DemoCity;
  /** Seed of noise and incidents. Default: the city's seed. */
  seed?: number;
  /** Simulated ms per wall-clock ms: 1 is real time, 60 plays an hour a minute. Default 1. */
  speedup?: number;
  /** Simulated time at which the run starts, epoch ms. Default clock() at start. */
  startTs?: number;
  /** Simulated time between reading rounds (one reading per sensor each, one send). Default 1000. */
  readingIntervalMs?: number;
  /** Simulated time between market tick rounds (one tick per indicator each). Default 5000. */
  tickIntervalMs?: number;
  /** Simulated time from start to the first injected incident. Default 45_000. */
  firstIncidentAfterMs?: number;
  /** Simulated time between injected incidents (±15%). Default 180_000; 0 injects none. */
  incidentEveryMs?: number;
  /** Kinds to inject. Default all of INJECTED_KINDS. */
  incidentKinds?: readonly InjectedKind[];
  /**
   * Share of readings (0 … 0.5) sent malformed — ts in seconds, a string value, a wrong unit, an
   * out-of-range value, a missing sensor_id — so the dead-letter path shows in the demo. Default 0.
   */
  malformedShare?: number;
  /** Publish areas, sensors, cameras, indicators and departments to city.dimensions first. Default true. */
  publishDimensions?: boolean;
  /** Wall-clock wait before retrying a send the bus refused. Default 1000. */
  retryDelayMs?: number;
  /**
   * When the loop is more than this many reading rounds behind simulated time (a stalled event
   * loop, a speedup the machine cannot keep up with), it skips forward instead of bursting, and
   * counts the skipped rounds. Default 300.
   */
  maxCatchUpRounds?: number;
  /** Worker name in health reports. Default 'simulator'. */
  name?: string;
}

export interface RunningSimulator extends RunningWorker {
  readonly city: DemoCity;
  readonly simulation: Simulation;
  /** Current simulated time, epoch ms. */
  simulatedNow(): number;
}

const GROUND_TRUTH_HEADERS: Readonly<Record<string, string>> = Object.freeze({ [SCHEMA_HEADER]: 'GroundTruthEvent@1' });
/** Rounds handled before yielding to the event loop, so catching up never starves I/O. */
const MAX_ROUNDS_PER_TURN = 50;

/**
 * Runs the demo city: publishes its dimensions, then every reading interval one reading per
 * sensor (one send through the ingest core, so the simulator's records are validated at the
 * same edge as outside ones), market ticks every tick interval, and labelled incidents as
 * GroundTruthEvents on simulator.ground_truth before their effect starts. A send the bus refuses
 * is retried (the same round, same values) after `retryDelayMs`; nothing is skipped for it.
 */
export function runSimulator(options: SimulatorOptions): RunningSimulator {
  const { producer, clock } = options;
  const speedup = options.speedup ?? 1;
  const readingIntervalMs = options.readingIntervalMs ?? 1000;
  const tickIntervalMs = options.tickIntervalMs ?? 5000;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const maxCatchUpRounds = options.maxCatchUpRounds ?? 300;
  const malformedShare = options.malformedShare ?? 0;
  const name = options.name ?? 'simulator';
  for (const [key, v] of [
    ['speedup', speedup],
    ['readingIntervalMs', readingIntervalMs],
    ['tickIntervalMs', tickIntervalMs],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new IngestError('invalid-options', `expected ${key} to be a positive number; got ${v}`);
  }
  if (!(malformedShare >= 0 && malformedShare <= 0.5))
    throw new IngestError('invalid-options', `expected malformedShare in 0…0.5; got ${malformedShare}`);

  const city = options.city ?? createDemoCity(options.seed === undefined ? {} : { seed: options.seed });
  const wallStart = clock();
  const simStart = options.startTs ?? wallStart;
  const simulation = createSimulation({
    city,
    seed: options.seed ?? city.seed,
    startTs: simStart,
    ...(options.firstIncidentAfterMs === undefined ? {} : { firstIncidentAfterMs: options.firstIncidentAfterMs }),
    ...(options.incidentEveryMs === undefined ? {} : { incidentEveryMs: options.incidentEveryMs }),
    ...(options.incidentKinds === undefined ? {} : { incidentKinds: options.incidentKinds }),
  });
  const badRng = createRng(options.seed ?? city.seed, 'malformed');
  const ctx: IngestContext = { producer, clock, source: name };

  const counters = {
    readings_sent: 0,
    ticks_sent: 0,
    incidents_injected: 0,
    malformed_sent: 0,
    rounds_skipped: 0,
    send_errors: 0,
    sim_time_ms: simStart,
  };
  let state: WorkerHealth['state'] = 'starting';
  let lastError = '';
  let deadLettered = 0;
  let dimensionsDone = options.publishDimensions === false;
  let nextReadingTs = simStart;
  let nextTickTs = simStart;
  // A round is generated once and kept until the bus took it, so a retry resends the same values.
  let pendingReadings: { ts: number; records: unknown[] } | undefined;
  let pendingTicks: { ts: number; records: unknown[] } | undefined;
  let pendingTruth: GroundTruthEvent[] = [];
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const simulatedNow = (): number => simStart + (clock() - wallStart) * speedup;

  async function turn(): Promise<number> {
    if (!dimensionsDone) {
      await producer.send(TOPICS.dimensions, dimensionMessages(city));
      dimensionsDone = true;
    }
    state = 'running';
    const now = simulatedNow();
    counters.sim_time_ms = Math.floor(now);
    const behind = Math.floor((now - nextReadingTs) / readingIntervalMs);
    if (behind > maxCatchUpRounds && pendingReadings === undefined) {
      nextReadingTs += behind * readingIntervalMs;
      counters.rounds_skipped += behind;
      const tickBehind = Math.floor((now - nextTickTs) / tickIntervalMs);
      if (tickBehind > 0) nextTickTs += tickBehind * tickIntervalMs;
    }
    for (let rounds = 0; rounds < MAX_ROUNDS_PER_TURN && !stopped; rounds++) {
      const due = Math.min(nextReadingTs, nextTickTs);
      if (due > now) return (due - now) / speedup;
      // Labels go out before the data they label, so an evaluator never sees an unexplained jump.
      for (const inc of simulation.takeStartedIncidents(due)) pendingTruth.push(inc.event);
      if (pendingTruth.length > 0) {
        await producer.send(TOPICS.groundTruth, pendingTruth.map(groundTruthMessage));
        counters.incidents_injected += pendingTruth.length;
        pendingTruth = [];
      }
      if (nextReadingTs <= nextTickTs) {
        pendingReadings ??= { ts: nextReadingTs, records: corrupt(simulation.readings(nextReadingTs), malformedShare, badRng, counters) };
        const result = await ingestReadings(pendingReadings.records, ctx);
        counters.readings_sent += result.accepted;
        deadLettered += result.rejected;
        pendingReadings = undefined;
        nextReadingTs += readingIntervalMs;
      } else {
        pendingTicks ??= { ts: nextTickTs, records: simulation.ticks(nextTickTs) };
        const result = await ingestTicks(pendingTicks.records, ctx);
        counters.ticks_sent += result.accepted;
        deadLettered += result.rejected;
        pendingTicks = undefined;
        nextTickTs += tickIntervalMs;
      }
    }
    return 0; // more is due: yield to the event loop, then continue
  }

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      inFlight = turn().then(
        (next) => schedule(Math.max(0, Math.ceil(next))),
        (e: unknown) => {
          counters.send_errors++;
          lastError = e instanceof Error ? e.message : String(e);
          schedule(retryDelayMs);
        },
      );
    }, delayMs);
  };
  schedule(0);

  return {
    name,
    city,
    simulation,
    simulatedNow,
    health: () => ({
      name,
      state,
      lag: 0,
      processed: counters.readings_sent + counters.ticks_sent,
      dead_lettered: deadLettered,
      last_error: lastError,
      counters: { ...counters },
    }),
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await inFlight;
      state = 'stopped';
    },
  };
}

/** Every dimension record of the city, one message each, for one send to city.dimensions. */
export function dimensionMessages(city: DemoCity): OutgoingMessage[] {
  const records: DimensionRecord[] = [
    ...city.areas.map((record) => ({ name: 'Area' as const, record })),
    ...city.departments.map((record) => ({ name: 'Department' as const, record })),
    ...city.sensors.map((record) => ({ name: 'Sensor' as const, record })),
    ...city.cameras.map((record) => ({ name: 'Camera' as const, record })),
    ...city.indicators.map((record) => ({ name: 'Indicator' as const, record })),
  ];
  return records.map((d) => encodeDimension(d));
}

function groundTruthMessage(event: GroundTruthEvent): OutgoingMessage {
  return { key: event.id, value: encodeRecord(event), headers: GROUND_TRUTH_HEADERS, timestampMs: event.start_ts };
}

/** Replaces a share of readings with the mistakes real field devices make. */
function corrupt(readings: SimulatedReading[], share: number, rng: Rng, counters: { malformed_sent: number }): unknown[] {
  if (share === 0) return readings;
  const out: unknown[] = readings;
  for (let i = 0; i < readings.length; i++) {
    if (rng.next() >= share) continue;
    const r = readings[i]!;
    counters.malformed_sent++;
    switch (rng.int(0, 4)) {
      case 0:
        out[i] = { ...r, ts: Math.floor(r.ts / 1000) }; // seconds instead of milliseconds
        break;
      case 1:
        out[i] = { ...r, value: 'n/a' }; // a device's "no data" placeholder
        break;
      case 2:
        out[i] = { ...r, unit: r.kind === 'water_level' ? 'm' : 'ft' }; // wrong unit
        break;
      case 3:
        out[i] = { ...r, value: -9999 }; // a sentinel outside any physical range
        break;
      default:
        out[i] = { kind: r.kind, ts: r.ts, value: r.value, unit: r.unit }; // firmware that forgot its own id
    }
  }
  return out;
}
