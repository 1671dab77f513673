/**
 * bench:anomaly — throughput of the streaming anomaly detectors on one core, and the anomaly
 * worker's lag under the demo city's load.
 *
 *   node scripts/run-bench.mjs anomaly [--series 10000] [--ticks 100] [--warm 1010]
 *     [--config '{"neighbour":{"searchStride":1}}'] [--city-seconds 30] [--city-speedup 1]
 *     [--demo-hours 24] [--demo-detector '{"type":"ensemble"}']
 *
 * First what operators get: the worker as `npm start` runs it (or with `--demo-detector`) over
 * `--demo-hours` of the demo city replayed as fast as it goes, from a cold start at local
 * midnight, its warnings scored against the simulator's labelled incidents
 * (anomaly/demo-city-warnings.ts).
 * Lag first: the real anomaly worker on the in-process bus, fed by the demo-city simulator (its
 * sensors, one reading each per second of simulated time, through the ingest core, with its
 * labelled incidents) for `--city-seconds` of wall time at `--city-speedup`. A message's lag is
 * from the moment the simulator handed it to the bus to the moment the worker's handler for its
 * batch returned (scored, anomalies and warnings sent). Then throughput:
 *
 * `--config` is a partial ensemble config for the ensemble row; its `neighbour` part also
 * configures the knn-distance row (e.g. `searchStride: 1` times the exact neighbour search).
 * Synthetic series (daily cycle + Gaussian noise + rare spikes, 5-minute readings), one point per
 * series per tick, one `scoreBatch` per tick — the shape the anomaly worker hands a detector.
 * Inputs are built before the clock starts, and the first `warm` ticks are not timed: 1,010 is
 * past every member's warm-up *and* past the neighbour member's memory (1,000 points + its
 * window), whose cost per point grows until its memory is full — timing earlier would flatter it.
 * So the figures are steady state with every point scored. 10,000 series by default, as a city
 * has; the warm-up is most of the run (≈ 3–4 minutes on one core, the ensemble and the neighbour
 * member the slowest). Per-point cost barely depends on the number of series (state is struct of
 * arrays), so `--series 500` is a quick check.
 *
 * Detectors with a network (neural-forecast, the ensemble) run it as the worker does: opened on
 * ONNX Runtime (`--execution-provider`, cpu by default, one intra-op thread) and `predictAhead()`
 * — one batched call across all series — after every tick's scoreBatch, inside the timed loop.
 *
 * Figures, the headline last:
 *   demo_recall                        labelled sensor incidents warned of with their kind, by a source they moved
 *   demo_level_reached_share           of those, the share whose warnings reached the label's expected level
 *   demo_delay_p50_s, demo_delay_p90_s from an incident's start to its first warning
 *   demo_reopened_per_incident         warnings a source opened again within one incident (flapping)
 *   demo_false_warnings_per_sensor_day warnings opened where no incident was under way
 *   worker_lag_p50_ms, worker_lag_p99_ms  the worker under the demo city (per bus message)
 *   learned_points_per_s_per_core      the per-series learned member alone (online-ar)
 *   neural_points_per_s_per_core       the global network member alone (neural-forecast, batched ORT)
 *   neighbour_points_per_s_per_core    the novelty member alone (knn-distance)
 *   statistical_points_per_s_per_core  the statistical member alone (seasonal-robust)
 *   points_per_s_per_core              the whole ensemble (all four members, combination, refractory)
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { createTimeseriesDetector, startAnomalyWorker } from '@cityops/detectors';
import { runSimulator } from '@cityops/ingest';
import { DEFAULT_PARTITIONS, TOPICS } from '@cityops/schemas';
import { demoCityWarningQuality } from './anomaly/demo-city-warnings.js';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '10000' },
    ticks: { type: 'string', default: '100' },
    'city-seconds': { type: 'string', default: '30' },
    'city-speedup': { type: 'string', default: '1' },
    warm: { type: 'string', default: '1010' },
    config: { type: 'string', default: '{}' },
    'demo-hours': { type: 'string', default: '24' },
    'demo-detector': { type: 'string', default: '{}' },
    'execution-provider': { type: 'string', default: 'cpu' },
  },
});
const seriesCount = Number(args.series);
const timedTicks = Number(args.ticks);
const warmTicks = Number(args.warm);
const STEP_MS = 300_000;

// Deterministic noise (mulberry32 + Box–Muller) so runs are comparable.
let seed = 42;
function uniform(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

// ---- the worker's lag under the demo city ------------------------------------------------------
/**
 * The bus with the readings consumer's handler timed: each message's lag is from its send (the
 * simulator's producer, same value object in-process) to the end of the handler call that got it.
 */
function lagMeasuringBus(bus: Bus, lagsMs: number[]): Bus {
  const sentAt = new WeakMap<Uint8Array, number>();
  return {
    kind: bus.kind,
    ensureTopics: (topics) => bus.ensureTopics(topics),
    close: () => bus.close(),
    producer() {
      const p = bus.producer();
      return {
        send(topic, messages) {
          if (topic === TOPICS.sensorReadings) {
            const now = performance.now();
            for (const m of messages) sentAt.set(m.value, now);
          }
          return p.send(topic, messages);
        },
        flush: () => p.flush(),
      };
    },
    consumer(options) {
      const c = bus.consumer(options);
      if (!options.topics.includes(TOPICS.sensorReadings)) return c;
      return {
        run: (handler) =>
          c.run(async (batch) => {
            await handler(batch);
            if (batch.topic !== TOPICS.sensorReadings) return;
            const now = performance.now();
            for (const m of batch.messages) {
              const sent = sentAt.get(m.value);
              if (sent !== undefined) lagsMs.push(now - sent);
            }
          }),
        pause: () => c.pause(),
        resume: () => c.resume(),
        stop: () => c.stop(),
        lag: () => c.lag(),
      };
    },
  };
}

async function workerLagUnderDemoCity(seconds: number, speedup: number): Promise<{ p50: number; p99: number; messages: number }> {
  const lagsMs: number[] = [];
  const bus = lagMeasuringBus(createInProcessBus(), lagsMs);
  await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
  const worker = await startAnomalyWorker({ bus, log: (line) => console.log(`# ${line}`) });
  const simulator = runSimulator({ producer: bus.producer(), clock: Date.now, speedup });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await simulator.stop();
  await worker.stop();
  await bus.close();
  if (lagsMs.length === 0) throw new Error('expected the anomaly worker to handle some demo-city readings; it handled none');
  lagsMs.sort((a, b) => a - b);
  const pct = (q: number) => lagsMs[Math.min(lagsMs.length - 1, Math.floor(q * lagsMs.length))]!;
  console.log(`city_sensors=${simulator.city.sensors.length} city_speedup=${speedup} worker_lag_messages=${lagsMs.length}`);
  return { p50: pct(0.5), p99: pct(0.99), messages: lagsMs.length };
}

const demo = await demoCityWarningQuality(Number(args['demo-hours']), JSON.parse(args['demo-detector']) as Record<string, unknown>);
const pctOf = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
console.log(
  `demo_hours=${demo.hours} demo_sensors=${demo.sensors} demo_readings=${demo.readings} demo_wall_s=${demo.wallS.toFixed(1)} ` +
    `demo_incidents=${demo.incidents} demo_detected=${demo.detected} demo_warnings_opened=${demo.warningsOpened} demo_reopened=${demo.reopened} demo_false_opened=${demo.falseOpened}`,
);
console.log(`# false warnings by kind/level: ${JSON.stringify(demo.falseByKind)}`);
console.log(`# reopened warnings by kind/level: ${JSON.stringify(demo.reopenedByKind)}`);

const lag = await workerLagUnderDemoCity(Number(args['city-seconds']), Number(args['city-speedup']));

// ---- throughput -------------------------------------------------------------------------------
const totalTicks = warmTicks + timedTicks;
const seriesIndex = Int32Array.from({ length: seriesCount }, (_, i) => i);
const phase = Float64Array.from({ length: seriesCount }, () => uniform() * 2 * Math.PI);
const values: Float64Array[] = [];
const stamps: Float64Array[] = [];
const t0 = Date.UTC(2026, 0, 1);
for (let k = 0; k < totalTicks; k++) {
  const v = new Float64Array(seriesCount);
  for (let s = 0; s < seriesCount; s++) {
    const seasonal = 10 * Math.sin((2 * Math.PI * k) / 288 + phase[s]!);
    v[s] = 100 + seasonal + gaussian() + (uniform() < 0.001 ? 30 : 0);
  }
  values.push(v);
  stamps.push(new Float64Array(seriesCount).fill(t0 + k * STEP_MS));
}
const out = new Float64Array(seriesCount);

const ensembleConfig = JSON.parse(args.config) as Record<string, unknown>;
const neighbourConfig = (ensembleConfig['neighbour'] ?? {}) as Record<string, unknown>;

async function pointsPerSecond(type: string, config: Record<string, unknown> = {}): Promise<number> {
  const detector = createTimeseriesDetector({ ...config, type });
  await detector.open?.({ executionProvider: args['execution-provider'], intraOpThreads: 1, log: (line) => console.log(`# ${line}`) });
  for (let s = 0; s < seriesCount; s++) detector.addSeries();
  for (let k = 0; k < warmTicks; k++) {
    detector.scoreBatch(seriesIndex, values[k]!, stamps[k]!, out);
    await detector.predictAhead?.();
  }
  const started = performance.now();
  for (let k = warmTicks; k < totalTicks; k++) {
    detector.scoreBatch(seriesIndex, values[k]!, stamps[k]!, out);
    await detector.predictAhead?.();
  }
  const seconds = (performance.now() - started) / 1000;
  const stats = detector.stats();
  const predictions = detector.predictionCounts?.();
  const how =
    predictions === undefined ? '' : ` ${type}_predictions_batched=${predictions.batched} ${type}_predictions_inline=${predictions.inline}`;
  console.log(`${type}_points_scored=${stats.pointsScored} ${type}_elapsed_s=${seconds.toFixed(3)}${how}`);
  await detector.close?.();
  return Math.round((seriesCount * timedTicks) / seconds);
}

console.log(`series=${seriesCount} timed_ticks=${timedTicks} warm_ticks=${warmTicks}`);
const statistical = await pointsPerSecond('seasonal-robust');
const learned = await pointsPerSecond('online-ar');
const neural = await pointsPerSecond('neural-forecast', (ensembleConfig['neural'] ?? {}) as Record<string, unknown>);
const neighbour = await pointsPerSecond('knn-distance', neighbourConfig);
const whole = await pointsPerSecond('ensemble', ensembleConfig);
console.log(`demo_recall=${(demo.detected / demo.incidents).toFixed(3)}`);
console.log(`demo_level_reached_share=${(demo.reachedLevel / Math.max(1, demo.detected)).toFixed(3)}`);
console.log(`demo_delay_p50_s=${pctOf(demo.delaysS, 0.5).toFixed(1)}`);
console.log(`demo_delay_p90_s=${pctOf(demo.delaysS, 0.9).toFixed(1)}`);
console.log(`demo_reopened_per_incident=${(demo.reopened / Math.max(1, demo.incidents)).toFixed(2)}`);
console.log(`demo_false_warnings_per_sensor_day=${((demo.falseOpened / demo.sensors) * (24 / demo.hours)).toFixed(3)}`);
console.log(`worker_lag_p50_ms=${lag.p50.toFixed(1)}`);
console.log(`worker_lag_p99_ms=${lag.p99.toFixed(1)}`);
console.log(`learned_points_per_s_per_core=${learned}`);
console.log(`neural_points_per_s_per_core=${neural}`);
console.log(`neighbour_points_per_s_per_core=${neighbour}`);
console.log(`statistical_points_per_s_per_core=${statistical}`);
console.log(`points_per_s_per_core=${whole}`);
