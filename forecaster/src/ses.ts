/**
 * Simple exponential smoothing, ℓ(t) = α·y(t) + (1−α)·ℓ(t−1), fitted by least squares on the
 * one-step errors (the ETS(A,N,N) likelihood; Hyndman et al., Forecasting with Exponential
 * Smoothing: The State Space Approach, 2008, ch. 3). For a given α the errors are linear in the
 * initial level ℓ(0) — e(t) = a(t) − (1−α)^t·ℓ(0), a(t) the errors from ℓ(0) = 0 — so ℓ(0) has a
 * closed form and only α is searched (a grid, then golden section), cheap and deterministic.
 */

export interface SesFit {
  alpha: number;
  /** Initial level ℓ(0), before the first observation. */
  level0: number;
  /** Level after the last observation: the flat forecast. */
  level: number;
  sse: number;
}

const ALPHA_MIN = 1e-4;
const ALPHA_MAX = 0.9999;
const GRID = 20;

export function fitSes(y: ArrayLike<number>): SesFit {
  const n = y.length;
  if (n < 1) throw new Error('expected at least one observation to fit SES; got none');
  let bestAlpha = ALPHA_MIN;
  let bestSse = Number.POSITIVE_INFINITY;
  for (let g = 0; g <= GRID; g++) {
    const a = ALPHA_MIN + ((ALPHA_MAX - ALPHA_MIN) * g) / GRID;
    const s = sesAt(y, a).sse;
    if (s < bestSse) {
      bestSse = s;
      bestAlpha = a;
    }
  }
  // Golden section on the grid cell around the best point.
  const step = (ALPHA_MAX - ALPHA_MIN) / GRID;
  let lo = Math.max(ALPHA_MIN, bestAlpha - step);
  let hi = Math.min(ALPHA_MAX, bestAlpha + step);
  const ratio = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - ratio * (hi - lo);
  let x2 = lo + ratio * (hi - lo);
  let f1 = sesAt(y, x1).sse;
  let f2 = sesAt(y, x2).sse;
  for (let it = 0; it < 30; it++) {
    if (f1 < f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - ratio * (hi - lo);
      f1 = sesAt(y, x1).sse;
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + ratio * (hi - lo);
      f2 = sesAt(y, x2).sse;
    }
  }
  const alpha = f1 < f2 ? x1 : x2;
  const fit = sesAt(y, alpha);
  return fit.sse <= bestSse ? fit : sesAt(y, bestAlpha);
}

/** SES at a given α with the least-squares ℓ(0). */
export function sesAt(y: ArrayLike<number>, alpha: number): SesFit {
  const n = y.length;
  const keep = 1 - alpha;
  // Pass 1: errors a(t) from ℓ(0) = 0 and their weights c(t) = (1−α)^t.
  let level = 0;
  let c = 1;
  let ac = 0;
  let cc = 0;
  for (let t = 0; t < n; t++) {
    const a = y[t]! - level;
    ac += a * c;
    cc += c * c;
    level += alpha * a;
    c *= keep;
  }
  const level0 = cc > 0 ? ac / cc : y[0]!;
  // Pass 2: the actual errors.
  level = level0;
  let sse = 0;
  for (let t = 0; t < n; t++) {
    const e = y[t]! - level;
    sse += e * e;
    level += alpha * e;
  }
  return { alpha, level0, level, sse };
}

/** Levels ℓ(t) after each observation t = 0…n−1 (the flat forecast from origin t). */
export function sesLevels(y: ArrayLike<number>, fit: Pick<SesFit, 'alpha' | 'level0'>): Float64Array {
  const out = new Float64Array(y.length);
  let level = fit.level0;
  for (let t = 0; t < y.length; t++) {
    level += fit.alpha * (y[t]! - level);
    out[t] = level;
  }
  return out;
}
