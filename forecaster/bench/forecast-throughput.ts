/**
 * Throughput of the seasonal-naive forecaster: indicators forecast per second on one core.
 *
 *   npx tsx forecaster/bench/forecast-throughput.ts [--indicators 10000] [--rounds 20]
 *
 * 10,000 synthetic indicators with full histories (512 observations; seasons from the five
 * frequencies: 60, 24, 7, 52, 12), each forecast 12 steps ahead with its 95% interval in one
 * batched call per round — the call the forecast worker makes for the indicators that fell due.
 * Histories are filled before the clock starts; one untimed round warms the JIT. Prints
 * `indicators_per_s=<n>`.
 */
import { performance } from 'node:perf_hooks';
import { SEASON_LENGTH_BY_FREQUENCY, SeasonalNaiveForecaster, type ForecastOutput } from '../src/seasonal-naive.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const indicators = arg('indicators', 10_000);
const rounds = arg('rounds', 20);
const horizon = 12;
const history = 512;

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

const seasons = Object.values(SEASON_LENGTH_BY_FREQUENCY);
const model = new SeasonalNaiveForecaster({ historyCapacity: history });
for (let k = 0; k < indicators; k++) {
  const m = seasons[k % seasons.length]!;
  const i = model.addIndicator(m);
  const level = 10 + 100 * uniform();
  for (let t = 0; t < history; t++) model.push(i, level * (1 + 0.05 * Math.sin((2 * Math.PI * t) / m)) + gaussian());
}
const indices = Int32Array.from({ length: indicators }, (_, k) => k);
const out: ForecastOutput = {
  mean: new Float64Array(indicators * horizon),
  lower: new Float64Array(indicators * horizon),
  upper: new Float64Array(indicators * horizon),
  method: new Uint8Array(indicators),
};

model.forecastBatch(indices, horizon, out);
const started = performance.now();
for (let r = 0; r < rounds; r++) model.forecastBatch(indices, horizon, out);
const elapsedS = (performance.now() - started) / 1000;
const perSecond = Math.round((indicators * rounds) / elapsedS);

let width = 0;
for (let k = 0; k < indicators; k++) width += out.upper[k * horizon]! - out.lower[k * horizon]!;
console.log(
  `indicators=${indicators} history=${history} horizon=${horizon} rounds=${rounds} elapsed_s=${elapsedS.toFixed(3)} mean_1step_interval_width=${(width / indicators).toFixed(3)}`,
);
console.log(`indicators_per_s=${perSecond}`);
