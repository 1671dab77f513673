/**
 * Classical seasonal adjustment as the M4 organisers apply it before Naive2, SES, Holt, Damped and
 * Theta (Makridakis, Spiliotis & Assimakopoulos, IJF 36(1), 2020, §2.4; their R code in
 * Mcompetitions/M4-methods): a series is treated as seasonal when its autocorrelation at lag m
 * exceeds the 90% one-sided limit 1.645·√((1 + 2Σ_{k<m} r_k²)/n), and is then divided by
 * multiplicative seasonal indices from classical decomposition (a centred 2×m moving-average
 * trend, the mean ratio per season position, normalised to average 1).
 */

/** Lag-k sample autocorrelations r_1…r_maxLag (the acf() definition: one overall mean, divisor n). */
export function autocorrelations(y: ArrayLike<number>, maxLag: number): Float64Array {
  const n = y.length;
  let mean = 0;
  for (let t = 0; t < n; t++) mean += y[t]!;
  mean /= n;
  let c0 = 0;
  for (let t = 0; t < n; t++) c0 += (y[t]! - mean) ** 2;
  const r = new Float64Array(maxLag);
  if (!(c0 > 0)) return r;
  for (let k = 1; k <= maxLag; k++) {
    let c = 0;
    for (let t = k; t < n; t++) c += (y[t]! - mean) * (y[t - k]! - mean);
    r[k - 1] = c / c0;
  }
  return r;
}

/** M4's seasonality test: needs three full seasons; 90% one-sided on the lag-m autocorrelation. */
export function isSeasonal(y: ArrayLike<number>, m: number): boolean {
  const n = y.length;
  if (m <= 1 || n < 3 * m) return false;
  const r = autocorrelations(y, m);
  let sum = 1;
  for (let k = 0; k < m - 1; k++) sum += 2 * r[k]! ** 2;
  const limit = (1.645 / Math.sqrt(n)) * Math.sqrt(sum);
  return Math.abs(r[m - 1]!) > limit;
}

/**
 * Multiplicative seasonal indices by classical decomposition (R's decompose(type =
 * "multiplicative")): index p applies to times t with t mod m = p. Needs two full seasons.
 */
export function classicalSeasonalIndices(y: ArrayLike<number>, m: number): Float64Array {
  const n = y.length;
  const sums = new Float64Array(m);
  const counts = new Float64Array(m);
  const half = Math.floor(m / 2);
  // Centred moving average: for even m a 2×m MA (half weights at both ends).
  for (let t = half; t < n - half; t++) {
    let trend = 0;
    if (m % 2 === 0) {
      trend = 0.5 * y[t - half]! + 0.5 * y[t + half]!;
      for (let k = t - half + 1; k < t + half; k++) trend += y[k]!;
    } else {
      for (let k = t - half; k <= t + half; k++) trend += y[k]!;
    }
    trend /= m;
    if (trend === 0) continue;
    sums[t % m] = sums[t % m]! + y[t]! / trend;
    counts[t % m] = counts[t % m]! + 1;
  }
  const index = new Float64Array(m);
  let mean = 0;
  for (let p = 0; p < m; p++) {
    index[p] = counts[p]! > 0 ? sums[p]! / counts[p]! : 1;
    mean += index[p]! / m;
  }
  for (let p = 0; p < m; p++) index[p] = mean > 0 ? index[p]! / mean : 1;
  return index;
}

export interface SeasonalAdjustment {
  /** The series divided by its seasonal index (a copy; the series itself when not seasonal). */
  adjusted: Float64Array;
  /** Index for times t ≡ p (mod m); all ones when not seasonal. */
  index: Float64Array;
  seasonal: boolean;
}

/**
 * M4's adjustment: indices only when the test says seasonal and every value is positive
 * (a multiplicative index is meaningless across zero); otherwise the series unchanged.
 */
export function seasonalAdjust(y: ArrayLike<number>, m: number): SeasonalAdjustment {
  const n = y.length;
  let positive = true;
  for (let t = 0; t < n && positive; t++) positive = y[t]! > 0;
  const seasonal = positive && isSeasonal(y, m);
  const index = seasonal ? classicalSeasonalIndices(y, m) : new Float64Array(Math.max(1, m)).fill(1);
  const adjusted = new Float64Array(n);
  for (let t = 0; t < n; t++) adjusted[t] = y[t]! / index[t % index.length]!;
  return { adjusted, index, seasonal };
}
