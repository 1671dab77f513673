/**
 * bench:anomaly — throughput of the streaming anomaly detectors on one core.
 *
 *   node scripts/run-bench.mjs anomaly [--series 500] [--ticks 1000] [--warm 1010]
 *     [--config '{"neighbour":{"searchStride":1}}']
 *
 * `--config` is a partial ensemble config for the ensemble row; its `neighbour` part also
 * configures the knn-distance row (e.g. `searchStride: 1` times the exact neighbour search).
 * Synthetic series (daily cycle + Gaussian noise + rare spikes, 5-minute readings), one point per
 * series per tick, one `scoreBatch` per tick — the shape the anomaly worker hands a detector.
 * Inputs are built before the clock starts, and the first `warm` ticks are not timed: 1,010 is
 * past every member's warm-up *and* past the neighbour member's memory (1,000 points + its
 * window), whose cost per point grows until its memory is full — timing earlier would flatter it.
 * So the figures are steady state with every point scored. The default run takes well under a
 * minute on one core; per-point cost does not depend on the number of series (state is struct
 * of arrays), so 500 series stand for 10,000 up to cache effects.
 *
 * Figures, the headline last:
 *   learned_points_per_s_per_core      the learned member alone (online-ar)
 *   neighbour_points_per_s_per_core    the novelty member alone (knn-distance)
 *   statistical_points_per_s_per_core  the statistical member alone (seasonal-robust)
 *   points_per_s_per_core              the whole ensemble (all three members, combination, refractory)
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createTimeseriesDetector } from '@cityops/detectors';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '500' },
    ticks: { type: 'string', default: '1000' },
    warm: { type: 'string', default: '1010' },
    config: { type: 'string', default: '{}' },
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

function pointsPerSecond(type: string, config: Record<string, unknown> = {}): number {
  const detector = createTimeseriesDetector({ ...config, type });
  for (let s = 0; s < seriesCount; s++) detector.addSeries();
  for (let k = 0; k < warmTicks; k++) detector.scoreBatch(seriesIndex, values[k]!, stamps[k]!, out);
  const started = performance.now();
  for (let k = warmTicks; k < totalTicks; k++) detector.scoreBatch(seriesIndex, values[k]!, stamps[k]!, out);
  const seconds = (performance.now() - started) / 1000;
  const stats = detector.stats();
  console.log(`${type}_points_scored=${stats.pointsScored} ${type}_elapsed_s=${seconds.toFixed(3)}`);
  return Math.round((seriesCount * timedTicks) / seconds);
}

console.log(`series=${seriesCount} timed_ticks=${timedTicks} warm_ticks=${warmTicks}`);
const statistical = pointsPerSecond('seasonal-robust');
const learned = pointsPerSecond('online-ar');
const neighbour = pointsPerSecond('knn-distance', neighbourConfig);
const whole = pointsPerSecond('ensemble', ensembleConfig);
console.log(`learned_points_per_s_per_core=${learned}`);
console.log(`neighbour_points_per_s_per_core=${neighbour}`);
console.log(`statistical_points_per_s_per_core=${statistical}`);
console.log(`points_per_s_per_core=${whole}`);
