/**
 * bench:forecast — batched ensemble forecasts with 95% intervals for many synthetic indicators.
 *
 *   node scripts/run-bench.mjs forecast [--indicators 10000] [--rounds 3] [--horizon 12]
 *
 * A small ensemble model (ETS + Theta + global, season 24) is trained on 100 synthetic series;
 * then `indicators` indicators with full 512-point histories (seasons 60, 24, 7, 52, 12, the
 * worker's per-frequency defaults) are forecast in one batched call per round, the call the
 * forecast worker makes. The first round selects and fits ETS for every indicator (timed:
 * fit_indicators_per_s; with a reduced simplex budget of 30 evaluations per candidate to keep the
 * run short — the steady state does not depend on it); later rounds are the steady state, where
 * each indicator's cached ETS is re-filtered and Theta and the global model run. Figures, the
 * headline last: indicators, horizon, fit_seconds, fit_indicators_per_s, elapsed_s,
 * mean_1step_interval_width, indicators_per_s.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { EnsembleForecaster, SEASON_LENGTH_BY_FREQUENCY, trainEnsemble, type ForecastOutput } from '@cityops/forecaster';

const { values: args } = parseArgs({
  options: {
    indicators: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    horizon: { type: 'string', default: '12' },
  },
});
const indicators = Number(args.indicators);
const rounds = Number(args.rounds);
const horizon = Number(args.horizon);
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
function series(n: number, m: number): Float64Array {
  const level = 10 + 100 * uniform();
  return Float64Array.from({ length: n }, (_, t) => level * (1 + 0.05 * Math.sin((2 * Math.PI * t) / m)) + gaussian());
}

const model = trainEnsemble(
  Array.from({ length: 100 }, () => series(history, 24)),
  {
    name: 'bench-synthetic',
    seasonLength: 24,
    horizon,
    global: { type: 'linear', inputLength: 48, stride: 4, ridge: 1e-3, log: true },
    etsMaxEvaluations: 60,
  },
);
const seasons = Object.values(SEASON_LENGTH_BY_FREQUENCY);
const forecaster = new EnsembleForecaster(model, { historyCapacity: history, etsMaxEvaluations: 30, refitEveryObservations: 1_000_000 });
for (let k = 0; k < indicators; k++) {
  const m = seasons[k % seasons.length]!;
  const i = forecaster.addIndicator(m);
  for (const v of series(history, m)) forecaster.push(i, v);
}
const indices = Int32Array.from({ length: indicators }, (_, k) => k);
const out: ForecastOutput = {
  mean: new Float64Array(indicators * horizon),
  lower: new Float64Array(indicators * horizon),
  upper: new Float64Array(indicators * horizon),
  method: new Uint8Array(indicators),
};

let started = performance.now();
forecaster.forecastBatch(indices, horizon, out);
const fitSeconds = (performance.now() - started) / 1000;
started = performance.now();
for (let r = 0; r < rounds; r++) forecaster.forecastBatch(indices, horizon, out);
const elapsedS = (performance.now() - started) / 1000;

let width = 0;
for (let k = 0; k < indicators; k++) width += out.upper[k * horizon]! - out.lower[k * horizon]!;
console.log(`indicators=${indicators}`);
console.log(`horizon=${horizon}`);
console.log(`model_version=${model.version}`);
console.log(`fit_seconds=${fitSeconds.toFixed(1)}`);
console.log(`fit_indicators_per_s=${Math.round(indicators / fitSeconds)}`);
console.log(`elapsed_s=${elapsedS.toFixed(2)}`);
console.log(`mean_1step_interval_width=${(width / indicators).toFixed(3)}`);
console.log(`indicators_per_s=${Math.round((indicators * rounds) / elapsedS)}`);
