import { ForecastError } from './errors.js';
import { etsForecast, etsOnWindow, etsStates, selectEts, type EtsFit } from './ets.js';
import { forecastGlobalLinear, trainGlobalLinear, type GlobalLinearModel } from './global-linear.js';
import { forecastGlobalMlp, trainGlobalMlp, type GlobalMlpModel, type GlobalMlpOptions } from './global-mlp.js';
import { GlobalMlpSession, type GlobalMlpSessionOptions } from './global-mlp-onnx.js';
import {
  applyScaledQuantiles,
  intervalScale,
  intervalScales,
  scaledErrorQuantiles,
  type IntervalScale,
  type ScaledQuantiles,
} from './intervals.js';
import { msis } from './m4-metrics.js';
import { mase, smape } from './m4-metrics.js';
import { fitTheta, thetaForecast } from './theta.js';

/**
 * The forecast ensemble: ETS with AICc selection (Hyndman et al. 2002, 2008), Theta
 * (Assimakopoulos & Nikolopoulos 2000) and a global model learned across all series of a
 * frequency — pooled linear autoregression (Montero-Manso & Hyndman 2021) or an ensemble of small
 * MLPs (global-mlp.ts) — combined by fixed weights, with 95% intervals from pooled scaled hold-out
 * errors (split conformal, see intervals.ts).
 *
 * Combining is the M4 lesson: 12 of the 17 most accurate methods were combinations, and the
 * statistical members err differently from a global model (Makridakis, Spiliotis &
 * Assimakopoulos, IJF 36(1), 2020, §5). The weights and the interval offsets are learned once per
 * frequency on a hold-out — the last `horizon` points of every training series, forecast by
 * members fitted without them — by one rule: the weights on a 0.05 grid of the simplex that
 * minimise ½(sMAPE/sMAPE_sn + MASE/MASE_sn) against the seasonal naive on that hold-out (M4's OWA
 * with the seasonal naive as reference). Then the global model is retrained on whole series
 * (unless told not to: the nets are the slow part of training). Nothing is tuned per series.
 *
 * The intervals' per-series scale mixes the whole history's scale with the recent one
 * (intervals.ts); the share is chosen from a small grid by MSIS on the same hold-out, cross-fitted
 * over two halves of the series so the quantiles are never scored on the errors they came from.
 *
 * A trained model is a plain JSON object; its `version` is a hash of its content, so any retrain
 * gets a new one, and every Forecast record carries it.
 */

export const ENSEMBLE_MEMBERS = ['ets', 'theta', 'global'] as const;
export type EnsembleMember = (typeof ENSEMBLE_MEMBERS)[number];

export interface EnsembleModel {
  kind: 'cityops-forecast-ensemble';
  formatVersion: 1;
  /** What it was trained for, e.g. 'm4-hourly'. */
  name: string;
  /** `${name}-${content hash}`; changes with any retrain. */
  version: string;
  seasonLength: number;
  horizon: number;
  weights: Record<EnsembleMember, number>;
  /** The global member; null when trained without one. */
  global: GlobalModel | null;
  /** The global linear model reads log values of strictly positive series (the nets always do). */
  globalLog: boolean;
  intervals: ScaledQuantiles;
  /** How each series' interval scale is measured. */
  intervalScale: IntervalScale;
  /** Hold-out scores per member and for the ensemble: ½(sMAPE/sMAPE_sn + MASE/MASE_sn). */
  holdout: Record<EnsembleMember | 'ensemble', number>;
  trainedSeries: number;
}

export interface EnsembleTrainOptions {
  name: string;
  seasonLength: number;
  horizon: number;
  /** Global model settings, keyed by `type`; null for a statistical ensemble only. */
  global: GlobalMemberOptions | null;
  /** Retrain the global model on whole series after the hold-out. Default true. */
  retrainGlobal?: boolean;
  /**
   * Candidate shares of the recent scale in the interval scale (intervals.ts); the pair of share
   * and length with the lowest cross-fitted hold-out MSIS is kept. Default [0] (the whole
   * history's scale only).
   */
  intervalRecentShares?: readonly number[];
  /** Candidate numbers of observations the recent scale reads. Default [4 × horizon]. */
  intervalRecentLengths?: readonly number[];
  /** Candidates for a scale per horizon step (IntervalScale.perStep), judged like the others. Default [false]. */
  intervalPerStep?: readonly boolean[];
  /**
   * Hold-out windows the interval offsets are calibrated on, per series: the last h points, and
   * (for 2, 3, …) the h points before each earlier window, forecast by ETS and Theta fitted up to
   * that origin and by the hold-out global model (trained on all but the last window, so it has
   * seen the earlier windows' targets — a measured non-issue: its errors there are not smaller).
   * One window is one draw of each series' luck; its quantiles swing with whatever that quarter
   * held. Series too short for a window are left out of it. Default 1.
   */
  intervalOrigins?: number;
  /** Central coverage of the interval. Default 0.95. */
  coverage?: number;
  /** ETS simplex evaluations per candidate model. Default 300. */
  etsMaxEvaluations?: number;
  /** Progress lines (stage, seconds). */
  onProgress?: (line: string) => void;
}

export type GlobalModel = GlobalLinearModel | GlobalMlpModel;

/** The global member's settings: a pooled linear autoregression, or an ensemble of small MLPs. */
export type GlobalMemberOptions =
  | { type: 'linear'; inputLength: number; stride: number; ridge: number; log: boolean }
  | ({ type: 'mlp' } & Omit<GlobalMlpOptions, 'horizon' | 'seasonLength' | 'onProgress'>);

/** Member forecasts for a batch of series: h values per series in one array per member. */
export type MemberForecasts = Record<EnsembleMember, Float64Array>;

export function trainEnsemble(series: readonly Float64Array[], options: EnsembleTrainOptions): EnsembleModel {
  const h = options.horizon;
  const m = options.seasonLength;
  const coverage = options.coverage ?? 0.95;
  const progress = options.onProgress ?? ((): void => undefined);
  const usable = series.filter((y) => y.length >= h + Math.max(4, 2 * m + 1));
  if (usable.length < 2 / (1 - coverage)) {
    throw new ForecastError(
      'invalid-argument',
      `expected at least ${Math.ceil(2 / (1 - coverage))} series longer than ${h + 2 * m}; got ${usable.length}`,
    );
  }
  const heads = usable.map((y) => y.subarray(0, y.length - h));
  const tails = usable.map((y) => y.subarray(y.length - h));
  let t0 = performance.now();
  const holdoutGlobal = options.global === null ? null : trainGlobal(heads, h, m, options.global, progress);
  progress(`holdout_global_train_seconds=${seconds(t0)}`);
  t0 = performance.now();
  const globalLog = options.global?.type === 'linear' && options.global.log;
  const members = memberForecasts(heads, h, m, holdoutGlobal, globalLog, options.etsMaxEvaluations);
  progress(`holdout_members_seconds=${seconds(t0)}`);

  const n = usable.length;
  const scales = heads.map((y) => intervalScale(y, m, { recentShare: 0, recentLength: 1 }));
  const snaive = new Float64Array(n * h);
  for (let j = 0; j < n; j++) {
    const y = heads[j]!;
    const lag = m > 1 && y.length >= m ? m : 1;
    for (let k = 0; k < h; k++) snaive[j * h + k] = y[y.length - lag + (k % lag)]!;
  }
  const reference = accuracy(tails, snaive, scales, h);
  const score = (f: Float64Array): number => {
    const a = accuracy(tails, f, scales, h);
    return 0.5 * (a.smape / reference.smape + a.mase / reference.mase);
  };
  const available = ENSEMBLE_MEMBERS.filter((name) => name !== 'global' || holdoutGlobal !== null);
  const holdout = { ets: Number.NaN, theta: Number.NaN, global: Number.NaN, ensemble: Number.NaN };
  for (const name of available) holdout[name] = score(members[name]);
  const combined = new Float64Array(n * h);
  let best = { score: Number.POSITIVE_INFINITY, weights: { ets: 1, theta: 0, global: 0 } };
  const steps = 20;
  for (let a = 0; a <= steps; a++) {
    for (let b = 0; a + b <= steps; b++) {
      const c = steps - a - b;
      if (c > 0 && holdoutGlobal === null) continue;
      const weights = { ets: a / steps, theta: b / steps, global: c / steps };
      combine(members, weights, combined);
      const s = score(combined);
      if (s < best.score) best = { score: s, weights };
    }
  }
  holdout.ensemble = best.score;
  combine(members, best.weights, combined);
  const windows: CalibrationWindow[] = heads.map((head, j) => ({
    series: j,
    head,
    tail: tails[j]!,
    forecast: combined.subarray(j * h, (j + 1) * h),
  }));
  t0 = performance.now();
  for (let origin = 2; origin <= (options.intervalOrigins ?? 1); origin++) {
    const long = usable.map((y, j) => ({ y, j })).filter(({ y }) => y.length >= origin * h + Math.max(4, 2 * m + 1));
    if (long.length === 0) break;
    const earlier = long.map(({ y }) => y.subarray(0, y.length - origin * h));
    const f = new Float64Array(long.length * h);
    combine(memberForecasts(earlier, h, m, holdoutGlobal, globalLog, options.etsMaxEvaluations), best.weights, f);
    for (const [r, { y, j }] of long.entries()) {
      const end = y.length - (origin - 1) * h;
      windows.push({ series: j, head: earlier[r]!, tail: y.subarray(end - h, end), forecast: f.subarray(r * h, (r + 1) * h) });
    }
  }
  progress(`interval_origins_seconds=${seconds(t0)} windows=${windows.length}`);
  const { intervals, intervalScale: chosenScale } = calibrateIntervals(windows, h, m, coverage, options, progress);

  t0 = performance.now();
  const global =
    options.global === null ? null : options.retrainGlobal === false ? holdoutGlobal : trainGlobal(usable, h, m, options.global, progress);
  progress(`global_train_seconds=${seconds(t0)}`);
  const body = {
    kind: 'cityops-forecast-ensemble' as const,
    formatVersion: 1 as const,
    name: options.name,
    seasonLength: m,
    horizon: h,
    weights: best.weights,
    global,
    globalLog,
    intervals,
    intervalScale: chosenScale,
    holdout,
    trainedSeries: n,
  };
  return { ...body, version: `${options.name}-${contentHash(JSON.stringify(body))}` };
}

/** Checks a parsed model file; says what was expected and what came instead. */
export function parseEnsembleModel(value: unknown): EnsembleModel {
  const v = value as Partial<EnsembleModel> | null;
  const problems: string[] = [];
  if (v === null || typeof v !== 'object')
    throw new ForecastError('invalid-config', `expected an ensemble model object; got ${typeof value}`);
  if (v.kind !== 'cityops-forecast-ensemble') problems.push(`kind: expected 'cityops-forecast-ensemble'; got ${String(v.kind)}`);
  if (v.formatVersion !== 1) problems.push(`formatVersion: expected 1; got ${String(v.formatVersion)}`);
  if (typeof v.version !== 'string' || v.version.length === 0)
    problems.push(`version: expected a non-empty string; got ${String(v.version)}`);
  if (!(Number.isInteger(v.horizon) && v.horizon! >= 1)) problems.push(`horizon: expected a whole number ≥ 1; got ${String(v.horizon)}`);
  if (!(Number.isInteger(v.seasonLength) && v.seasonLength! >= 1))
    problems.push(`seasonLength: expected a whole number ≥ 1; got ${String(v.seasonLength)}`);
  const q = v.intervals;
  if (
    q === undefined ||
    !Array.isArray(q.lower) ||
    !Array.isArray(q.upper) ||
    q.lower.length !== v.horizon ||
    q.upper.length !== v.horizon
  ) {
    problems.push(`intervals: expected lower and upper offsets for ${String(v.horizon)} steps`);
  }
  const w = v.weights;
  if (w === undefined || ENSEMBLE_MEMBERS.some((name) => !(w[name] >= 0)))
    problems.push('weights: expected a non-negative weight per member');
  if (w !== undefined && w.global > 0 && (v.global === null || v.global === undefined))
    problems.push('global: expected weights for the global member, which has a weight');
  if (v.global !== null && v.global !== undefined && v.global.kind !== 'global-linear' && v.global.kind !== 'global-mlp')
    problems.push(`global.kind: expected 'global-linear' or 'global-mlp'; got ${String((v.global as { kind?: unknown }).kind)}`);
  const sc = v.intervalScale;
  if (sc === undefined || !(sc.recentShare >= 0 && sc.recentShare <= 1) || !(Number.isInteger(sc.recentLength) && sc.recentLength >= 1))
    problems.push('intervalScale: expected a recentShare in 0…1 and a whole recentLength ≥ 1');
  if (sc !== undefined && sc.perStep !== undefined && typeof sc.perStep !== 'boolean')
    problems.push(`intervalScale.perStep: expected true, false or absent; got ${String(sc.perStep)}`);
  if (problems.length > 0) throw new ForecastError('invalid-config', `invalid ensemble model: ${problems.join('; ')}`);
  return v as EnsembleModel;
}

/** The members' forecasts for the end of each series (ETS and Theta fitted per series; the global model batched). */
export function memberForecasts(
  series: readonly ArrayLike<number>[],
  h: number,
  m: number,
  global: GlobalModel | null,
  globalLog: boolean,
  etsMaxEvaluations?: number,
): MemberForecasts {
  const n = series.length;
  const out: MemberForecasts = { ets: new Float64Array(n * h), theta: new Float64Array(n * h), global: new Float64Array(n * h) };
  for (let j = 0; j < n; j++) {
    const y = series[j]!;
    const fit = selectEts(y, m, etsMaxEvaluations === undefined ? {} : { maxEvaluations: etsMaxEvaluations });
    etsForecast(fit, etsStates(fit, y), y.length - 1, h, out.ets, j * h);
    thetaForecast(fitTheta(y, m), h, out.theta, j * h);
  }
  if (global !== null) globalForecast(global, globalLog, series, h, out.global);
  else out.global.fill(Number.NaN);
  return out;
}

/**
 * The global member's batched forecasts. The linear model reads logs of strictly positive series
 * when trained so; the nets always read logs, and leave NaN for a series that has none.
 */
export function globalForecast(
  global: GlobalModel,
  log: boolean,
  series: readonly ArrayLike<number>[],
  h: number,
  out: Float64Array,
): void {
  if (global.kind === 'global-mlp') {
    forecastGlobalMlp(global, series, h, out);
    return;
  }
  const logged = series.map((y) => (log && allPositive(y) ? Float64Array.from(y, Math.log) : undefined));
  forecastGlobalLinear(
    global,
    series.map((y, j) => logged[j] ?? y),
    h,
    out,
  );
  for (let j = 0; j < series.length; j++) {
    if (logged[j] === undefined) continue;
    for (let k = 0; k < h; k++) out[j * h + k] = Math.exp(out[j * h + k]!);
  }
}

/**
 * Weighted mean of the members' forecasts (members with weight 0 are not read). A member with no
 * forecast at a point (NaN: the nets on a series that is not strictly positive) gives way to the
 * others there, their weights rescaled; with none left, ETS and Theta share equally.
 */
export function combine(members: MemberForecasts, weights: Record<EnsembleMember, number>, out: Float64Array): void {
  const used = ENSEMBLE_MEMBERS.filter((name) => weights[name] > 0);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    let total = 0;
    for (const name of used) {
      const f = members[name][i]!;
      if (!Number.isFinite(f)) continue;
      s += weights[name] * f;
      total += weights[name];
    }
    out[i] = total > 0 ? s / total : 0.5 * (members.ets[i]! + members.theta[i]!);
  }
}

export interface EnsembleBatchOutput {
  mean: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  members: MemberForecasts;
}

/**
 * Runs a model's global member on batches of series at forecast time. The nets run through ONNX
 * Runtime (global-mlp-onnx.ts); the pooled linear model is a single small matrix product and
 * stays in TS. `provider` names where it runs ('cpu', 'cuda', …, or 'ts').
 */
export interface GlobalMemberRunner {
  readonly provider: string;
  forecast(series: readonly ArrayLike<number>[], h: number, out: Float64Array): Promise<void>;
  release(): Promise<void>;
}

/** The runner for a model's global member; null when it has none or gives it no weight. */
export async function openGlobalMember(model: EnsembleModel, options: GlobalMlpSessionOptions = {}): Promise<GlobalMemberRunner | null> {
  const global = model.global;
  if (global === null || !(model.weights.global > 0)) return null;
  if (global.kind === 'global-mlp') return GlobalMlpSession.open(global, options);
  return {
    provider: 'ts',
    forecast: (series, h, out) => {
      globalForecast(global, model.globalLog, series, h, out);
      return Promise.resolve();
    },
    release: () => Promise.resolve(),
  };
}

export interface ForecastEnsembleOptions {
  /** The global member's runner (openGlobalMember); opened on 'cpu' for this call and released when not given. */
  runner?: GlobalMemberRunner | null;
  /** Simplex evaluations per ETS candidate. Default 300. */
  etsMaxEvaluations?: number;
}

/** Forecasts a batch of series with a trained model: mean, interval and each member's path. */
export async function forecastEnsemble(
  model: EnsembleModel,
  series: readonly Float64Array[],
  h: number,
  options: ForecastEnsembleOptions = {},
): Promise<EnsembleBatchOutput> {
  if (h > model.horizon) throw new ForecastError('invalid-argument', `expected a horizon ≤ ${model.horizon} (the model's); got ${h}`);
  const n = series.length;
  const members = memberForecasts(series, h, model.seasonLength, null, model.globalLog, options.etsMaxEvaluations);
  const runner = options.runner === undefined ? await openGlobalMember(model) : options.runner;
  try {
    if (runner !== null) await runner.forecast(series, h, members.global);
  } finally {
    if (options.runner === undefined) await runner?.release();
  }
  const mean = new Float64Array(n * h);
  combine(members, model.weights, mean);
  const lower = new Float64Array(n * h);
  const upper = new Float64Array(n * h);
  for (let j = 0; j < n; j++) {
    const y = series[j]!;
    applyScaledQuantiles(
      model.intervals,
      mean.subarray(j * h, (j + 1) * h),
      intervalScales(y, model.seasonLength, model.intervalScale, h),
      allNonNegative(y),
      lower,
      upper,
      j * h,
    );
  }
  return { mean, lower, upper, members };
}

/** Streaming use keeps each indicator's fitted members and refreshes them on its new window. */
export interface MemberCache {
  ets: EtsFit;
  /** Observations seen when the parameters were last optimised. */
  fittedAt: number;
}

/** Whether the model's global member forecasts an indicator of season m for h steps. */
export function globalApplies(model: EnsembleModel, m: number, h: number): boolean {
  return model.global !== null && model.weights.global > 0 && m === model.seasonLength && h <= model.global.horizon;
}

/**
 * One indicator's ensemble forecast from cached parameters: ETS re-filtered on the current
 * window with its cached smoothing parameters (refitted when `refit`), Theta refitted (it is
 * cheap), and the global member's forecast as computed for the whole batch (`global`: h values,
 * NaN where it has none; null when it does not apply — see globalApplies). Writes h values at
 * `offset`.
 */
export function forecastOne(
  model: EnsembleModel,
  y: Float64Array,
  m: number,
  h: number,
  cache: MemberCache | undefined,
  refit: boolean,
  seen: number,
  out: { mean: Float64Array; lower: Float64Array; upper: Float64Array },
  offset: number,
  global: Float64Array | null,
  etsMaxEvaluations?: number,
): MemberCache {
  let ets: EtsFit;
  let next: MemberCache;
  const tmp = new Float64Array(h);
  const mean = out.mean;
  mean.fill(0, offset, offset + h);
  if (cache === undefined || refit || cache.ets.m !== (cache.ets.spec.season === 'N' ? 1 : m)) {
    ets = selectEts(y, m, etsMaxEvaluations === undefined ? {} : { maxEvaluations: etsMaxEvaluations });
    next = { ets, fittedAt: seen };
    etsForecast(ets, etsStates(ets, y), y.length - 1, h, tmp);
  } else {
    const moved = etsOnWindow(cache.ets, y);
    next = cache;
    etsForecast(moved.fit, moved.states, y.length - 1, h, tmp);
  }
  const useGlobal = global !== null && globalApplies(model, m, h);
  const members: MemberForecasts = {
    ets: tmp,
    theta: new Float64Array(h),
    global: useGlobal ? global : new Float64Array(h).fill(Number.NaN),
  };
  if (model.weights.theta > 0) thetaForecast(fitTheta(y, m), h, members.theta);
  const weights = { ...model.weights };
  if (!useGlobal) weights.global = 0;
  if (!(weights.ets + weights.theta + weights.global > 0)) {
    weights.ets = 0.5;
    weights.theta = 0.5;
    thetaForecast(fitTheta(y, m), h, members.theta);
  }
  combine(members, weights, mean.subarray(offset, offset + h));
  // Beyond the calibrated horizon the last step's offsets stand in (widening is then understated).
  const q = model.intervals;
  const scales = intervalScales(y, m, model.intervalScale, h);
  const nonNegative = allNonNegative(y);
  for (let k = 0; k < h; k++) {
    const kk = Math.min(k, q.lower.length - 1);
    const lo = mean[offset + k]! + q.lower[kk]! * scales[k]!;
    out.lower[offset + k] = nonNegative && lo < 0 ? 0 : lo;
    out.upper[offset + k] = mean[offset + k]! + q.upper[kk]! * scales[k]!;
  }
  return next;
}

function trainGlobal(
  series: readonly Float64Array[],
  h: number,
  m: number,
  g: GlobalMemberOptions,
  progress: (line: string) => void,
): GlobalModel {
  if (g.type === 'mlp') {
    return trainGlobalMlp(series, { ...g, horizon: h, seasonLength: m, onProgress: progress });
  }
  const input = g.log ? series.map((y) => (allPositive(y) ? Float64Array.from(y, Math.log) : y)) : series;
  return trainGlobalLinear(input, { inputLength: g.inputLength, horizon: h, seasonLength: m, stride: g.stride, ridge: g.ridge });
}

function accuracy(
  actuals: readonly Float64Array[],
  f: Float64Array,
  scales: readonly number[],
  h: number,
): { smape: number; mase: number } {
  let s = 0;
  let a = 0;
  for (let j = 0; j < actuals.length; j++) {
    const row = f.subarray(j * h, (j + 1) * h);
    s += smape(actuals[j]!, row);
    a += mase(actuals[j]!, row, scales[j]!);
  }
  return { smape: s / actuals.length, mase: a / actuals.length };
}

/** One hold-out window of one series: the history up to its origin, what followed, and the ensemble's forecast of it. */
interface CalibrationWindow {
  series: number;
  head: Float64Array;
  tail: Float64Array;
  forecast: Float64Array;
}

/**
 * The interval offsets and the interval scale: for each candidate scale (recent share and length,
 * one scale or one per step), the hold-out errors are scaled, and the MSIS of conformal quantiles
 * is measured two-fold across series (quantiles from one half, scored on the other; all windows
 * of a series in the same half) — so the choice is judged on errors the quantiles did not see.
 * The final offsets use all errors under the chosen scale.
 */
function calibrateIntervals(
  windows: readonly CalibrationWindow[],
  h: number,
  m: number,
  coverage: number,
  options: EnsembleTrainOptions,
  progress: (line: string) => void,
): { intervals: ScaledQuantiles; intervalScale: IntervalScale } {
  const count = windows.length;
  const lengths = options.intervalRecentLengths ?? [4 * h];
  const shares = options.intervalRecentShares ?? [0];
  const perSteps = options.intervalPerStep ?? [false];
  const maseScales = windows.map((w) => intervalScale(w.head, m, { recentShare: 0, recentLength: 1 }));
  const candidates: IntervalScale[] = [];
  for (const perStep of perSteps) {
    for (const recentShare of shares) {
      for (const recentLength of lengths) {
        candidates.push(perStep ? { recentShare, recentLength, perStep } : { recentShare, recentLength });
        if (!(recentShare > 0)) break;
      }
    }
  }
  const scaledErrors = (spec: IntervalScale): { errors: Float64Array; scales: Float64Array[] } => {
    const scales = windows.map((w) => intervalScales(w.head, m, spec, h));
    const errors = new Float64Array(count * h);
    for (const [r, w] of windows.entries()) for (let k = 0; k < h; k++) errors[r * h + k] = (w.tail[k]! - w.forecast[k]!) / scales[r]![k]!;
    return { errors, scales };
  };
  let best = { msis: Number.POSITIVE_INFINITY, spec: candidates[0]! };
  if (candidates.length > 1) {
    const lower = new Float64Array(h);
    const upper = new Float64Array(h);
    for (const spec of candidates) {
      const { errors, scales } = scaledErrors(spec);
      let total = 0;
      for (let fold = 0; fold < 2; fold++) {
        const fit: number[] = [];
        for (const [r, w] of windows.entries()) if (w.series % 2 !== fold) for (let k = 0; k < h; k++) fit.push(errors[r * h + k]!);
        const q = scaledErrorQuantiles(Float64Array.from(fit), h, coverage);
        for (const [r, w] of windows.entries()) {
          if (w.series % 2 !== fold) continue;
          for (let k = 0; k < h; k++) {
            lower[k] = w.forecast[k]! + q.lower[k]! * scales[r]![k]!;
            upper[k] = w.forecast[k]! + q.upper[k]! * scales[r]![k]!;
          }
          total += msis(w.tail, lower, upper, maseScales[r]!);
        }
      }
      progress(
        `interval_recent_share=${spec.recentShare} recent_length=${spec.recentLength} per_step=${spec.perStep === true} holdout_msis=${(total / count).toFixed(3)}`,
      );
      if (total / count < best.msis) best = { msis: total / count, spec };
    }
  }
  return { intervals: scaledErrorQuantiles(scaledErrors(best.spec).errors, h, coverage), intervalScale: best.spec };
}

function allPositive(y: ArrayLike<number>): boolean {
  for (let t = 0; t < y.length; t++) if (!(y[t]! > 0)) return false;
  return true;
}

function allNonNegative(y: ArrayLike<number>): boolean {
  for (let t = 0; t < y.length; t++) if (!(y[t]! >= 0)) return false;
  return true;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short content id, not a security hash. */
function contentHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

function seconds(t0: number): string {
  return ((performance.now() - t0) / 1000).toFixed(1);
}
