/**
 * Cost of the anomaly worker's batch handler per reading, isolated from ingest and the sink.
 *
 *   node --conditions=@cityops/source --import tsx detectors/bench/anomaly-worker.ts \
 *     [--sensors 10000] [--rounds 200] [--batch-rounds 4]
 *
 * The worker runs on a real in-process bus (dimensions, outputs, dead letters), except that its
 * readings consumer hands the batch handler to this script, which calls it directly with batches
 * shaped like bench:pipeline's under saturation: one batch per partition (8, keyed by sensor id
 * as the bus does), `--batch-rounds` rounds of one reading per sensor each (≈ 5000 readings per
 * batch at 10k sensors, the worker's maxBatchSize). Each bytes object carries its decoded record
 * the way ingest attaches it (`rememberDecoded`), so decoding is the property lookup it is
 * in-process. Probe sensors get spikes as in bench:pipeline, so anomalies and warnings are built.
 *
 * Records and messages are made once and rewritten in place between batches (the worker keeps no
 * reference to a reading after its batch), so what the clock and the GC figure see is the worker.
 * The `--conditions` flag matters: without it `@cityops/bus` resolves to bus/dist.
 * Prints `name=value` lines; the headline, `worker_ns_per_reading`, last.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { createInProcessBus, partitionForKey, type BatchHandler, type Bus, type Consumer, type IncomingMessage, type MessageBatch } from '@cityops/bus';
import {
  DEFAULT_PARTITIONS,
  SENSOR_KINDS,
  SensorReading as SensorReadingSchema,
  TOPICS,
  encodeDimension,
  encodeRecord,
  rememberDecoded,
  type SensorKind,
  type SensorReading,
} from '@cityops/schemas';
import { startAnomalyWorker } from '../src/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const SENSORS = arg('sensors', 10_000);
const TIMED_ROUNDS = arg('rounds', 200);
const BATCH_ROUNDS = arg('batch-rounds', 4);
// Same shape as bench:pipeline: 40 rounds fill past warm-up, then episodes of probe spikes.
const WARMUP_ROUNDS = 40;
const PROBES_PER_EPISODE = 20;
const EPISODE_EVERY_ROUNDS = 15;
const EPISODE_ROUNDS = 5;
const PARTITIONS = DEFAULT_PARTITIONS[TOPICS.sensorReadings];
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

const BASELINE: Record<SensorKind, { level: number; noise: number; spike: number; unit: string }> = {
  traffic_speed: { level: 45, noise: 2, spike: -40, unit: 'km/h' },
  traffic_occupancy: { level: 30, noise: 2, spike: 60, unit: '%' },
  water_level: { level: 20, noise: 1, spike: 300, unit: 'cm' },
  air_quality_pm25: { level: 35, noise: 3, spike: 600, unit: 'µg/m³' },
  power_load: { level: 400, noise: 8, spike: 2500, unit: 'MW' },
};

let seed = 42;
const noise = (): number => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32 - 0.5;
};

// The readings consumer of the worker is intercepted; everything else is the real bus.
const inner = createInProcessBus();
let handler: BatchHandler | undefined;
const bus: Bus = {
  kind: inner.kind,
  ensureTopics: (topics) => inner.ensureTopics(topics),
  producer: () => inner.producer(),
  close: () => inner.close(),
  consumer: (options): Consumer => {
    if (!options.topics.includes(TOPICS.sensorReadings)) return inner.consumer(options);
    return {
      run: (h) => {
        handler = h;
        return Promise.resolve();
      },
      pause: () => undefined,
      resume: () => undefined,
      stop: () => Promise.resolve(),
      lag: () => Promise.resolve({ [TOPICS.sensorReadings]: 0 }),
    };
  },
};
await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));

const sensorIds = Array.from({ length: SENSORS }, (_, i) => `bench-s${i}`);
const kinds = sensorIds.map((_, i) => SENSOR_KINDS[i % SENSOR_KINDS.length]!);
await inner.producer().send(
  TOPICS.dimensions,
  sensorIds.map((id, i) =>
    encodeDimension({
      name: 'Sensor',
      record: { id, schema_version: 1, kind: kinds[i]!, area_id: `area-${i % 8}`, name: id, lon: 121.4 + (i % 100) / 1000, lat: 31.2 + Math.floor(i / 100) / 1000, unit: BASELINE[kinds[i]!].unit },
    }),
  ),
);
const worker = await startAnomalyWorker({ bus });
if (handler === undefined) throw new Error('expected the worker to register a readings handler');
const handle: BatchHandler = handler;

// One batch per partition; slot j of a batch is (round-in-step, sensor) = (j / size, bySensor[j % size]).
const bySensor: number[][] = Array.from({ length: PARTITIONS }, () => []);
for (let i = 0; i < SENSORS; i++) bySensor[partitionForKey(sensorIds[i]!, PARTITIONS)]!.push(i);
const records: SensorReading[][] = [];
const batches: MessageBatch[] = [];
for (let p = 0; p < PARTITIONS; p++) {
  const members = bySensor[p]!;
  const recs: SensorReading[] = [];
  const messages: IncomingMessage[] = [];
  for (let k = 0; k < BATCH_ROUNDS; k++) {
    for (const i of members) {
      const r: SensorReading = { id: `r-${i}-${k}`, schema_version: 1, sensor_id: sensorIds[i]!, kind: kinds[i]!, ts: T0, value: 0, unit: BASELINE[kinds[i]!].unit };
      const value = encodeRecord(r);
      rememberDecoded(value, SensorReadingSchema, r);
      recs.push(r);
      messages.push({ topic: TOPICS.sensorReadings, partition: p, offset: String(messages.length), key: r.sensor_id, value, headers: {}, timestampMs: T0 });
    }
  }
  records.push(recs);
  batches.push({ topic: TOPICS.sensorReadings, partition: p, messages, lag: 0 });
}

/** Rewrites the batches in place with rounds [first, first + BATCH_ROUNDS). */
function fill(first: number): void {
  for (let p = 0; p < PARTITIONS; p++) {
    const members = bySensor[p]!;
    const recs = records[p]!;
    for (let k = 0; k < BATCH_ROUNDS; k++) {
      const round = first + k;
      const ts = T0 + round * 1000;
      const episode = round >= WARMUP_ROUNDS && (round - WARMUP_ROUNDS) % EPISODE_EVERY_ROUNDS < EPISODE_ROUNDS;
      const episodeNo = Math.floor((round - WARMUP_ROUNDS) / EPISODE_EVERY_ROUNDS);
      for (let j = 0; j < members.length; j++) {
        const i = members[j]!;
        const b = BASELINE[kinds[i]!];
        const probe = episode && (i * 7919 + episodeNo * 104729) % SENSORS < PROBES_PER_EPISODE;
        const r = recs[k * members.length + j]!;
        r.ts = ts;
        r.value = Math.max(0, Math.round((b.level + b.noise * noise() + (probe ? b.spike : 0)) * 100) / 100);
      }
    }
  }
}

let gcMs = 0;
let gcCount = 0;
let timing = false;
const gcObserver = new PerformanceObserver((list) => {
  if (!timing) return;
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcCount++;
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

let round = 0;
for (; round < WARMUP_ROUNDS; round += BATCH_ROUNDS) {
  fill(round);
  for (const batch of batches) await handle(batch);
}

timing = true;
let elapsedMs = 0;
let readings = 0;
const end = round + TIMED_ROUNDS;
for (; round < end; round += BATCH_ROUNDS) {
  fill(round);
  for (const batch of batches) {
    const t = performance.now();
    await handle(batch);
    elapsedMs += performance.now() - t;
    readings += batch.messages.length;
  }
}
// GC entries arrive asynchronously; let the observer see the last ones.
await new Promise((r) => setTimeout(r, 50));
timing = false;
gcObserver.disconnect();

const health = worker.health();
await worker.stop();
await bus.close();

console.log(`sensors=${SENSORS}`);
console.log(`batch_readings=${Math.round(readings / (batches.length * (TIMED_ROUNDS / BATCH_ROUNDS)))}`);
console.log(`timed_readings=${readings}`);
console.log(`anomalies_emitted=${health.counters['anomalies_emitted']}`);
console.log(`warnings_emitted=${health.counters['warnings_emitted']}`);
console.log(`gc_ms=${gcMs.toFixed(1)} gc_events=${gcCount}`);
console.log(`gc_ns_per_reading=${((gcMs * 1e6) / readings).toFixed(0)}`);
console.log(`worker_ns_per_reading=${((elapsedMs * 1e6) / readings).toFixed(0)}`);
