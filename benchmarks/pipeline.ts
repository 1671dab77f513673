/**
 * bench:pipeline — sustained readings/s from the ingest layer through anomaly detection into
 * ClickHouse on the embedded default (in-process bus, chDB), against the store's own insert limit.
 *
 *   npm run bench:pipeline -- [--readings 3000000] [--pairs 3] [--sensors 10000] [--entry in-process|http]
 *     [--detector by-cadence|rolling-robust-z|…] [--stages all|ingest|bus]
 *
 * Throughput is measured in `pairs` rounds, each a pipeline run of readings / pairs readings
 * followed at once by the store's own limit on as many rows: on a shared machine the load swings
 * by ±20% within a minute, and a pipeline figure divided by a limit measured a minute apart
 * measured the swing as much as the pipeline (single-shot ratios of 0.46–0.67 on one day).
 *
 * Each round sends one reading per sensor (one second of event time). Probe sensors are pushed far
 * outside their band for a few rounds; the latency of each resulting warning is measured from the
 * wall time its triggering reading entered ingest to the wall time the warning arrived on the bus.
 * The anomaly worker runs the detector `npm start` runs (`by-cadence`, CITYOPS_ANOMALY_DETECTOR's
 * default), unless `--detector` names another plugin type.
 *
 * `--stages` takes the path apart (docs/decisions/0004, session 13). `all` (the default) is the
 * figure the platform issue asks for. `ingest` leaves out the anomaly worker, so there is no
 * latency phase. `bus` also leaves out ingest: the readings' bus messages, made by the ingest code
 * before any clock starts (the direct phase's pool), are produced straight to the bus for the sink.
 * The ratio of each variant says how much of the store's limit the stages it keeps still reach.
 *
 * Figures, the headline (readings_per_s) last:
 *   entry, stages, detector, readings, sensors, store_rows_per_s, ratio (readings_per_s / store_rows_per_s, over
 *   all pairs), ratio_per_pair, ingest_to_warning_p50_ms, ingest_to_warning_p99_ms, warnings,
 *   pipeline_run_queue_wait_cores and store_run_queue_wait_cores (time this process's threads were
 *   ready to run but waited for a CPU, per second of each phase; Linux only), peak_rss_mb,
 *   readings_per_s
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  DEFAULT_PARTITIONS,
  decodeRecord,
  EarlyWarning,
  encodeDimension,
  RECORDS_HEADER,
  SENSOR_KINDS,
  TOPICS,
  type SensorKind,
} from '@cityops/schemas';
import { createInProcessBus, type OutgoingMessage, type Producer } from '@cityops/bus';
import { createJsonBatchWriter, openStore, SINK_WRITER_DEFAULTS, startSink, type JsonRows } from '@cityops/store';
import { createIngestHandler, ingestReadings } from '@cityops/ingest';
import { startAnomalyWorker } from '@cityops/detectors';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '3000000' },
    pairs: { type: 'string', default: '3' },
    sensors: { type: 'string', default: '10000' },
    entry: { type: 'string', default: 'in-process' },
    detector: { type: 'string', default: 'by-cadence' },
    stages: { type: 'string', default: 'all' },
  },
});
const TOTAL = Number(args.readings);
const SENSORS = Number(args.sensors);
const ENTRY = args.entry === 'http' ? 'http' : 'in-process';
const PAIRS = Math.max(1, Number(args.pairs));
const STAGE_CHOICES = ['all', 'ingest', 'bus'] as const;
const STAGES = STAGE_CHOICES.find((c) => c === args.stages);
if (STAGES === undefined) throw new Error(`--stages: expected one of ${STAGE_CHOICES.join(', ')}; got '${args.stages}'`);
if (STAGES === 'bus' && ENTRY === 'http')
  throw new Error('--stages bus: expected --entry in-process; the bus variant has no ingest to enter');
/** Seconds of sustained load in the latency phase. */
const LATENCY_SECONDS = 10;
const BATCH = 5000;
// Recent event times: ClickHouse drops rows already past their table TTL at insert.
const T0_EVENT_MS = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const WARMUP_ROUNDS = 40;
const PROBES_PER_EPISODE = 20;
const EPISODE_EVERY_ROUNDS = 15;
const EPISODE_ROUNDS = 5;

const BASELINE: Record<SensorKind, { level: number; noise: number; spike: number; unit: string }> = {
  traffic_speed: { level: 45, noise: 2, spike: -40, unit: 'km/h' },
  traffic_occupancy: { level: 30, noise: 2, spike: 60, unit: '%' },
  water_level: { level: 20, noise: 1, spike: 300, unit: 'cm' },
  air_quality_pm25: { level: 35, noise: 3, spike: 600, unit: 'µg/m³' },
  power_load: { level: 400, noise: 8, spike: 2500, unit: 'MW' },
};

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);

const dataDir = mkdtempSync(join(tmpdir(), 'cityops-bench-pipeline-'));
const store = await openStore({ kind: 'embedded', dataDir });
await store.migrate();
const bus = createInProcessBus();
await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
const producer = bus.producer();

const sensorIds = Array.from({ length: SENSORS }, (_, i) => `bench-s${i}`);
const kinds = sensorIds.map((_, i) => SENSOR_KINDS[i % SENSOR_KINDS.length]!);
await producer.send(
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

const sink = await startSink({ bus, store });
const anomaly = STAGES === 'all' ? await startAnomalyWorker({ bus, config: { detector: { type: args.detector } } }) : undefined;

// Wall time each probe reading entered ingest, by sensor and event time.
const probeIngestWallMs = new Map<string, number>();
const latencies: number[] = [];
await bus.consumer({ groupId: 'bench-warnings', topics: [TOPICS.warnings], fromBeginning: true }).run((batch) => {
  const now = performance.now();
  for (const m of batch.messages) {
    const w = decodeRecord(EarlyWarning, m.value);
    if (!w.ok) continue;
    const sent = probeIngestWallMs.get(`${w.value.source_id}@${w.value.ts}`);
    if (sent !== undefined) latencies.push(now - sent);
  }
  return Promise.resolve();
});

let entry: (batch: object[]) => Promise<void>;
let closeEntry = async () => {};
if (ENTRY === 'http') {
  const handler = createIngestHandler({ producer, apiKeys: () => ['bench'], clock: Date.now });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ingest/readings`;
  entry = async (batch) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'bench' },
      body: JSON.stringify(batch),
    });
    if (res.status !== 202) throw new Error(`expected 202 from ingest; got ${res.status}: ${await res.text()}`);
  };
  closeEntry = () => new Promise((r) => server.close(() => r()));
} else {
  const ctx = { producer, clock: Date.now };
  entry = async (batch) => {
    const r = await ingestReadings(batch, ctx);
    if (r.rejected > 0) throw new Error(`expected every bench reading to be valid; ${r.rejected} rejected: ${JSON.stringify(r.errors[0])}`);
  };
}

const SEED = 42;
let seed = SEED;
const noise = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32 - 0.5;
};

/**
 * The readings of sensors [first, end) in `round`, one second of event time after the round
 * before. Probe sensors are pushed far outside their band during episodes; `onProbe` hears each.
 */
function roundReadings(round: number, first: number, end: number, onProbe?: (key: string) => void): object[] {
  const ts = T0_EVENT_MS + round * 1000;
  const episode = round >= WARMUP_ROUNDS && (round - WARMUP_ROUNDS) % EPISODE_EVERY_ROUNDS < EPISODE_ROUNDS;
  const episodeNo = Math.floor((round - WARMUP_ROUNDS) / EPISODE_EVERY_ROUNDS);
  const batch = new Array<object>(end - first);
  for (let i = first; i < end; i++) {
    const kind = kinds[i]!;
    const b = BASELINE[kind];
    const probe = episode && (i * 7919 + episodeNo * 104729) % SENSORS < PROBES_PER_EPISODE;
    const value = b.level + b.noise * noise() + (probe ? b.spike : 0);
    if (probe) onProbe?.(`${sensorIds[i]}@${ts}`);
    batch[i - first] = { sensor_id: sensorIds[i], kind, ts, value: Math.max(0, Math.round(value * 100) / 100), unit: b.unit };
  }
  return batch;
}

/**
 * Sends rounds [fromRound, toRound) — one reading per sensor per round — through the ingest
 * entry. With `ratePerS`, batches are paced to that offered load.
 */
async function sendRounds(fromRound: number, toRound: number, ratePerS?: number): Promise<number> {
  const start = performance.now();
  let sentHere = 0;
  for (let round = fromRound; round < toRound; round++) {
    for (let first = 0; first < SENSORS; first += BATCH) {
      const end = Math.min(SENSORS, first + BATCH);
      if (ratePerS !== undefined) {
        const due = start + (sentHere / ratePerS) * 1000;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
      if (STAGES === 'bus') {
        const pooled = pooledMessages[nextPooledMessages++ % pooledMessages.length]!;
        await producer.send(TOPICS.sensorReadings, pooled.messages);
        sentHere += pooled.readings;
        continue;
      }
      const wall = performance.now();
      const batch = roundReadings(round, first, end, (key) => probeIngestWallMs.set(key, wall));
      await entry(batch);
      // Paced batches arrive as separate events, as HTTP requests do: the consumers' delivery
      // (a setImmediate pump) runs between them. Without this, a sender that fell behind caught
      // up in one unbroken chain of microtasks, holding off the anomaly worker for hundreds of
      // ms, and the p99 measured that loop rather than the pipeline. The throughput phase is
      // closed-loop: backpressure already makes it wait whenever the sink lags.
      if (ratePerS !== undefined) await new Promise((r) => setImmediate(r));
      sentHere += batch.length;
    }
  }
  return sentHere;
}

const rowsWritten = () => sink.health().counters['rows_written_readings'] ?? 0;
async function drained(rows: number): Promise<void> {
  while (rowsWritten() < rows) await new Promise((r) => setTimeout(r, 5));
}

/** Waits until the store has merged what was written, so each run starts from a settled store. */
async function settled(): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 500) {
    const [m] = await store.query<{ n: number | string }>(`SELECT count() AS n FROM system.merges WHERE database = currentDatabase()`);
    if (Number(m?.n ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

// The limit: rows straight into the store through the writer the sink uses for readings (JSON
// passthrough). The rows are the pipeline's own: the first rounds' readings (same generator, same
// seed), turned into bus messages by the same ingest code, whose bytes the sink would pass to
// ClickHouse. They are encoded before any clock starts, a pool of them reused round-robin
// (repeats only collapse later, in background merges): the store's best case, as the sink sees
// it, on the data the pipeline writes.
const writer = createJsonBatchWriter(store, 'readings', { ...SINK_WRITER_DEFAULTS });
const DIRECT_OUTSTANDING_ADDS = Math.ceil((2 * (SINK_WRITER_DEFAULTS.maxRows ?? 50_000)) / BATCH);
const directBatches: JsonRows[][] = [];
const capture: JsonRows[] = [];
/** The same batches as the bus messages ingest produced, for `--stages bus`. */
const pooledMessages: { messages: OutgoingMessage[]; readings: number }[] = [];
let nextPooledMessages = 0;
const capturing: Producer = {
  send: (_topic, messages) => {
    for (const m of messages) capture.push({ bytes: m.value, rows: Number(m.headers?.[RECORDS_HEADER] ?? 1) });
    pooledMessages.push({ messages: [...messages], readings: 0 });
    return Promise.resolve();
  },
  flush: () => Promise.resolve(),
};
for (let round = 0, pooled = 0; pooled < Math.min(TOTAL, 200_000); round++) {
  for (let first = 0; first < SENSORS; first += BATCH) {
    const r = await ingestReadings(roundReadings(round, first, Math.min(SENSORS, first + BATCH)), { producer: capturing, clock: Date.now });
    if (r.rejected > 0) throw new Error(`expected every bench reading to be valid; ${r.rejected} rejected`);
    directBatches.push(capture.splice(0));
    pooledMessages[pooledMessages.length - 1]!.readings = r.accepted;
    pooled += r.accepted;
  }
}
seed = SEED; // the pipeline's rounds start from the same readings
let nextDirectBatch = 0;

/** Inserts `rows` rows of the pool straight through the writer; resolves with the seconds and CPU it took. */
async function directRun(rows: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const pending: Promise<void>[] = [];
  for (let written = 0; written < rows;) {
    const chunks = directBatches[nextDirectBatch++ % directBatches.length]!;
    pending.push(writer.add(chunks));
    for (const c of chunks) written += c.rows;
    // Enough rows outstanding for the writer's concurrent full inserts, as the sink keeps under load.
    if (pending.length >= DIRECT_OUTSTANDING_ADDS) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await writer.flush();
  const cpu = process.cpuUsage(cpu0);
  return { seconds: (performance.now() - start) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/**
 * Nanoseconds this process's threads have waited, ready to run, for a CPU (the second field of
 * Linux's per-thread schedstat). Undefined where /proc does not say (another OS, a kernel without
 * schedstats). A thread that ends between two readings takes its waits out of the sum, so a
 * difference can undercount; chDB's and V8's worker threads live as long as the process.
 */
function runQueueWaitNs(): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  let total = 0;
  for (const tid of tids) {
    try {
      total += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      // The thread ended after the listing.
    }
  }
  return Number.isFinite(total) && tids.length > 0 ? total : undefined;
}
/** `total` plus the seconds waited between two runQueueWaitNs() readings; undefined once any is. */
const addWait = (total: number | undefined, from: number | undefined, to: number | undefined): number | undefined =>
  total === undefined || from === undefined || to === undefined ? undefined : total + (to - from) / 1e9;

// Phase 1 — throughput, in pairs: the pipeline as fast as it accepts (backpressure paces the
// sender), then at once the store's limit on as many rows.
const sinkCounter = (name: string): number => sink.health().counters[name] ?? 0;
const roundsPerPair = Math.ceil(TOTAL / SENSORS / PAIRS);
// Untimed: the detector's warm-up rounds, which also warm the JIT, the bus and the writer.
let sentThroughput = await sendRounds(0, WARMUP_ROUNDS);
await producer.flush();
await drained(sentThroughput);
const warmupReadings = sentThroughput;
let pipelineSeconds = 0;
let pipelineCpuSeconds = 0;
let eventLoopBusySeconds = 0;
let sinkInserts = 0;
let sinkBusyMs = 0;
let sinkOverlapMs = 0;
let directRows = 0;
let directSeconds = 0;
let directCpuSeconds = 0;
let pipelineWaitSeconds: number | undefined = 0;
let directWaitSeconds: number | undefined = 0;
const pipelinePerPair: number[] = [];
const storePerPair: number[] = [];
for (let pair = 0; pair < PAIRS; pair++) {
  await settled();
  const sink0 = {
    inserts: sinkCounter('inserts_readings'),
    busy: sinkCounter('insert_busy_ms_readings'),
    overlap: sinkCounter('insert_overlap_ms_readings'),
  };
  const wait0 = runQueueWaitNs();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const sent = await sendRounds(WARMUP_ROUNDS + pair * roundsPerPair, WARMUP_ROUNDS + (pair + 1) * roundsPerPair);
  await producer.flush();
  await drained(sentThroughput + sent);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  pipelineCpuSeconds += (cpu.user + cpu.system) / 1e6;
  eventLoopBusySeconds += performance.eventLoopUtilization(elu0).utilization * seconds;
  sinkInserts += sinkCounter('inserts_readings') - sink0.inserts;
  sinkBusyMs += sinkCounter('insert_busy_ms_readings') - sink0.busy;
  sinkOverlapMs += sinkCounter('insert_overlap_ms_readings') - sink0.overlap;
  sentThroughput += sent;
  pipelineSeconds += seconds;
  pipelineWaitSeconds = addWait(pipelineWaitSeconds, wait0, runQueueWaitNs());

  await settled();
  const directWait0 = runQueueWaitNs();
  const direct = await directRun(sent);
  directWaitSeconds = addWait(directWaitSeconds, directWait0, runQueueWaitNs());
  directRows += sent;
  directSeconds += direct.seconds;
  directCpuSeconds += direct.cpuSeconds;
  pipelinePerPair.push(sent / seconds);
  storePerPair.push(sent / direct.seconds);
}
const throughputRounds = WARMUP_ROUNDS + PAIRS * roundsPerPair;
const timedReadings = sentThroughput - warmupReadings;
const readingsPerS = timedReadings / pipelineSeconds;
const cpuCoresUsed = pipelineCpuSeconds / pipelineSeconds;
const eventLoopBusy = eventLoopBusySeconds / pipelineSeconds;
const sinkInsertBusy = sinkBusyMs / 1000 / pipelineSeconds;
const sinkInsertOverlap = sinkOverlapMs / 1000 / pipelineSeconds;
const storeRowsPerS = directRows / directSeconds;
const storeCpuCores = directCpuSeconds / directSeconds;

// Phase 2 — latency: a sustained offered load of 80% of that throughput. At saturation any
// queue grows to its bound and latency only measures the bound; below it, it measures the path.
// Without the anomaly worker (`--stages`) there are no warnings to time.
const latencyRate = Math.round(readingsPerS * 0.8);
latencies.length = 0;
if (anomaly !== undefined) {
  await settled();
  const latencyRounds = Math.max(EPISODE_EVERY_ROUNDS * 2, Math.ceil((latencyRate * LATENCY_SECONDS) / SENSORS));
  const sentLatency = await sendRounds(throughputRounds, throughputRounds + latencyRounds, latencyRate);
  await producer.flush();
  await drained(sentThroughput + sentLatency);
  // Let the last warnings arrive.
  while (anomaly.health().lag > 0) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
}

latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;

await closeEntry();
await writer.close();
await anomaly?.stop();
await sink.stop();
await bus.close();
await store.close();
clearInterval(rssTimer);
rmSync(dataDir, { recursive: true, force: true });

console.log(`entry=${STAGES === 'bus' ? 'none' : ENTRY}`);
console.log(`stages=${STAGES}`);
if (anomaly !== undefined) console.log(`detector=${args.detector}`);
console.log(`readings=${timedReadings}`);
if (anomaly !== undefined) console.log(`latency_offered_readings_per_s=${latencyRate}`);
console.log(`sensors=${SENSORS}`);
console.log(`store_rows_per_s=${Math.round(storeRowsPerS)}`);
console.log(`store_cpu_cores=${storeCpuCores.toFixed(2)}`);
console.log(`ratio=${(readingsPerS / storeRowsPerS).toFixed(3)}`);
console.log(`readings_per_s_per_pair=${pipelinePerPair.map((r) => Math.round(r)).join(',')}`);
console.log(`store_rows_per_s_per_pair=${storePerPair.map((r) => Math.round(r)).join(',')}`);
console.log(`ratio_per_pair=${pipelinePerPair.map((r, i) => (r / storePerPair[i]!).toFixed(3)).join(',')}`);
if (anomaly !== undefined) {
  console.log(`warnings=${latencies.length}`);
  console.log(`ingest_to_warning_p50_ms=${pct(50).toFixed(1)}`);
  console.log(`ingest_to_warning_p99_ms=${pct(99).toFixed(1)}`);
}
console.log(`sink_inserts=${sinkInserts}`);
console.log(`sink_rows_per_insert=${Math.round(timedReadings / Math.max(1, sinkInserts))}`);
console.log(`sink_insert_busy=${sinkInsertBusy.toFixed(2)}`);
console.log(`sink_insert_overlap=${sinkInsertOverlap.toFixed(2)}`);
console.log(`pipeline_cpu_cores=${cpuCoresUsed.toFixed(2)}`);
console.log(`pipeline_event_loop_busy=${eventLoopBusy.toFixed(2)}`);
if (pipelineWaitSeconds !== undefined) console.log(`pipeline_run_queue_wait_cores=${(pipelineWaitSeconds / pipelineSeconds).toFixed(2)}`);
if (directWaitSeconds !== undefined) console.log(`store_run_queue_wait_cores=${(directWaitSeconds / directSeconds).toFixed(2)}`);
console.log(`peak_rss_mb=${Math.round(peakRss / 2 ** 20)}`);
console.log(`readings_per_s=${Math.round(readingsPerS)}`);
process.exit(0);
