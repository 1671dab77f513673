import { seasonalAdjust } from './seasonality.js';
import { fitSes, sesLevels } from './ses.js';

/**
 * The Theta method (Assimakopoulos & Nikolopoulos, "The theta model: a decomposition approach to
 * forecasting", IJF 16(4), 2000) as the M4 organisers ran it (their benchmark code): seasonally
 * adjust (the M4 test and classical multiplicative indices), split the series into the θ=0 line
 * (the least-squares linear trend) and the θ=2 line (2y − trend), extrapolate the first linearly
 * and the second by SES, and average the two with equal weights; reseasonalise. Hyndman & Billah
 * (IJF 19(2), 2003) showed this is SES with drift b/2, b the trend's slope — the test checks it.
 *
 * Forecasts from earlier origins reuse the fit on the whole series (the same α and trend line);
 * the interval calibration measures in-sample multi-step errors with them.
 */

export interface ThetaFit {
  /** Trend line y = intercept + slope·t (t = 0…n−1) of the seasonally adjusted series. */
  intercept: number;
  slope: number;
  alpha: number;
  /** SES level of the θ=2 line after each observation. */
  levels: Float64Array;
  /** Seasonal index for times t ≡ p (mod its length). */
  index: Float64Array;
  n: number;
}

export function fitTheta(y: ArrayLike<number>, m: number): ThetaFit {
  const n = y.length;
  if (n < 3) throw new Error(`expected at least 3 observations for Theta; got ${n}`);
  const { adjusted, index } = seasonalAdjust(y, m);
  const { intercept, slope } = linearTrend(adjusted);
  const line2 = new Float64Array(n);
  for (let t = 0; t < n; t++) line2[t] = 2 * adjusted[t]! - (intercept + slope * t);
  const ses = fitSes(line2);
  return { intercept, slope, alpha: ses.alpha, levels: sesLevels(line2, ses), index, n };
}

/**
 * h forecasts from origin `origin` (the index of the last observation used; default n−1) into
 * `out` at `offset`.
 */
export function thetaForecast(fit: ThetaFit, h: number, out: Float64Array, offset = 0, origin = fit.n - 1): void {
  const level = fit.levels[origin]!;
  const p = fit.index.length;
  for (let k = 1; k <= h; k++) {
    const t = origin + k;
    const line0 = fit.intercept + fit.slope * t;
    out[offset + k - 1] = (0.5 * level + 0.5 * line0) * fit.index[t % p]!;
  }
}

/** Least-squares line through (t, y(t)), t = 0…n−1. */
export function linearTrend(y: ArrayLike<number>): { intercept: number; slope: number } {
  const n = y.length;
  const tMean = (n - 1) / 2;
  let yMean = 0;
  for (let t = 0; t < n; t++) yMean += y[t]!;
  yMean /= n;
  let sty = 0;
  let stt = 0;
  for (let t = 0; t < n; t++) {
    sty += (t - tMean) * (y[t]! - yMean);
    stt += (t - tMean) ** 2;
  }
  const slope = stt > 0 ? sty / stt : 0;
  return { intercept: yMean - slope * tMean, slope };
}
