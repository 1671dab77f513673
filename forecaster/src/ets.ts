import { classicalSeasonalIndices } from './seasonality.js';
import { nelderMead } from './nelder-mead.js';

/**
 * Exponential smoothing in innovations state-space form, ETS(error, trend, season) (Hyndman,
 * Koehler, Snyder & Grose, IJF 18(3), 2002; Hyndman, Koehler, Ord & Snyder, Forecasting with
 * Exponential Smoothing: The State Space Approach, Springer 2008), with automatic selection by
 * AICc over error A/M × trend N/A/Ad × season N/A/M — as the forecast package's ets() does, minus
 * the additive-error/multiplicative-season models it also excludes by default (numerically
 * unstable: an additive error meets a seasonal ratio near zero).
 *
 * Recursions (the error-correction form of ets()'s C code, one set for both error types — the
 * error type changes the likelihood, not the point path), with q = ℓ + φb the one-step level:
 *   ŷ = q (+ s, or × s)
 *   ℓ ← q + α·(y ⊖ s − q)            (⊖: minus, or divided by, the season)
 *   b ← φb + (β/α)·(ℓ − ℓ_prev − φb)
 *   s ← s + γ·(y ⊘ q − s)            (⊘: minus, or divided by, q)
 * −2 log L up to a constant: n·log Σe² (+ 2·Σ log|ŷ| for multiplicative error, where e = (y−ŷ)/ŷ).
 * Parameter region: the "usual" bounds of ets(): 1e-4 ≤ α ≤ 0.9999, β ≤ α, γ ≤ 1 − α,
 * 0.8 ≤ φ ≤ 0.98, mapped from the real line through logistic functions for Nelder–Mead.
 * Initial states are ets()'s heuristics (classical decomposition of the first three seasons,
 * a line through the first max(10, 2m) adjusted points) and held fixed: optimising m + 2 more
 * coordinates by simplex costs far more than it gains on the long M4 series. They are still
 * counted in the AICc's parameter count, as ets() counts them.
 */

export type EtsError = 'A' | 'M';
export type EtsTrend = 'N' | 'A' | 'Ad';
export type EtsSeason = 'N' | 'A' | 'M';

export interface EtsSpec {
  error: EtsError;
  trend: EtsTrend;
  season: EtsSeason;
}

export interface EtsFit {
  spec: EtsSpec;
  /** Season length used (1 for non-seasonal models). */
  m: number;
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
  level0: number;
  trend0: number;
  /** Initial seasonal state for times t ≡ p (mod m), before the first observation. */
  season0: Float64Array;
  n: number;
  /** n·log(SSE) (+ 2Σlog|ŷ|): −2 log-likelihood up to a constant shared by all models on the same data. */
  likelihood: number;
  aicc: number;
  /** One-step error variance (relative errors for multiplicative-error models). */
  sigma2: number;
}

export interface EtsOptions {
  /** Models tried; default every admissible combination. */
  specs?: readonly EtsSpec[];
  /** Simplex evaluations per model. Default 300. */
  maxEvaluations?: number;
}

const ALPHA_MIN = 1e-4;
const ALPHA_MAX = 0.9999;
const PHI_MIN = 0.8;
const PHI_MAX = 0.98;

/** Every ETS model ets() tries by default (no multiplicative trend; no A-error with M-season). */
export function etsSpecs(seasonal: boolean, positive: boolean): EtsSpec[] {
  const out: EtsSpec[] = [];
  for (const error of positive ? (['A', 'M'] as const) : (['A'] as const)) {
    for (const trend of ['N', 'A', 'Ad'] as const) {
      for (const season of seasonal ? (positive ? (['N', 'A', 'M'] as const) : (['N', 'A'] as const)) : (['N'] as const)) {
        if (error === 'A' && season === 'M') continue;
        out.push({ error, trend, season });
      }
    }
  }
  return out;
}

export function specName(spec: EtsSpec): string {
  return `ETS(${spec.error},${spec.trend},${spec.season})`;
}

/**
 * Fits every admissible model and keeps the lowest AICc. Seasonal models need m > 1 and two full
 * seasons plus a point; multiplicative ones need strictly positive data.
 */
export function selectEts(y: ArrayLike<number>, m: number, options: EtsOptions = {}): EtsFit {
  const n = y.length;
  if (n < 4) throw new Error(`expected at least 4 observations for ETS; got ${n}`);
  let positive = true;
  for (let t = 0; t < n && positive; t++) positive = y[t]! > 0;
  const seasonal = m > 1 && n >= 2 * m + 1;
  const specs = options.specs ?? etsSpecs(seasonal, positive);
  let best: EtsFit | undefined;
  for (const spec of specs) {
    if (spec.season !== 'N' && !seasonal) continue;
    if ((spec.error === 'M' || spec.season === 'M') && !positive) continue;
    const fit = fitEts(y, spec.season === 'N' ? 1 : m, spec, options.maxEvaluations);
    if (Number.isFinite(fit.aicc) && (best === undefined || fit.aicc < best.aicc)) best = fit;
  }
  // ETS(A,N,N) always has a finite likelihood unless the data do not; keep it as the floor.
  return best ?? fitEts(y, 1, { error: 'A', trend: 'N', season: 'N' }, options.maxEvaluations);
}

/** Fits one model: heuristic initial states, smoothing parameters by Nelder–Mead on −2 log L. */
export function fitEts(y: ArrayLike<number>, m: number, spec: EtsSpec, maxEvaluations = 300): EtsFit {
  const n = y.length;
  const seasonM = spec.season === 'N' ? 1 : m;
  const init = initialStates(y, seasonM, spec);
  const hasTrend = spec.trend !== 'N';
  const damped = spec.trend === 'Ad';
  const hasSeason = spec.season !== 'N';
  const scratch = new Float64Array(seasonM);
  const params = { alpha: 0, beta: 0, gamma: 0, phi: 1 };
  const decode = (u: Float64Array): void => {
    let i = 0;
    params.alpha = ALPHA_MIN + (ALPHA_MAX - ALPHA_MIN) * logistic(u[i++]!);
    params.beta = hasTrend ? ALPHA_MIN + (params.alpha - ALPHA_MIN) * logistic(u[i++]!) : 0;
    params.gamma = hasSeason ? ALPHA_MIN + (1 - params.alpha - ALPHA_MIN) * logistic(u[i++]!) : 0;
    params.phi = damped ? PHI_MIN + (PHI_MAX - PHI_MIN) * logistic(u[i++]!) : 1;
  };
  // Start where ets() starts: α = 0.1+, β = 0.01, γ = 0.01, φ = 0.978 (here as logits).
  const start: number[] = [logit((0.2 - ALPHA_MIN) / (ALPHA_MAX - ALPHA_MIN))];
  if (hasTrend) start.push(logit(0.1));
  if (hasSeason) start.push(logit(0.05));
  if (damped) start.push(logit((0.97 - PHI_MIN) / (PHI_MAX - PHI_MIN)));
  const objective = (u: Float64Array): number => {
    decode(u);
    return runEts(y, n, seasonM, spec, params, init, scratch, undefined).likelihood;
  };
  const best = nelderMead(objective, start, { maxEvaluations, step: 1 });
  decode(best.x);
  const run = runEts(y, n, seasonM, spec, params, init, scratch, undefined);
  // Parameters: smoothing ones, initial level, trend and m−1 free seasonal states, and σ².
  const k = 1 + (hasTrend ? 1 : 0) + (hasSeason ? 1 : 0) + (damped ? 1 : 0) + 1 + (hasTrend ? 1 : 0) + (hasSeason ? seasonM - 1 : 0) + 1;
  const aicc = n - k - 1 > 0 ? run.likelihood + 2 * k + (2 * k * (k + 1)) / (n - k - 1) : Number.POSITIVE_INFINITY;
  return {
    spec,
    m: seasonM,
    alpha: params.alpha,
    beta: params.beta,
    gamma: params.gamma,
    phi: params.phi,
    level0: init.level,
    trend0: init.trend,
    season0: init.season,
    n,
    likelihood: run.likelihood,
    aicc,
    sigma2: run.sse / n,
  };
}

/** A fitted model's state after each observation, for forecasts from earlier origins. */
export interface EtsStates {
  level: Float64Array;
  trend: Float64Array;
  /** Seasonal state by phase, m values per time: [t·m + p]. Empty for non-seasonal models. */
  season: Float64Array;
}

/** Runs the filter over y and keeps the state after each observation (the states are n × (2 + m)). */
export function etsStates(fit: EtsFit, y: ArrayLike<number>): EtsStates {
  const n = y.length;
  const states: EtsStates = {
    level: new Float64Array(n),
    trend: new Float64Array(n),
    season: new Float64Array(fit.spec.season === 'N' ? 0 : n * fit.m),
  };
  runEts(y, n, fit.m, fit.spec, fit, { level: fit.level0, trend: fit.trend0, season: fit.season0 }, new Float64Array(fit.m), states);
  return states;
}

/**
 * h point forecasts from the state after observation `origin` (0-based) into out[offset…].
 * The season state holds, at phase p, the latest index for times ≡ p (mod m).
 */
export function etsForecast(fit: EtsFit, states: EtsStates, origin: number, h: number, out: Float64Array, offset = 0): void {
  const l = states.level[origin]!;
  const b = states.trend[origin]!;
  const m = fit.m;
  const phi = fit.phi;
  let damp = 0;
  let phiK = 1;
  for (let k = 1; k <= h; k++) {
    phiK *= fit.spec.trend === 'Ad' ? phi : 1;
    damp += fit.spec.trend === 'N' ? 0 : phiK;
    const q = l + damp * b;
    let f = q;
    if (fit.spec.season !== 'N') {
      const s = states.season[origin * m + ((origin + k) % m)]!;
      f = fit.spec.season === 'A' ? q + s : q * s;
    }
    out[offset + k - 1] = f;
  }
}

interface Initial {
  level: number;
  trend: number;
  season: Float64Array;
}

/** ets()'s initstate(): decomposition of the first three seasons, then a line through the adjusted start. */
function initialStates(y: ArrayLike<number>, m: number, spec: EtsSpec): Initial {
  const n = y.length;
  const season = new Float64Array(m).fill(spec.season === 'M' ? 1 : 0);
  let adjusted: ArrayLike<number> = y;
  if (spec.season !== 'N') {
    const span = Math.min(n, 3 * m);
    const head = Array.prototype.slice.call(y, 0, span) as number[];
    if (spec.season === 'M') {
      season.set(classicalSeasonalIndices(head, m));
    } else {
      const additive = additiveIndices(head, m);
      season.set(additive);
    }
    const sa = new Float64Array(n);
    for (let t = 0; t < n; t++) sa[t] = spec.season === 'M' ? y[t]! / season[t % m]! : y[t]! - season[t % m]!;
    adjusted = sa;
  }
  const maxn = Math.min(Math.max(10, 2 * m), n);
  if (spec.trend === 'N') {
    let s = 0;
    for (let t = 0; t < maxn; t++) s += adjusted[t]!;
    return { level: s / maxn, trend: 0, season };
  }
  // Line through (1…maxn, y): the level at time 0 is its intercept, as in ets().
  const tMean = (maxn + 1) / 2;
  let yMean = 0;
  for (let t = 0; t < maxn; t++) yMean += adjusted[t]!;
  yMean /= maxn;
  let sty = 0;
  let stt = 0;
  for (let t = 0; t < maxn; t++) {
    sty += (t + 1 - tMean) * (adjusted[t]! - yMean);
    stt += (t + 1 - tMean) ** 2;
  }
  const slope = stt > 0 ? sty / stt : 0;
  return { level: yMean - slope * tMean, trend: slope, season };
}

/** Additive classical-decomposition indices (centred 2×m moving average), mean zero. */
function additiveIndices(y: readonly number[], m: number): Float64Array {
  const n = y.length;
  const sums = new Float64Array(m);
  const counts = new Float64Array(m);
  const half = Math.floor(m / 2);
  for (let t = half; t < n - half; t++) {
    let trend = 0;
    if (m % 2 === 0) {
      trend = 0.5 * y[t - half]! + 0.5 * y[t + half]!;
      for (let k = t - half + 1; k < t + half; k++) trend += y[k]!;
    } else {
      for (let k = t - half; k <= t + half; k++) trend += y[k]!;
    }
    sums[t % m] = sums[t % m]! + y[t]! - trend / m;
    counts[t % m] = counts[t % m]! + 1;
  }
  const out = new Float64Array(m);
  let mean = 0;
  for (let p = 0; p < m; p++) {
    out[p] = counts[p]! > 0 ? sums[p]! / counts[p]! : 0;
    mean += out[p]! / m;
  }
  for (let p = 0; p < m; p++) out[p] = out[p]! - mean;
  return out;
}

interface Params {
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
}

/** The filter: −2 log L (up to a constant) and the SSE; states after each step when asked. */
function runEts(
  y: ArrayLike<number>,
  n: number,
  m: number,
  spec: EtsSpec,
  p: Params,
  init: Initial,
  s: Float64Array,
  keep: EtsStates | undefined,
): { likelihood: number; sse: number } {
  const multError = spec.error === 'M';
  const trend = spec.trend !== 'N';
  const season = spec.season === 'N' ? 0 : spec.season === 'A' ? 1 : 2;
  const { alpha, gamma, phi } = p;
  const betaStar = trend ? p.beta / alpha : 0;
  let l = init.level;
  let b = trend ? init.trend : 0;
  s.set(init.season);
  let sse = 0;
  let logSum = 0;
  for (let t = 0; t < n; t++) {
    const yt = y[t]!;
    const phib = trend ? phi * b : 0;
    const q = l + phib;
    const phase = m > 1 ? t % m : 0;
    const st = s[phase]!;
    const f = season === 0 ? q : season === 1 ? q + st : q * st;
    let e: number;
    if (multError) {
      if (!(f > 0)) return { likelihood: Number.POSITIVE_INFINITY, sse: Number.POSITIVE_INFINITY };
      e = (yt - f) / f;
      logSum += Math.log(f);
    } else {
      e = yt - f;
    }
    sse += e * e;
    const deseason = season === 0 ? yt : season === 1 ? yt - st : yt / st;
    const lNew = q + alpha * (deseason - q);
    if (trend) b = phib + betaStar * (lNew - l - phib);
    if (season === 1) s[phase] = st + gamma * (yt - q - st);
    else if (season === 2) {
      if (!(q > 0)) return { likelihood: Number.POSITIVE_INFINITY, sse: Number.POSITIVE_INFINITY };
      s[phase] = st + gamma * (yt / q - st);
    }
    l = lNew;
    if (!Number.isFinite(l)) return { likelihood: Number.POSITIVE_INFINITY, sse: Number.POSITIVE_INFINITY };
    if (keep !== undefined) {
      keep.level[t] = l;
      keep.trend[t] = b;
      if (season !== 0) keep.season.set(s, t * m);
    }
  }
  if (!(sse > 0)) sse = Number.MIN_VALUE;
  return { likelihood: n * Math.log(sse) + 2 * logSum, sse };
}

function logistic(u: number): number {
  return 1 / (1 + Math.exp(-u));
}

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/**
 * The same model and smoothing parameters on a newer window of the series: initial states
 * re-derived from its start, the filter re-run. A streaming caller refits the parameters now and
 * then and otherwise pays only this O(n) pass.
 */
export function etsOnWindow(fit: EtsFit, y: ArrayLike<number>): { fit: EtsFit; states: EtsStates } {
  const init = initialStates(y, fit.m, fit.spec);
  const moved: EtsFit = { ...fit, level0: init.level, trend0: init.trend, season0: init.season, n: y.length };
  return { fit: moved, states: etsStates(moved, y) };
}
