import { ForecastError } from './errors.js';

/**
 * A global linear forecaster: one set of weights shared by every series of a frequency, learned
 * from windows cut from all of them (a pooled direct autoregression, the "global" model of
 * Montero-Manso & Hyndman, "Principles and algorithms for forecasting groups of time series:
 * locality and globality", IJF 37(4), 2021 — a global model of high order may use far more lags
 * than any one series could fit, and on M4's hourly data it beats every local model). Each window
 * is normalised by its own level (mean of the last season) and scale (standard deviation of the
 * window), so series of any size share one model; each horizon step has
 * its own weights (direct, not recursive: no compounding of errors). Fitted by ridge regression
 * in closed form (normal equations, Cholesky), deterministic, in plain TypeScript.
 */

export interface GlobalLinearOptions {
  /** Past observations each forecast reads. */
  inputLength: number;
  horizon: number;
  /** Season length for the window's level and scale. */
  seasonLength: number;
  /** Distance between the ends of consecutive training windows of one series. Default 1. */
  stride?: number;
  /** Ridge penalty, relative to the mean diagonal of XᵀX. Default 1e-3. */
  ridge?: number;
  /** Normalised values are clipped to ±this, so a level shift cannot dominate the fit. Default 20. */
  clip?: number;
}

/** The trained weights: a plain object, saved as JSON. */
export interface GlobalLinearModel {
  kind: 'global-linear';
  inputLength: number;
  horizon: number;
  seasonLength: number;
  clip: number;
  /** horizon × (inputLength + 1) weights, row per step; the last column is the intercept. */
  weights: number[];
  /** Training windows used. */
  windows: number;
}

/**
 * The window's level and scale: the mean of its last season, and the standard deviation of the
 * window (floored at 0.1% of the level). The MASE denominator was tried first and failed on
 * series that repeat exact values for a season: a zero seasonal difference blew their inputs up.
 */
function normaliser(y: ArrayLike<number>, end: number, length: number, m: number): { level: number; scale: number } {
  const start = end - length;
  let level = 0;
  const span = Math.max(1, Math.min(m, length));
  for (let t = end - span; t < end; t++) level += at(y, t);
  level /= span;
  let mean = 0;
  for (let t = start; t < end; t++) mean += at(y, t);
  mean /= length;
  let ss = 0;
  for (let t = start; t < end; t++) ss += (at(y, t) - mean) ** 2;
  const scale = Math.sqrt(ss / length);
  const floor = 1e-3 * Math.abs(level) + 1e-12;
  return { level, scale: Math.max(scale, floor) };
}

/** y(t), or the first observation for t before the series began (front padding for short series). */
function at(y: ArrayLike<number>, t: number): number {
  return t >= 0 ? y[t]! : y[0]!;
}

export function trainGlobalLinear(series: readonly ArrayLike<number>[], options: GlobalLinearOptions): GlobalLinearModel {
  const L = options.inputLength;
  const h = options.horizon;
  const m = options.seasonLength;
  const stride = options.stride ?? 1;
  const clip = options.clip ?? 20;
  if (!(Number.isInteger(L) && L >= 2 && Number.isInteger(h) && h >= 1 && Number.isInteger(m) && m >= 1)) {
    throw new ForecastError('invalid-argument', `expected whole inputLength ≥ 2, horizon ≥ 1, seasonLength ≥ 1; got ${L}, ${h}, ${m}`);
  }
  const d = L + 1;
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d * h);
  const x = new Float64Array(d);
  let windows = 0;
  for (const y of series) {
    const n = y.length;
    // Windows end at `end` (exclusive): inputs y[end−L…end), targets y[end…end+h). At least one
    // full season of real inputs; earlier inputs may be padding.
    for (let end = n - h; end >= Math.min(L, m + 2); end -= stride) {
      const { level, scale } = normaliser(y, end, L, m);
      for (let i = 0; i < L; i++) x[i] = clamp((at(y, end - L + i) - level) / scale, clip);
      x[L] = 1;
      for (let i = 0; i < d; i++) {
        const xi = x[i]!;
        if (xi === 0) continue;
        const row = i * d;
        for (let j = i; j < d; j++) xtx[row + j] = xtx[row + j]! + xi * x[j]!;
        for (let k = 0; k < h; k++) xty[i * h + k] = xty[i * h + k]! + xi * clamp((y[end + k]! - level) / scale, clip);
      }
      windows++;
    }
  }
  if (windows < d) throw new ForecastError('invalid-argument', `expected at least ${d} training windows for ${L} inputs; got ${windows}`);
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) xtx[i * d + j] = xtx[j * d + i]!;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += xtx[i * d + i]!;
  const lambda = (options.ridge ?? 1e-3) * (trace / d);
  // The intercept is not shrunk.
  for (let i = 0; i < L; i++) xtx[i * d + i] = xtx[i * d + i]! + lambda;
  const chol = cholesky(xtx, d);
  const weights = new Array<number>(h * d);
  const rhs = new Float64Array(d);
  for (let k = 0; k < h; k++) {
    for (let i = 0; i < d; i++) rhs[i] = xty[i * h + k]!;
    const w = choleskySolve(chol, d, rhs);
    for (let i = 0; i < d; i++) weights[k * d + i] = w[i]!;
  }
  return { kind: 'global-linear', inputLength: L, horizon: h, seasonLength: m, clip, weights, windows };
}

/**
 * Forecasts `horizon` (≤ the model's) steps for a batch of series, each from its last
 * observation (or from `origins[j]`, the index of the last observation used), into
 * out[j·horizon…]. One matrix–vector product per series on the model's weights.
 */
export function forecastGlobalLinear(
  model: GlobalLinearModel,
  series: readonly ArrayLike<number>[],
  horizon: number,
  out: Float64Array,
  origins?: ArrayLike<number>,
): void {
  const L = model.inputLength;
  const d = L + 1;
  if (horizon > model.horizon) {
    throw new ForecastError('invalid-argument', `expected a horizon ≤ ${model.horizon} (the model's); got ${horizon}`);
  }
  const w = model.weights;
  const x = new Float64Array(d);
  for (let j = 0; j < series.length; j++) {
    const y = series[j]!;
    const end = (origins === undefined ? y.length - 1 : origins[j]!) + 1;
    const { level, scale } = normaliser(y, end, L, model.seasonLength);
    for (let i = 0; i < L; i++) x[i] = clamp((at(y, end - L + i) - level) / scale, model.clip);
    x[L] = 1;
    let nonNegative = true;
    for (let t = 0; t < end && nonNegative; t++) nonNegative = y[t]! >= 0;
    for (let k = 0; k < horizon; k++) {
      let s = 0;
      const row = k * d;
      for (let i = 0; i < d; i++) s += w[row + i]! * x[i]!;
      const f = level + scale * s;
      // A series that has never gone below zero (prices, counts, loads) is not forecast below it.
      out[j * horizon + k] = nonNegative && f < 0 ? 0 : f;
    }
  }
}

function clamp(v: number, c: number): number {
  return v > c ? c : v < -c ? -c : v;
}

/** Lower-triangular L with A = L·Lᵀ (A symmetric positive definite, row-major d×d). */
function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j]!;
      for (let k = 0; k < j; k++) s -= l[i * d + k]! * l[j * d + k]!;
      if (i === j) {
        if (!(s > 0)) throw new ForecastError('invalid-argument', `expected a positive definite normal matrix; pivot ${i} is ${s}`);
        l[i * d + i] = Math.sqrt(s);
      } else {
        l[i * d + j] = s / l[j * d + j]!;
      }
    }
  }
  return l;
}

function choleskySolve(l: Float64Array, d: number, b: Float64Array): Float64Array {
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * d + k]! * z[k]!;
    z[i] = s / l[i * d + i]!;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * x[k]!;
    x[i] = s / l[i * d + i]!;
  }
  return x;
}
