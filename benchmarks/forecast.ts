/**
 * bench:forecast — batched ensemble forecasts with 95% intervals for many synthetic indicators,
 * the global nets through ONNX Runtime.
 *
 *   node scripts/run-bench.mjs forecast [--indicators 10000] [--rounds 3] [--horizon 12]
 *        [--model <ensemble.json>] [--providers cpu|cuda,cpu|…]
 *
 * The model is the shipped one (forecaster/models: M4 Hourly — ETS + Theta + three global MLPs,
 * season 24) unless --model names another. `indicators` indicators with full 512-point histories
 * (seasons 60, 24, 7, 52, 12, the worker's per-frequency defaults; the nets apply to the season-24
 * fifth, the others get ETS + Theta) are forecast in one batched call per round, the call the
 * forecast worker makes: the nets run once per call for all indicators they apply to, through an
 * ONNX Runtime session on the first usable provider. The first round selects and fits ETS for
 * every indicator (timed: fit_indicators_per_s; with a reduced simplex budget of 30 evaluations
 * per candidate to keep the run short — the steady state does not depend on it); later rounds
 * are the steady state, where each indicator's cached ETS is re-filtered and Theta and the global
 * model run. Figures, the headline last: indicators, horizon, model_version, global_provider,
 * global_indicators, fit_seconds, fit_indicators_per_s, global_only_indicators_per_s (the nets
 * alone through ONNX Runtime), global_only_ts_indicators_per_s (the same nets by the TS forward
 * pass), elapsed_s,
 * mean_1step_interval_width, indicators_per_s.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  EnsembleForecaster,
  GlobalMlpSession,
  SEASON_LENGTH_BY_FREQUENCY,
  builtinEnsembleModelPath,
  forecastGlobalMlp,
  readEnsembleModelFile,
  type ForecastOutput,
} from '@cityops/forecaster';

const { values: args } = parseArgs({
  options: {
    indicators: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    horizon: { type: 'string', default: '12' },
    model: { type: 'string' },
    providers: { type: 'string', default: 'cpu' },
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

const model = await readEnsembleModelFile(args.model ?? builtinEnsembleModelPath());
const providers = args.providers.split(',');
const seasons = Object.values(SEASON_LENGTH_BY_FREQUENCY);
const forecaster = await EnsembleForecaster.open(
  model,
  { historyCapacity: history, etsMaxEvaluations: 30, refitEveryObservations: 1_000_000 },
  { executionProviders: providers },
);
const histories: Float64Array[] = [];
for (let k = 0; k < indicators; k++) {
  const m = seasons[k % seasons.length]!;
  const i = forecaster.addIndicator(m);
  const y = series(history, m);
  if (m === model.seasonLength) histories.push(y);
  for (const v of y) forecaster.push(i, v);
}
const indices = Int32Array.from({ length: indicators }, (_, k) => k);
const out: ForecastOutput = {
  mean: new Float64Array(indicators * horizon),
  lower: new Float64Array(indicators * horizon),
  upper: new Float64Array(indicators * horizon),
  method: new Uint8Array(indicators),
};

let started = performance.now();
await forecaster.forecastBatch(indices, horizon, out);
const fitSeconds = (performance.now() - started) / 1000;
started = performance.now();
for (let r = 0; r < rounds; r++) await forecaster.forecastBatch(indices, horizon, out);
const elapsedS = (performance.now() - started) / 1000;
await forecaster.release();

// The nets alone, same session kind, on the indicators they apply to: the ONNX Runtime share.
let globalPerS = 0;
let globalTsPerS = 0;
if (model.global?.kind === 'global-mlp' && histories.length > 0) {
  const session = await GlobalMlpSession.open(model.global, { executionProviders: providers, log: () => undefined });
  const g = new Float64Array(histories.length * horizon);
  await session.forecast(histories, horizon, g);
  const t = performance.now();
  for (let r = 0; r < rounds; r++) await session.forecast(histories, horizon, g);
  globalPerS = Math.round((histories.length * rounds) / ((performance.now() - t) / 1000));
  await session.release();
  // The TS forward pass the nets were trained with, for comparison (one round).
  const t2 = performance.now();
  forecastGlobalMlp(model.global, histories, horizon, g);
  globalTsPerS = Math.round(histories.length / ((performance.now() - t2) / 1000));
}

let width = 0;
for (let k = 0; k < indicators; k++) width += out.upper[k * horizon]! - out.lower[k * horizon]!;
console.log(`indicators=${indicators}`);
console.log(`horizon=${horizon}`);
console.log(`model_version=${model.version}`);
console.log(`global_provider=${forecaster.globalProvider ?? 'none'}`);
console.log(`global_indicators=${histories.length}`);
console.log(`fit_seconds=${fitSeconds.toFixed(1)}`);
console.log(`fit_indicators_per_s=${Math.round(indicators / fitSeconds)}`);
console.log(`global_only_indicators_per_s=${globalPerS}`);
console.log(`global_only_ts_indicators_per_s=${globalTsPerS}`);
console.log(`elapsed_s=${elapsedS.toFixed(2)}`);
console.log(`mean_1step_interval_width=${(width / indicators).toFixed(3)}`);
console.log(`indicators_per_s=${Math.round((indicators * rounds) / elapsedS)}`);
