/**
 * From raw surprise to a calibrated anomaly score in [0, 1]: the "anomaly likelihood" of
 * Ahmad, Lavin, Purdy & Agha (2017, "Unsupervised real-time anomaly detection for streaming
 * data", Neurocomputing), made streaming and per series.
 *
 * A raw surprise (how badly the model predicted this point) is noisy and its level differs
 * between series: a noisy series is always a little surprising. The likelihood keeps, per series,
 * a short average of the surprise (the paper's W' = 10 points, here an EWMA) and the long-run
 * mean and variance of that average (the paper's W = thousands of points, here a slow EWMA),
 * and reports how far in the Gaussian tail the short average sits: a burst of surprise that is
 * unusual *for this series* scores high, a series that is merely noisy does not. The score is
 * the paper's log transform, log(tail) / log(1e-10), so 0.5 means "a 1-in-100,000 event" and
 * every series shares one scale — which is what lets one threshold serve all of them.
 */

const LN10 = Math.log(10);
const SQRT1_2 = Math.SQRT1_2;

/**
 * ln Q(z), the log of the standard normal upper tail, accurate far into the tail (where Q
 * itself underflows): Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7) is
 * exp(−x² + poly), so its logarithm is available without computing the exponential.
 */
export function logNormalTail(z: number): number {
  const x = z * SQRT1_2;
  const ax = x < 0 ? -x : x;
  const t = 1 / (1 + 0.5 * ax);
  const lnErfc =
    Math.log(t) -
    ax * ax -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  // Q(z) = erfc(z/√2)/2 for z ≥ 0; for z < 0, Q(z) = 1 − erfc(|z|/√2)/2.
  if (x >= 0) return lnErfc - Math.LN2;
  return Math.log1p(-0.5 * Math.exp(lnErfc));
}

/** Score in [0, 1] from a tail probability's log: 0.5 at 1e-5, 1 at 1e-10 or beyond. */
export function tailScore(lnTail: number, decades: number): number {
  const s = -lnTail / (decades * LN10);
  return s <= 0 ? 0 : s >= 1 ? 1 : s;
}

/** Likelihood state per series per signal: four slots. */
export const LIKELIHOOD_STRIDE = 4;
const SHORT = 0;
const MEAN = 1;
const VAR = 2;
const COUNT = 3;

/** The likelihood settings every calibrated member's config carries, under their config names. */
export interface LikelihoodConfig {
  shortAlpha: number;
  longAlpha: number;
  warmupPoints: number;
  tailDecades: number;
  minRelativeSpread: number;
}

/** A member config's likelihood settings as likelihoodStep takes them. */
export function likelihoodOptionsOf(c: Readonly<LikelihoodConfig>): LikelihoodOptions {
  return {
    shortAlpha: c.shortAlpha,
    longAlpha: c.longAlpha,
    warmupPoints: c.warmupPoints,
    decades: c.tailDecades,
    minRelativeSpread: c.minRelativeSpread,
  };
}

/**
 * A calibrated score is already a probability-like value in [0, 1] (a −log10 tail over
 * `decades`): its magnitude, capped at 1, is the probability the worker reports.
 */
export function calibratedProbability(score: number): number {
  const a = score < 0 ? -score : score;
  return a > 1 ? 1 : a;
}

export interface LikelihoodOptions {
  /** EWMA weight of the short average of surprise; 0.2 ≈ the paper's last 10 points. */
  shortAlpha: number;
  /** Slowest EWMA weight of the long-run mean and variance of that average (≈ 1/history). */
  longAlpha: number;
  /** Points of history before the likelihood scores anything (the paper's learning period). */
  warmupPoints: number;
  /** Tail decades that map to a score of 1 (the paper uses 10: log(1e-10)). */
  decades: number;
  /**
   * The variance floor as a fraction of the long mean squared: a series that was perfectly
   * predictable would otherwise make any surprise infinitely unlikely.
   */
  minRelativeSpread: number;
}

/**
 * Feeds one raw surprise (≥ 0) of series slot `at` (= series × LIKELIHOOD_STRIDE + signal ×
 * LIKELIHOOD_STRIDE … the caller's layout) and returns the likelihood score in [0, 1]; 0 while
 * warming up (and when `wantScore` is false: the statistics still learn, the tail is not computed).
 * The statistics are updated after scoring, so a point never explains itself.
 */
export function likelihoodStep(
  state: Float64Array,
  at: number,
  surprise: number,
  o: Readonly<LikelihoodOptions>,
  wantScore = true,
): number {
  const short = state[at + SHORT]! + o.shortAlpha * (surprise - state[at + SHORT]!);
  state[at + SHORT] = short;
  const n = state[at + COUNT]! + 1;
  state[at + COUNT] = n;
  const mean = state[at + MEAN]!;
  const variance = state[at + VAR]!;
  let score = 0;
  if (wantScore && n > o.warmupPoints) {
    const floor = o.minRelativeSpread * mean;
    const sd = Math.sqrt(variance + floor * floor + 1e-12);
    score = tailScore(logNormalTail((short - mean) / sd), o.decades);
  }
  // Welford-like start (1/n) so the first points are not dominated by the initial zeros, then a
  // fixed forgetting rate so a series whose behaviour changes is judged against its recent past.
  const a = 1 / n > o.longAlpha ? 1 / n : o.longAlpha;
  const d = short - mean;
  state[at + MEAN] = mean + a * d;
  state[at + VAR] = (1 - a) * (variance + a * d * d);
  return score;
}
