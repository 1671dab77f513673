/**
 * Throughput of the statistical (time-series) detector: points scored per second on one core.
 *
 *   npx tsx detectors/bench/anomaly-throughput.ts [--series 10000] [--ticks 300] [--window 120]
 *
 * 10,000 synthetic series (daily seasonality + Gaussian noise + rare spikes), one point per
 * series per tick, scored in one batch per tick — the shape the anomaly worker hands the
 * detector. Input arrays are built before the clock starts; the first `window` ticks fill the
 * baselines and are not timed, so the figure is the steady state (full windows, every point
 * scored). Prints `statistical_points_per_s_per_core=<n>`.
 */
import { performance } from 'node:perf_hooks';
import { createTimeseriesDetector } from '../src/timeseries/registry.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const seriesCount = arg('series', 10_000);
const timedTicks = arg('ticks', 300);
const windowSize = arg('window', 120);
const warmTicks = windowSize;

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

const detector = createTimeseriesDetector({ type: 'rolling-robust-z', windowSize });
for (let s = 0; s < seriesCount; s++) detector.addSeries();

const totalTicks = warmTicks + timedTicks;
const seriesIndex = new Int32Array(seriesCount).map((_, i) => i);
const values: Float64Array[] = [];
const stamps: Float64Array[] = [];
const t0 = Date.UTC(2026, 0, 1);
const phase = Float64Array.from({ length: seriesCount }, () => uniform() * 2 * Math.PI);
for (let k = 0; k < totalTicks; k++) {
  const v = new Float64Array(seriesCount);
  const ts = new Float64Array(seriesCount).fill(t0 + k * 60_000);
  for (let s = 0; s < seriesCount; s++) {
    const seasonal = 10 * Math.sin((2 * Math.PI * k) / 1440 + phase[s]!);
    const spike = uniform() < 0.001 ? 30 : 0;
    v[s] = 100 + seasonal + gaussian() + spike;
  }
  values.push(v);
  stamps.push(ts);
}
const out = new Float64Array(seriesCount);

for (let k = 0; k < warmTicks; k++) detector.scoreBatch(seriesIndex, values[k]!, stamps[k]!, out);
const started = performance.now();
let flagged = 0;
for (let k = warmTicks; k < totalTicks; k++) {
  detector.scoreBatch(seriesIndex, values[k]!, stamps[k]!, out);
  for (let s = 0; s < seriesCount; s++) if (Math.abs(out[s]!) >= detector.threshold) flagged++;
}
const elapsedS = (performance.now() - started) / 1000;
const points = seriesCount * timedTicks;
const perSecond = Math.round(points / elapsedS);

console.log(`series=${seriesCount} window=${windowSize} timed_points=${points} elapsed_s=${elapsedS.toFixed(3)} flagged=${flagged}`);
console.log(`statistical_points_per_s_per_core=${perSecond}`);
