/**
 * Cost of the anomaly worker's batch handler per reading, isolated from ingest and the sink.
 *
 *   node --expose-gc --max-semi-space-size=64 --conditions=@cityops/source --import tsx \
 *     detectors/bench/anomaly-worker.ts [--sensors 10000] [--rounds 200] [--batch-rounds 4] [--ahead 4]
 *
 * The worker runs on a real in-process bus (dimensions, outputs, dead letters), except that its
 * readings consumer hands the batch handler to this script, which calls it directly with batches
 * shaped like bench:pipeline's under saturation: one batch per partition (8, keyed by sensor id
 * as the bus does), `--batch-rounds` rounds of one reading per sensor each (≈ 5000 readings per
 * batch at 10k sensors), packed 600 to a message. Each message carries its readings as the
 * columns ingest leaves on it (@cityops/schemas reading-columns.ts), so the worker reads them as
 * it does in-process. Probe sensors get spikes as in bench:pipeline, so anomalies and warnings are built.
 * Only the handler calls are timed; batches are built off the clock, `--ahead` steps early so
 * they wait in memory as a saturated bus's backlog does.
 *
 * `--conditions` matters: without it `@cityops/bus` resolves to bus/dist. `--expose-gc` lets the
 * script empty the young generation after making each step, off the clock, so collections of
 * its own garbage do not land in the timed calls. The worker's garbage then rarely fills the
 * young generation within a step either: what it costs the pipeline's collector shows as
 * `alloc_bytes_per_reading` (heap growth across a handler call, on calls with no collection),
 * and `gc_ms` is only what did run inside the timed calls.
 * Prints `name=value` lines; the headline, `worker_ns_per_reading` (mean), last. On a shared
 * machine a few batches lose the core for a while; `worker_median_ns_per_reading` shrugs that off.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import {
  createInProcessBus,
  partitionForKey,
  type BatchHandler,
  type Bus,
  type Consumer,
  type IncomingMessage,
  type MessageBatch,
} from '@cityops/bus';
import {
  DEFAULT_PARTITIONS,
  SENSOR_KINDS,
  TOPICS,
  encodeDimension,
  recordBatchHeaders,
  RECORDS_HEADER,
  rememberReadingColumns,
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
// Batches are made this many steps (of BATCH_ROUNDS rounds) before they are handled: at 10k
// sensors, 4 steps are 160k readings, the in-process bus's bound on a saturated backlog (8
// partitions × 20k). So the worker finds its input as cold in the cache as in the pipeline.
const AHEAD = arg('ahead', 4);
// Same shape as bench:pipeline: 40 rounds fill past warm-up, then episodes of probe spikes.
const WARMUP_ROUNDS = 40;
const PROBES_PER_EPISODE = 20;
const EPISODE_EVERY_ROUNDS = 15;
const EPISODE_ROUNDS = 5;
const PARTITIONS = DEFAULT_PARTITIONS[TOPICS.sensorReadings];
/** Readings per message, as ingest packs them (DEFAULT_MAX_RECORDS_PER_MESSAGE). */
const MAX_RECORDS_PER_MESSAGE = 600;
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
      record: {
        id,
        schema_version: 1,
        kind: kinds[i]!,
        area_id: `area-${i % 8}`,
        name: id,
        lon: 121.4 + (i % 100) / 1000,
        lat: 31.2 + Math.floor(i / 100) / 1000,
        unit: BASELINE[kinds[i]!].unit,
      },
    }),
  ),
);
const worker = await startAnomalyWorker({ bus });
if (handler === undefined) throw new Error('expected the worker to register a readings handler');
const handle: BatchHandler = handler;

// One batch per partition: `BATCH_ROUNDS` rounds of the partition's sensors.
const bySensor: number[][] = Array.from({ length: PARTITIONS }, () => []);
for (let i = 0; i < SENSORS; i++) bySensor[partitionForKey(sensorIds[i]!, PARTITIONS)]!.push(i);
const collect = (globalThis as { gc?: (options: { type: 'minor' | 'major' }) => void }).gc;

/**
 * Batches for rounds [first, first + BATCH_ROUNDS), made the way ingest makes them: per
 * partition, the readings as columns (the sensor ids ingest was given, fresh arrays of numbers),
 * their NDJSON in one buffer, a view per message of up to MAX_RECORDS_PER_MESSAGE readings with
 * the columns left on it. Fresh arrays, as in the pipeline, so the worker reads input it has not
 * seen before rather than a warm reused set.
 */
function makeBatches(first: number): MessageBatch[] {
  const batches: MessageBatch[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const members = bySensor[p]!;
    const columns = {
      sensorIds: [] as string[],
      kinds: [] as SensorKind[],
      ts: [] as number[],
      values: [] as number[],
      units: [] as string[],
      slots: [] as number[],
    };
    const texts: string[] = [];
    for (let k = 0; k < BATCH_ROUNDS; k++) {
      const round = first + k;
      const ts = T0 + round * 1000;
      const episode = round >= WARMUP_ROUNDS && (round - WARMUP_ROUNDS) % EPISODE_EVERY_ROUNDS < EPISODE_ROUNDS;
      const episodeNo = Math.floor((round - WARMUP_ROUNDS) / EPISODE_EVERY_ROUNDS);
      for (const i of members) {
        const kind = kinds[i]!;
        const b = BASELINE[kind];
        const probe = episode && (i * 7919 + episodeNo * 104729) % SENSORS < PROBES_PER_EPISODE;
        const value = Math.max(0, Math.round((b.level + b.noise * noise() + (probe ? b.spike : 0)) * 100) / 100);
        const r: SensorReading = {
          id: `${sensorIds[i]!}@${ts}`,
          schema_version: 1,
          sensor_id: sensorIds[i]!,
          kind,
          ts,
          value,
          unit: b.unit,
        };
        columns.sensorIds.push(r.sensor_id);
        columns.kinds.push(kind);
        columns.ts.push(ts);
        columns.values.push(value);
        columns.units.push(b.unit);
        // Ingest gives each sensor a slot (ReadingColumns.slots); the sensor's number serves.
        columns.slots.push(i);
        texts.push(JSON.stringify(r));
      }
    }
    const buffer = Buffer.from(texts.join('\n'));
    const messages: IncomingMessage[] = [];
    let at = 0;
    for (let start = 0; start < texts.length; start += MAX_RECORDS_PER_MESSAGE) {
      const count = Math.min(MAX_RECORDS_PER_MESSAGE, texts.length - start);
      let bytes = count - 1;
      for (let j = start; j < start + count; j++) bytes += Buffer.byteLength(texts[j]!);
      const value = buffer.subarray(at, at + bytes);
      at += bytes + 1;
      rememberReadingColumns(value, { start, count, ...columns, ids: undefined });
      messages.push({
        topic: TOPICS.sensorReadings,
        partition: p,
        offset: String(start),
        key: `partition-${p}`,
        value,
        headers: recordBatchHeaders('SensorReading', count),
        timestampMs: columns.ts[start]!,
      });
    }
    batches.push({ topic: TOPICS.sensorReadings, partition: p, messages, lag: 0 });
  }
  // With --expose-gc, the young generation is emptied here, off the clock, so a scavenge during
  // the timed handler calls is paid for the worker's own garbage, not for this function's.
  collect?.({ type: 'minor' });
  return batches;
}

/** Bytes in use across all heap spaces (new, old, large objects…). */
function heapUsed(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics()) used += space.space_used_size;
  return used;
}

// GC pauses by start time; only those inside a timed handler call are counted.
const gcStarts: number[] = [];
const gcDurations: number[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcStarts.push(e.startTime);
    gcDurations.push(e.duration);
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

// Rounds are made in order up to `made`, handled in order up to `round`.
let round = 0;
let made = 0;
const backlog: MessageBatch[][] = [];
/** The oldest step of the backlog, after making one more. */
function nextStep(): MessageBatch[] {
  while (backlog.length <= AHEAD) {
    backlog.push(makeBatches(made));
    made += BATCH_ROUNDS;
  }
  round += BATCH_ROUNDS;
  return backlog.shift()!;
}
while (round < WARMUP_ROUNDS) {
  for (const batch of nextStep()) await handle(batch);
}

/** Readings in a batch: each message holds several (its records header). */
const readingsIn = (batch: MessageBatch): number => batch.messages.reduce((n, m) => n + Number(m.headers[RECORDS_HEADER] ?? 1), 0);

const timed: [number, number][] = [];
/** Per batch, for the median. */
const perReadingNs: number[] = [];
let allocatedBytes = 0;
let allocatedReadings = 0;
let readings = 0;
const end = round + TIMED_ROUNDS;
while (round < end) {
  for (const batch of nextStep()) {
    const heapBefore = heapUsed();
    const gcsBefore = gcStarts.length;
    const t = performance.now();
    await handle(batch);
    timed.push([t, performance.now()]);
    const inBatch = readingsIn(batch);
    perReadingNs.push(((timed[timed.length - 1]![1] - t) * 1e6) / inBatch);
    readings += inBatch;
    // Heap growth is what was allocated only if no collection ran in between; the observer
    // has not necessarily reported one yet, so a shrink also says one ran.
    const grown = heapUsed() - heapBefore;
    if (gcStarts.length === gcsBefore && grown >= 0) {
      allocatedBytes += grown;
      allocatedReadings += inBatch;
    }
  }
}
// GC entries arrive asynchronously; let the observer see the last ones.
await new Promise((r) => setTimeout(r, 50));
gcObserver.disconnect();
const elapsedMs = timed.reduce((sum, [from, to]) => sum + to - from, 0);
let gcMs = 0;
let gcCount = 0;
for (let g = 0; g < gcStarts.length; g++) {
  const at = gcStarts[g]!;
  if (timed.some(([from, to]) => at >= from && at < to)) {
    gcMs += gcDurations[g]!;
    gcCount++;
  }
}

const health = worker.health();
await worker.stop();
await bus.close();

console.log(`sensors=${SENSORS}`);
console.log(`batch_readings=${Math.round(readings / timed.length)}`);
console.log(`timed_readings=${readings}`);
console.log(`anomalies_emitted=${health.counters['anomalies_emitted']}`);
console.log(`warnings_emitted=${health.counters['warnings_emitted']}`);
console.log(`alloc_measured_readings=${allocatedReadings}`);
console.log(`alloc_bytes_per_reading=${allocatedReadings === 0 ? 'NaN' : (allocatedBytes / allocatedReadings).toFixed(1)}`);
console.log(`gc_events=${gcCount}`);
console.log(`gc_ms=${gcMs.toFixed(1)}`);
perReadingNs.sort((a, b) => a - b);
console.log(`worker_median_ns_per_reading=${perReadingNs[perReadingNs.length >> 1]!.toFixed(0)}`);
console.log(`worker_ns_per_reading=${((elapsedMs * 1e6) / readings).toFixed(0)}`);
