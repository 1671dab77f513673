/**
 * The M4 accuracy measures, as defined in the competition's guide and paper (Makridakis,
 * Spiliotis & Assimakopoulos, IJF 36(1), 2020, §2.3 and the organisers' R code in
 * Mcompetitions/M4-methods): sMAPE and MASE per series, averaged over series; OWA relative to
 * Naive2 computed from those averages (not per series); MSIS for 95% intervals (a = 0.05),
 * scaled like MASE.
 */

/** sMAPE in percent: 200/h · Σ |y − ŷ| / (|y| + |ŷ|). */
export function smape(actual: ArrayLike<number>, forecast: ArrayLike<number>): number {
  const h = checkSameLength(actual, forecast);
  let s = 0;
  for (let k = 0; k < h; k++) {
    const y = actual[k]!;
    const f = forecast[k]!;
    const d = Math.abs(y) + Math.abs(f);
    // 0/0 when both are zero: a perfect forecast, error 0 (the R code would give NaN).
    if (d > 0) s += Math.abs(y - f) / d;
  }
  return (200 * s) / h;
}

/**
 * The in-sample scale of MASE and MSIS: the mean absolute lag-m difference of the training
 * series, 1/(n−m) · Σ |y(t) − y(t−m)|, m being M4's MASE lag for the frequency.
 */
export function maseScale(insample: ArrayLike<number>, m: number): number {
  const n = insample.length;
  if (n <= m) throw new Error(`expected more than ${m} in-sample values for the lag-${m} MASE scale; got ${n}`);
  let s = 0;
  for (let t = m; t < n; t++) s += Math.abs(insample[t]! - insample[t - m]!);
  return s / (n - m);
}

export function mase(actual: ArrayLike<number>, forecast: ArrayLike<number>, scale: number): number {
  const h = checkSameLength(actual, forecast);
  let s = 0;
  for (let k = 0; k < h; k++) s += Math.abs(actual[k]! - forecast[k]!);
  return s / h / scale;
}

/**
 * Mean scaled interval score (Gneiting & Raftery 2007, as M4 scales it): the width plus 2/a times
 * each miss, averaged over the horizon and divided by the MASE scale; a = 0.05 for 95%.
 */
export function msis(actual: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>, scale: number, a = 0.05): number {
  const h = checkSameLength(actual, lower);
  checkSameLength(actual, upper);
  let s = 0;
  for (let k = 0; k < h; k++) {
    const y = actual[k]!;
    const l = lower[k]!;
    const u = upper[k]!;
    s += u - l;
    if (y < l) s += (2 / a) * (l - y);
    if (y > u) s += (2 / a) * (y - u);
  }
  return s / h / scale;
}

/** Share of actual values inside [lower, upper]. */
export function coverage(actual: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>): number {
  const h = checkSameLength(actual, lower);
  let inside = 0;
  for (let k = 0; k < h; k++) if (actual[k]! >= lower[k]! && actual[k]! <= upper[k]!) inside++;
  return inside / h;
}

/** OWA = ½ (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2), on the averages over all series. */
export function owa(mean: { smape: number; mase: number }, naive2: { smape: number; mase: number }): number {
  return 0.5 * (mean.smape / naive2.smape + mean.mase / naive2.mase);
}

export interface Scores {
  smape: number;
  mase: number;
  /** Absent when no intervals were scored. */
  msis?: number;
  coverage?: number;
}

/**
 * Averages over series of the per-series measures; `forecasts[j]`, `lower[j]`, `upper[j]` are
 * series j's h values, `scales[j]` its MASE scale.
 */
export function scoreAll(
  actuals: readonly ArrayLike<number>[],
  forecasts: readonly ArrayLike<number>[],
  scales: readonly number[],
  intervals?: { lower: readonly ArrayLike<number>[]; upper: readonly ArrayLike<number>[] },
): Scores {
  const n = actuals.length;
  if (forecasts.length !== n || scales.length !== n) {
    throw new Error(`expected one forecast and one scale per series (${n}); got ${forecasts.length} and ${scales.length}`);
  }
  let sm = 0;
  let ma = 0;
  let ms = 0;
  let cov = 0;
  for (let j = 0; j < n; j++) {
    sm += smape(actuals[j]!, forecasts[j]!);
    ma += mase(actuals[j]!, forecasts[j]!, scales[j]!);
    if (intervals !== undefined) {
      ms += msis(actuals[j]!, intervals.lower[j]!, intervals.upper[j]!, scales[j]!);
      cov += coverage(actuals[j]!, intervals.lower[j]!, intervals.upper[j]!);
    }
  }
  const scores: Scores = { smape: sm / n, mase: ma / n };
  if (intervals !== undefined) {
    scores.msis = ms / n;
    scores.coverage = cov / n;
  }
  return scores;
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`expected forecasts as long as the actuals (${a.length}); got ${b.length}`);
  if (a.length === 0) throw new Error('expected at least one value to score; got none');
  return a.length;
}
