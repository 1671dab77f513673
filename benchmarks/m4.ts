/**
 * bench:m4 — the forecast ensemble on the M4 competition data (Makridakis, Spiliotis &
 * Assimakopoulos, IJF 36(1), 2020), scored with M4's own measures.
 *
 *   node scripts/run-bench.mjs m4 --data /work/shared/data/m4 --freq Hourly|Weekly --out /tmp/m4-out
 *        [--split test|validation] [--model <ensemble.json>] [--providers cpu|cuda,cpu|…]
 *
 * Trains on the training split only (or loads a model trained by `m4-train`), forecasts exactly
 * as the product does (forecastEnsemble, the global nets batched through ONNX Runtime on the
 * first usable of --providers, default cpu), and writes <out>/forecast.csv, lower.csv, upper.csv
 * (95%) in M4 submission layout plus the model file. Splits: `test` scores the official test
 * file (Hourly; Weekly only when a real Weekly-test.csv sits in the data folder); `validation`
 * holds back the last h points of every training series and trains on the rest — the default for
 * Weekly without a test file. OWA is relative to Naive2 on the same split, and Naive2 is checked
 * against the organisers' own Naive2 forecasts when scoring the test split.
 * Figures, the headline (owa) last: split, series, model_version, weights, global, global_provider,
 * interval_scale, fit_seconds,
 * forecast_seconds, naive2_smape, naive2_mase, owa_<member> and owa_equal_weights, smape, mase,
 * msis, coverage, owa.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  ENSEMBLE_MEMBERS,
  combine,
  forecastEnsemble,
  maseScale,
  openGlobalMember,
  owa,
  parseEnsembleModel,
  scoreAll,
  trainEnsemble,
} from '@cityops/forecaster';
import { M4_FREQUENCIES, parseFrequency } from './m4/config.js';
import { fileIfPresent, readInfo, readSeriesFile, readSubmission, writeSubmission } from './m4/data.js';
import { naive2 } from './m4/naive2.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: '/work/shared/data/m4' },
    freq: { type: 'string', default: 'Hourly' },
    out: { type: 'string', default: '/tmp/m4-out' },
    split: { type: 'string' },
    model: { type: 'string' },
    providers: { type: 'string', default: 'cpu' },
  },
});
const freq = parseFrequency(args.freq);
const { prefix, train: config } = M4_FREQUENCIES[freq];
const h = config.horizon;
const m = config.seasonLength;
const testFile = fileIfPresent(join(args.data, `${freq}-test.csv`));
const split = args.split ?? (testFile !== undefined ? 'test' : 'validation');
if (split !== 'test' && split !== 'validation') throw new Error(`expected --split test or validation; got ${split}`);
if (split === 'test' && testFile === undefined)
  throw new Error(`expected ${freq}-test.csv in ${args.data} for --split test; it is not there`);

const info = readInfo(join(args.data, 'M4-info-HDW.csv'), prefix);
const all = readSeriesFile(join(args.data, `${freq}-train.csv`));
let ids = all.map((s) => s.id);
let history: Float64Array[];
let actuals: Float64Array[];
if (split === 'test') {
  const test = new Map(readSeriesFile(testFile!).map((s) => [s.id, s.values]));
  ids = ids.filter((id) => test.has(id));
  history = all.filter((s) => test.has(s.id)).map((s) => s.values);
  actuals = ids.map((id) => test.get(id)!);
} else {
  history = all.map((s) => s.values.subarray(0, s.values.length - h));
  actuals = all.map((s) => s.values.subarray(s.values.length - h));
}
for (const [j, a] of actuals.entries()) {
  if (a.length !== h) throw new Error(`expected ${h} actual values for ${ids[j]}; got ${a.length}`);
}
const scales = ids.map((id, j) => maseScale(history[j]!, info.get(id)?.maseLag ?? m));

mkdirSync(args.out, { recursive: true });
let t0 = performance.now();
const model =
  args.model === undefined
    ? trainEnsemble(history, { ...config, onProgress: (line) => console.log(line) })
    : parseEnsembleModel(JSON.parse(readFileSync(args.model, 'utf8')));
const fitSeconds = (performance.now() - t0) / 1000;
writeFileSync(join(args.out, `ensemble-${model.version}.json`), JSON.stringify(model));

t0 = performance.now();
const runner = await openGlobalMember(model, { executionProviders: args.providers.split(',') });
const result = await forecastEnsemble(model, history, h, { runner });
await runner?.release();
const forecastSeconds = (performance.now() - t0) / 1000;
writeSubmission(join(args.out, 'forecast.csv'), ids, result.mean, h);
writeSubmission(join(args.out, 'lower.csv'), ids, result.lower, h);
writeSubmission(join(args.out, 'upper.csv'), ids, result.upper, h);

const rows = (a: Float64Array): Float64Array[] => ids.map((_, j) => a.subarray(j * h, (j + 1) * h));
const reference = scoreAll(
  actuals,
  history.map((y) => naive2(y, info.get(ids[0]!)?.maseLag ?? m, h)),
  scales,
);
if (split === 'test') {
  // Our Naive2 must be M4's: the OWA denominator is only meaningful if it is.
  const official = readSubmission(join(args.data, 'reference', 'submission-Naive2.HDW.csv'), prefix);
  const theirs = scoreAll(
    actuals,
    ids.map((id) => official.get(id)!.subarray(0, h)),
    scales,
  );
  const gap = Math.abs(theirs.smape - reference.smape) / theirs.smape;
  if (gap > 1e-6) throw new Error(`expected our Naive2 sMAPE to equal M4's official ${theirs.smape}; got ${reference.smape}`);
}
const scores = scoreAll(actuals, rows(result.mean), scales, { lower: rows(result.lower), upper: rows(result.upper) });

console.log(`split=${split}`);
console.log(`series=${ids.length}`);
console.log(`model_version=${model.version}`);
console.log(`weights=${ENSEMBLE_MEMBERS.map((name) => `${name}:${model.weights[name]}`).join(',')}`);
console.log(`global=${model.global?.kind ?? 'none'}`);
console.log(`global_provider=${runner?.provider ?? 'none'}`);
console.log(
  `interval_scale=share:${model.intervalScale.recentShare},length:${model.intervalScale.recentLength},per_step:${model.intervalScale.perStep === true}`,
);
console.log(`fit_seconds=${fitSeconds.toFixed(1)}`);
console.log(`forecast_seconds=${forecastSeconds.toFixed(1)}`);
console.log(`naive2_smape=${reference.smape.toFixed(3)}`);
console.log(`naive2_mase=${reference.mase.toFixed(3)}`);
for (const name of ENSEMBLE_MEMBERS) {
  if (name === 'global' && model.global === null) continue;
  console.log(`owa_${name}=${owa(scoreAll(actuals, rows(result.members[name]), scales), reference).toFixed(4)}`);
}
const equal = new Float64Array(ids.length * h);
const members = model.global === null ? 2 : 3;
combine(result.members, { ets: 1 / members, theta: 1 / members, global: model.global === null ? 0 : 1 / members }, equal);
console.log(`owa_equal_weights=${owa(scoreAll(actuals, rows(equal), scales), reference).toFixed(4)}`);
console.log(`smape=${scores.smape.toFixed(3)}`);
console.log(`mase=${scores.mase.toFixed(3)}`);
console.log(`msis=${scores.msis!.toFixed(3)}`);
console.log(`coverage=${scores.coverage!.toFixed(4)}`);
console.log(`owa=${owa(scores, reference).toFixed(4)}`);
