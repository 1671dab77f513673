import { ForecastError } from './errors.js';
import { orderStatisticInPlace } from './seasonal-naive.js';

/**
 * Prediction intervals from pooled, scaled hold-out errors — split conformal prediction (Vovk,
 * Gammerman & Shafer 2005; Lei et al., JASA 113, 2018) across series: every series of a
 * frequency is forecast from the end of its training part, its errors on the held-out horizon
 * are divided by the series' own scale (the MASE denominator, mean |y(t) − y(t−m)|), and per
 * horizon step the conformal ranks ⌊(n+1)·α/2⌋ and ⌈(n+1)·(1−α/2)⌉ of those n scaled errors
 * become the interval's offsets, in units of the forecast series' scale.
 *
 * Why this family: M4 scores intervals by MSIS, the interval score divided by that same scale,
 * and the interval score is minimised by the true α/2 and 1−α/2 quantiles (Gneiting & Raftery,
 * JASA 102, 2007) — so, among intervals of the form ŷ + q·scale, the pooled quantiles are the
 * ones to learn. Pooling over neighbouring steps (±`poolSteps`) steadies the tails, which a
 * few hundred errors per step estimate poorly.
 */

export interface ScaledQuantiles {
  coverage: number;
  /** Per horizon step: lower and upper offsets, in units of the series' scale. */
  lower: number[];
  upper: number[];
}

/**
 * Conformal quantiles of scaled errors. `errors[j·h + k]` is series j's scaled error
 * (actual − forecast) / scale at step k+1; non-finite entries are skipped.
 */
export function scaledErrorQuantiles(errors: Float64Array, horizon: number, coverage: number, poolSteps = 1): ScaledQuantiles {
  if (!(coverage > 0 && coverage < 1))
    throw new ForecastError('invalid-argument', `expected a coverage strictly between 0 and 1; got ${coverage}`);
  const series = Math.floor(errors.length / horizon);
  const lower: number[] = [];
  const upper: number[] = [];
  const scratch = new Float64Array(series * (2 * poolSteps + 1));
  for (let k = 0; k < horizon; k++) {
    let n = 0;
    for (let kk = Math.max(0, k - poolSteps); kk <= Math.min(horizon - 1, k + poolSteps); kk++) {
      for (let j = 0; j < series; j++) {
        const e = errors[j * horizon + kk]!;
        if (Number.isFinite(e)) scratch[n++] = e;
      }
    }
    const lo = Math.floor(((n + 1) * (1 - coverage)) / 2);
    const hi = Math.ceil(((n + 1) * (1 + coverage)) / 2);
    if (lo < 1 || hi > n) {
      throw new ForecastError(
        'invalid-argument',
        `expected at least ${Math.ceil(2 / (1 - coverage))} scaled errors at step ${k + 1} for ${coverage} coverage; got ${n}`,
      );
    }
    lower.push(orderStatisticInPlace(scratch, n, lo));
    upper.push(orderStatisticInPlace(scratch, n, hi));
  }
  return { coverage, lower, upper };
}

/** The MASE denominator: mean |y(t) − y(t−m)|, falling back to lag 1 and then to a tiny level share. */
export function seriesScale(y: ArrayLike<number>, m: number): number {
  const n = y.length;
  for (const lag of m > 1 && n > m ? [m, 1] : [1]) {
    if (n <= lag) continue;
    let s = 0;
    for (let t = lag; t < n; t++) s += Math.abs(y[t]! - y[t - lag]!);
    if (s > 0) return s / (n - lag);
  }
  return 1e-6 * Math.max(1, Math.abs(y[n - 1] ?? 1));
}

/**
 * Turns point forecasts into intervals: lower = ŷ + q_lo·scale, upper = ŷ + q_hi·scale, the
 * lower bound floored at zero for a series that never went below it.
 */
export function applyScaledQuantiles(
  q: ScaledQuantiles,
  mean: ArrayLike<number>,
  scale: number | ArrayLike<number>,
  nonNegative: boolean,
  lower: Float64Array,
  upper: Float64Array,
  offset = 0,
): void {
  const h = mean.length;
  if (h > q.lower.length)
    throw new ForecastError('invalid-argument', `expected a horizon ≤ ${q.lower.length} (the calibrated one); got ${h}`);
  for (let k = 0; k < h; k++) {
    const s = typeof scale === 'number' ? scale : scale[k]!;
    const lo = mean[k]! + q.lower[k]! * s;
    lower[offset + k] = nonNegative && lo < 0 ? 0 : lo;
    upper[offset + k] = mean[k]! + q.upper[k]! * s;
  }
}

/**
 * How a series' interval scale is measured: `recentShare` of it is the seasonal-difference scale
 * of the last `recentLength` observations, the rest that of the whole history (M4's MASE
 * denominator). Volatility drifts — a long weekly series may have been calm for years and be
 * turbulent now — and the interval should follow the recent kind; the whole history steadies it.
 */
export interface IntervalScale {
  recentShare: number;
  recentLength: number;
  /**
   * One scale per horizon step: step k's is the mean |y(t) − y(t−ℓ)| at the seasonal naive's own
   * k-step lag ℓ = m·⌈k/m⌉ (k itself for non-seasonal data), mixed whole/recent as above. Without
   * it every step shares the one-season scale and the quantiles alone must carry the growth of
   * errors with the horizon — the same growth for a random walk and for a mean-reverting series,
   * which is too narrow far out for the first and too wide for the second. Absent: false.
   */
  perStep?: boolean;
}

export function intervalScale(y: ArrayLike<number>, m: number, spec: IntervalScale): number {
  const whole = seriesScale(y, m);
  if (!(spec.recentShare > 0)) return whole;
  const n = y.length;
  const lag = m > 1 && n > m ? m : 1;
  let s = 0;
  let count = 0;
  for (let t = Math.max(lag, n - spec.recentLength); t < n; t++) {
    s += Math.abs(y[t]! - y[t - lag]!);
    count++;
  }
  const recent = count > 0 && s > 0 ? s / count : whole;
  return (1 - spec.recentShare) * whole + spec.recentShare * recent;
}

/**
 * The interval scale of each of h steps (all equal to intervalScale unless `spec.perStep`). A lag
 * the history cannot hold falls back to the one-season scale times √(lag/m), the random walk's
 * growth.
 */
export function intervalScales(y: ArrayLike<number>, m: number, spec: IntervalScale, h: number): Float64Array {
  const out = new Float64Array(h);
  const base = intervalScale(y, m, spec);
  if (spec.perStep !== true) return out.fill(base);
  const n = y.length;
  const season = m > 1 && n > m ? m : 1;
  for (let k = 1; k <= h; k++) {
    const lag = season * Math.ceil(k / season);
    if (lag === season) {
      out[k - 1] = base;
      continue;
    }
    const whole = meanAbsChange(y, lag, 0);
    const recent = spec.recentShare > 0 ? meanAbsChange(y, lag, Math.max(0, n - spec.recentLength)) : 0;
    const fallback = base * Math.sqrt(lag / season);
    const w = whole > 0 ? whole : fallback;
    const r = recent > 0 ? recent : w;
    out[k - 1] = (1 - spec.recentShare) * w + spec.recentShare * r;
  }
  return out;
}

/** Mean |y(t) − y(t−lag)| over t ≥ max(lag, from); 0 when there is no such t. */
function meanAbsChange(y: ArrayLike<number>, lag: number, from: number): number {
  let s = 0;
  let count = 0;
  for (let t = Math.max(lag, from); t < y.length; t++) {
    s += Math.abs(y[t]! - y[t - lag]!);
    count++;
  }
  return count > 0 ? s / count : 0;
}
