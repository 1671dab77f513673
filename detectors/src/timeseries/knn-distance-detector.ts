import type { KnnDistanceConfig } from './detector-config.js';
import { KNN_DISTANCE_DEFAULTS } from './detector-config.js';
import { LIKELIHOOD_STRIDE, likelihoodStep, likelihoodOptionsOf, calibratedProbability } from './likelihood.js';
import type { LikelihoodOptions } from './likelihood.js';
import { refractoryStep } from './refractory.js';
import { StreamingDetector } from './streaming-detector.js';

/**
 * Nearest-neighbour distance detector: the ensemble's novelty member, and a plugin of its own.
 *
 * After KNN-CAD (Burnaev & Ishimtsev, "Conformalized density- and distance-based anomaly detection
 * in time-series data", 2016; numenta/NAB nab/detectors/knncad): the shape of the last `window`
 * normalised values is compared with every such shape in the series' last `memory` points, and
 * the mean Euclidean distance to the `neighbours` nearest is the point's surprise. A pattern the
 * series has produced before — a daily peak, a burst of the size it often bursts — has close
 * neighbours however far it is from the mean; a pattern never seen has none. That is what the
 * forecast-error members cannot say: on a bursty series (NAB's tweet volumes) every burst is a
 * large forecast error, but only the unprecedented ones lack neighbours.
 *
 * KNN-CAD calibrates the distance by a conformal p-value against a calibration set; here it goes
 * through the same anomaly likelihood (likelihood.ts) and refractory step as the other members,
 * so the three members' scores share one scale. Values are normalised by a slow mean and mean
 * absolute deviation (as the online AR member), so one setting fits series of any unit. An exact
 * search costs O(memory · window) per point, the ensemble's slow part; by default the search is
 * coarse to fine (`searchStride`, see scorePoint), about a quarter of that (see the README).
 */

export const KNN_DISTANCE_VERSION = '1.1.0';

const MAE_TO_SIGMA = 1.2533141373155003;
/** Windows a series must have seen before distances mean anything. */
const MIN_HISTORY = 50;

export function knnDistanceFields(window: number, memory: number) {
  return {
    mean: { stride: 1, kind: 'f64', init: 0 },
    spread: { stride: 1, kind: 'f64', init: 0 },
    /**
     * The last R = memory + window normalised values as a ring indexed by point count, each written
     * twice (at i mod R and i mod R + R) so a window is read without a modulo per value.
     */
    ring: { stride: 2 * (memory + window), kind: 'f64', init: 0 },
    likelihood: { stride: LIKELIHOOD_STRIDE, kind: 'f64', init: 0 },
    peak: { stride: 1, kind: 'f64', init: 0 },
  } as const;
}

export class KnnDistanceDetector extends StreamingDetector<ReturnType<typeof knnDistanceFields>> {
  readonly type = 'knn-distance';
  readonly version = KNN_DISTANCE_VERSION;
  readonly threshold: number;
  readonly config: Readonly<KnnDistanceConfig>;
  private readonly likelihoodOptions: LikelihoodOptions;
  private readonly ringLength: number;
  /** Scratch: the current window, newest first, and the k smallest squared distances. */
  private readonly current: Float64Array;
  private readonly nearest: Float64Array;
  /** Scratch: where each of the nearest windows ends, and the coarse pass's copy of it. */
  private readonly nearestAt: Int32Array;
  private readonly coarseAt: Int32Array;

  constructor(config: Readonly<KnnDistanceConfig> = KNN_DISTANCE_DEFAULTS, initialCapacity = 64) {
    super(knnDistanceFields(config.window, config.memory), config.maxGapMs, config.scaleFloor, initialCapacity);
    this.config = config;
    this.threshold = config.threshold;
    this.ringLength = config.memory + config.window;
    this.current = new Float64Array(config.window);
    this.nearest = new Float64Array(config.neighbours);
    this.nearestAt = new Int32Array(config.neighbours);
    this.coarseAt = new Int32Array(config.neighbours);
    this.likelihoodOptions = likelihoodOptionsOf(config);
  }

  protected configJson(): string {
    return JSON.stringify(this.config);
  }

  probability(score: number): number {
    return calibratedProbability(score);
  }

  describe(): string {
    const c = this.config;
    return `mean distance of the last ${c.window} normalised values to their ${c.neighbours} nearest among the last ${c.memory} points, through the anomaly likelihood (threshold ${this.threshold})`;
  }

  scorePoint(s: number, x: number, t: number): number {
    void t;
    const c = this.config;
    const st = this.state.fields;
    const o = this.outcome;
    const n = st.accepted[s]!;
    const meanArr = st.mean;
    const spreadArr = st.spread;
    const ring = st.ring;
    const mu = n === 1 ? x : meanArr[s]!;
    const sigma = spreadArr[s]!;
    let sd = MAE_TO_SIGMA * sigma;
    const floor = st.floor[s]!;
    const rel = 1e-4 * (mu < 0 ? -mu : mu);
    if (sd < floor) sd = floor;
    if (sd < rel) sd = rel;
    const u = (x - mu) / sd;
    const w = 1 / n > c.normAlpha ? 1 / n : c.normAlpha;
    spreadArr[s] = sigma + w * ((x - mu < 0 ? mu - x : x - mu) - sigma);
    meanArr[s] = mu + w * (x - mu);

    const R = this.ringLength;
    const base = s * 2 * R;
    const cur = n - 1;
    ring[base + (cur % R)] = u;
    ring[base + (cur % R) + R] = u;
    o.expected = Number.NaN;
    o.scale = Number.NaN;
    o.stuck = false;
    const L = c.window;
    if (cur < L + MIN_HISTORY) {
      o.raw = Number.NaN;
      return Number.NaN;
    }
    const win = this.current;
    const cb = base + (cur % R) + R;
    for (let k = 0; k < L; k++) win[k] = ring[cb - k]!;
    const near = this.nearest;
    const nearAt = this.nearestAt;
    const K = near.length;
    near.fill(Number.POSITIVE_INFINITY);
    nearAt.fill(-1);
    // Past windows end at j ≤ cur − L, so none overlaps the current one (a window is not its own neighbour).
    const lo = cur - c.memory > L - 1 ? cur - c.memory : L - 1;
    const hi = cur - L;
    const step = c.searchStride;
    // Coarse to fine: every step-th past window first (newest first), then the step − 1 windows
    // around each of the K best found. A repeated pattern lies within step/2 points of phase of a
    // coarse window, so refining around the best ones recovers the exact neighbours in most cases
    // at a cost of memory / step + K · (step − 1) comparisons instead of memory.
    for (let j = hi; j >= lo; j -= step) this.compare(ring, base, j);
    if (step > 1) {
      const coarse = this.coarseAt;
      coarse.set(nearAt);
      const before = step >> 1;
      for (let k = 0; k < K; k++) {
        const p = coarse[k]!;
        if (p < 0) continue;
        // The ranges [p − before, p − before + step − 1] of different coarse windows are disjoint,
        // so no window is counted twice.
        const from = p - before > lo ? p - before : lo;
        const to = p - before + step - 1 < hi ? p - before + step - 1 : hi;
        for (let j = from; j <= to; j++) if (j !== p) this.compare(ring, base, j);
      }
    }
    let a = 0;
    for (let k = 0; k < K; k++) a += Math.sqrt(near[k]!);
    a /= K;
    const surprise = a < c.surpriseCap ? a : c.surpriseCap;
    const raw = likelihoodStep(st.likelihood, s * LIKELIHOOD_STRIDE, surprise, this.likelihoodOptions);
    o.raw = raw;
    const score = refractoryStep(st.peak, s, raw, c.refractoryDecay, c.suppressedFactor, this.threshold);
    if (n <= c.warmupPoints) return Number.NaN;
    // Direction: the current value against the slow mean.
    return u < 0 ? -score : score;
  }

  /** Squared distance of the current window to the past one ending at point j, into the K nearest if it belongs. */
  private compare(ring: Float64Array, base: number, j: number): void {
    const win = this.current;
    const near = this.nearest;
    const nearAt = this.nearestAt;
    const K = near.length;
    const L = win.length;
    const worst = near[K - 1]!;
    const jb = base + (j % this.ringLength) + this.ringLength;
    let d = 0;
    // Early abandon: a window already farther than the K-th nearest cannot enter.
    for (let k = 0; k < L && d < worst; k++) {
      const e = win[k]! - ring[jb - k]!;
      d += e * e;
    }
    if (d >= worst) return;
    let p = K - 1;
    while (p > 0 && near[p - 1]! > d) {
      near[p] = near[p - 1]!;
      nearAt[p] = nearAt[p - 1]!;
      p--;
    }
    near[p] = d;
    nearAt[p] = j;
  }
}
