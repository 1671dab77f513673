import { DetectorError } from '../errors.js';
import type { RollingRobustZConfig } from './detector-config.js';
import { ROLLING_ROBUST_Z_DEFAULTS } from './detector-config.js';
import { SeriesState } from './series-state.js';
import type { DetectorStats, ScoreDetail, TimeseriesDetector } from './timeseries-detector.js';
import { POINT_STATUS } from './timeseries-detector.js';

/**
 * Rolling robust z-score detector.
 *
 * For each series, the last W values form the baseline; a new point x scores
 *
 *     z = (x − median) / (1.4826 · max(MAD, floor))
 *
 * where MAD is the median absolute deviation from the median. Median and MAD tolerate up to
 * half the window being outliers (breakdown point 50%), so an anomaly does not drag its own
 * baseline along the way a mean and standard deviation do; 1.4826 = 1/Φ⁻¹(3/4) makes the MAD a
 * consistent estimate of σ for normal noise (Hampel 1974; Rousseeuw & Croux 1993; the
 * "modified z-score" of Iglewicz & Hoaglin 1993). The floor keeps a flat series (MAD = 0) from
 * turning a one-step wiggle into an infinite score.
 *
 * The window holds at most one value per `slotMs` (5 s): a reading sooner after the last one that
 * entered is scored against the window without entering it. Where readings come every second the
 * window is then the last 10 minutes rather than the last 2, so a jam or an overload that ramps
 * up over a few minutes is measured against the time before it instead of becoming its own
 * baseline; where they come a minute apart or slower, every reading enters. Every value that
 * enters does so anomalous or not: after a lasting level shift the median adopts the new level
 * once it fills half the window, so the anomaly ends by itself (an episode lasts at most ~W/2
 * slots). Deepening this (seasonal baselines, ensembles) is a later plugin, not a change here.
 *
 * Speed: state is struct-of-arrays in typed arrays (no object per series), and each series keeps
 * its window twice — in arrival order (a ring, to know which value leaves) and sorted. A new
 * value replaces the leaving one in the sorted copy by shifting only the values between their
 * two positions, so the median is one read and the MAD is a merge of the two sides of the
 * median, O(W/2) — no sort per point. Median and MAD are computed when a value enters and kept,
 * so a reading that does not enter costs O(1).
 */

/** 1/Φ⁻¹(3/4): scales the MAD to σ for normally distributed noise. */
export const MAD_TO_SIGMA = 1.4826;

/** Bumped when scores for the same input change. */
export const ROLLING_ROBUST_Z_VERSION = '1.1.0';

export class RollingRobustDetector implements TimeseriesDetector {
  readonly type = 'rolling-robust-z';
  readonly version = ROLLING_ROBUST_Z_VERSION;
  readonly threshold: number;
  readonly config: Readonly<RollingRobustZConfig>;

  private readonly window: number;
  private capacity: number;
  private series = 0;
  /** capacity × window values in arrival order; `head` is the slot the next value overwrites. */
  private ring: Float64Array;
  /** capacity × window values, the first `count` of each series' block ascending. */
  private sorted: Float64Array;
  private count: Int32Array;
  private head: Int32Array;
  private lastTs: Float64Array;
  private lastValue: Float64Array;
  /** Length of the run of exactly equal values ending at the last accepted point. */
  private runLength: Int32Array;
  /** MAD / floor measured just before the current run began (NaN if the series was not warm). */
  private runStartSpread: Float64Array;
  private floor: Float64Array;
  /** When the last value entered the window (−∞: none since the series started or was reset). */
  private slotTs: Float64Array;
  /** Median and MAD of the window as it is now (NaN until it holds `warmupPoints` values). */
  private median: Float64Array;
  private mad: Float64Array;

  private readonly counters: DetectorStats = {
    pointsScored: 0,
    pointsWarmingUp: 0,
    skippedNan: 0,
    skippedOutOfOrder: 0,
    skippedDuplicate: 0,
    gapResets: 0,
    stuckPoints: 0,
  };

  constructor(config: Readonly<RollingRobustZConfig> = ROLLING_ROBUST_Z_DEFAULTS, initialCapacity = 64) {
    this.config = config;
    this.window = config.windowSize;
    this.threshold = config.threshold;
    this.capacity = Math.max(1, initialCapacity);
    this.ring = new Float64Array(this.capacity * this.window);
    this.sorted = new Float64Array(this.capacity * this.window);
    this.count = new Int32Array(this.capacity);
    this.head = new Int32Array(this.capacity);
    this.lastTs = new Float64Array(this.capacity).fill(Number.NEGATIVE_INFINITY);
    this.lastValue = new Float64Array(this.capacity);
    this.runLength = new Int32Array(this.capacity);
    this.runStartSpread = new Float64Array(this.capacity).fill(Number.NaN);
    this.floor = new Float64Array(this.capacity).fill(config.madFloor);
    this.slotTs = new Float64Array(this.capacity).fill(Number.NEGATIVE_INFINITY);
    this.median = new Float64Array(this.capacity).fill(Number.NaN);
    this.mad = new Float64Array(this.capacity).fill(Number.NaN);
  }

  get seriesCount(): number {
    return this.series;
  }

  addSeries(): number {
    if (this.series === this.capacity) this.grow(this.capacity * 2);
    return this.series++;
  }

  setScaleFloor(series: number, floor: number): void {
    this.checkSeries(series);
    if (!(floor > 0) || !Number.isFinite(floor)) {
      throw new DetectorError('invalid-argument', `expected a positive finite scale floor; got ${floor}`);
    }
    this.floor[series] = floor;
  }

  resetSeries(series: number): void {
    this.checkSeries(series);
    this.count[series] = 0;
    this.head[series] = 0;
    this.runLength[series] = 0;
    this.runStartSpread[series] = Number.NaN;
    this.lastTs[series] = Number.NEGATIVE_INFINITY;
    this.slotTs[series] = Number.NEGATIVE_INFINITY;
    this.median[series] = Number.NaN;
    this.mad[series] = Number.NaN;
  }

  probability(score: number): number {
    // A logistic in z: 0.5 at the midpoint (3σ by default), ~0.95 two units of slope above it.
    // A heuristic until labelled data (the simulator's ground truth) calibrates it.
    return 1 / (1 + Math.exp(-this.config.probabilitySlope * (score - this.config.probabilityMidpoint)));
  }

  describe(): string {
    const slotMs = this.config.slotMs;
    const over =
      slotMs > 0
        ? `over the last ${this.window} readings at least ${slotMs >= 1000 ? `${slotMs / 1000} s` : `${slotMs} ms`} apart`
        : `over the last ${this.window} readings`;
    return `robust z = |x − median| / (1.4826·MAD) ${over} (threshold ${this.threshold})`;
  }

  stats(): DetectorStats {
    return { ...this.counters };
  }

  scoreBatch(seriesIndex: Int32Array, values: Float64Array, ts: Float64Array, out: Float64Array, detail?: ScoreDetail): void {
    const len = seriesIndex.length;
    if (values.length < len || ts.length < len || out.length < len) {
      throw new DetectorError(
        'invalid-argument',
        `expected values, ts and out to hold at least ${len} points (the length of seriesIndex); got ${values.length}, ${ts.length}, ${out.length}`,
      );
    }
    if (detail !== undefined && (detail.expected.length < len || detail.scale.length < len || detail.status.length < len)) {
      throw new DetectorError('invalid-argument', `expected detail arrays to hold at least ${len} points`);
    }
    const w = this.window;
    const warmup = this.config.warmupPoints;
    const maxGapMs = this.config.maxGapMs;
    const relFloor = this.config.madFloorRelative;
    const stuckPoints = this.config.stuckPoints;
    const stuckRatio = this.config.stuckMinScaleRatio;
    const ring = this.ring;
    const a = this.sorted;
    const count = this.count;
    const head = this.head;
    const lastTs = this.lastTs;
    const lastValue = this.lastValue;
    const runLength = this.runLength;
    const runStartSpread = this.runStartSpread;
    const floor = this.floor;
    const slotTs = this.slotTs;
    const medianOf = this.median;
    const madOf = this.mad;
    const slotMs = this.config.slotMs;
    const nSeries = this.series;
    const c = this.counters;

    for (let i = 0; i < len; i++) {
      const s = seriesIndex[i]!;
      if (!(s >= 0 && s < nSeries)) {
        throw new DetectorError('invalid-argument', `expected a series index 0…${nSeries - 1} (from addSeries) at point ${i}; got ${s}`);
      }
      const x = values[i]!;
      const t = ts[i]!;
      // `v - v === 0` is false exactly for NaN and ±Infinity.
      if (x - x !== 0 || t - t !== 0) {
        c.skippedNan++;
        out[i] = Number.NaN;
        if (detail !== undefined) writeDetail(detail, i, Number.NaN, Number.NaN, POINT_STATUS.skippedNan);
        continue;
      }
      const last = lastTs[s]!;
      if (t <= last) {
        // A late point cannot join a baseline that has moved past it, and a same-timestamp
        // point is an at-least-once redelivery: scoring either would double-count.
        let status: number;
        if (t === last) {
          c.skippedDuplicate++;
          status = POINT_STATUS.skippedDuplicate;
        } else {
          c.skippedOutOfOrder++;
          status = POINT_STATUS.skippedOutOfOrder;
        }
        out[i] = Number.NaN;
        if (detail !== undefined) writeDetail(detail, i, Number.NaN, Number.NaN, status);
        continue;
      }
      let n = count[s]!;
      let status: number = POINT_STATUS.scored;
      if (n > 0 && t - last > maxGapMs) {
        // After a long silence (outage, maintenance, recalibration) the old baseline says
        // little about the present; restart warm-up instead of scoring against it.
        n = 0;
        count[s] = 0;
        head[s] = 0;
        runLength[s] = 0;
        runStartSpread[s] = Number.NaN;
        slotTs[s] = Number.NEGATIVE_INFINITY;
        c.gapResets++;
        status = POINT_STATUS.gapReset;
      }
      lastTs[s] = t;
      const base = s * w;

      let z = Number.NaN;
      let med = Number.NaN;
      let scale = Number.NaN;
      let spread = Number.NaN;
      if (n >= warmup) {
        med = medianOf[s]!;
        const mad = madOf[s]!;
        const absMed = med < 0 ? -med : med;
        let f = floor[s]!;
        const rf = relFloor * absMed;
        if (rf > f) f = rf;
        spread = mad / f;
        scale = MAD_TO_SIGMA * (mad > f ? mad : f);
        z = (x - med) / scale;
        c.pointsScored++;
      } else {
        c.pointsWarmingUp++;
        if (status === POINT_STATUS.scored) status = POINT_STATUS.warmup;
      }

      // Stuck sensors: the same exact value again and again after the series used to move.
      let run: number;
      if (n > 0 && x === lastValue[s]) {
        run = runLength[s]! + 1;
      } else {
        run = 1;
        runStartSpread[s] = spread;
      }
      runLength[s] = run;
      lastValue[s] = x;
      if (stuckPoints > 0 && run >= stuckPoints && status === POINT_STATUS.scored && runStartSpread[s]! >= stuckRatio) {
        status = POINT_STATUS.stuck;
        c.stuckPoints++;
      }

      // Enter x into the window, if its slot is free. Until the series is warm every reading
      // enters, so a new sensor is scored after `warmupPoints` readings, not that many slots.
      if (n >= warmup && t - slotTs[s]! < slotMs) {
        out[i] = z;
        if (detail !== undefined) writeDetail(detail, i, med, scale, status);
        continue;
      }
      slotTs[s] = t;
      if (n < w) {
        const h = head[s]!;
        ring[base + h] = x;
        head[s] = h + 1 === w ? 0 : h + 1;
        let p = base + n;
        while (p > base && a[p - 1]! > x) {
          a[p] = a[p - 1]!;
          p--;
        }
        a[p] = x;
        n++;
        count[s] = n;
      } else {
        const h = head[s]!;
        const old = ring[base + h]!;
        ring[base + h] = x;
        head[s] = h + 1 === w ? 0 : h + 1;
        // Find the leaving value in the sorted copy (lower bound), then slide x into its place
        // by shifting only the values between the old and new positions.
        let lo = base;
        let hi = base + w - 1;
        while (lo < hi) {
          const m = (lo + hi) >>> 1;
          if (a[m]! < old) lo = m + 1;
          else hi = m;
        }
        let r = lo;
        const lastSlot = base + w - 1;
        if (x > old) {
          while (r < lastSlot && a[r + 1]! < x) {
            a[r] = a[r + 1]!;
            r++;
          }
        } else if (x < old) {
          while (r > base && a[r - 1]! > x) {
            a[r] = a[r - 1]!;
            r--;
          }
        }
        a[r] = x;
      }
      // The window changed: its median and MAD, for the points that follow.
      if (n >= warmup) {
        const mid = n >> 1;
        const m = (n & 1) === 1 ? a[base + mid]! : 0.5 * (a[base + mid - 1]! + a[base + mid]!);
        medianOf[s] = m;
        madOf[s] = madOfSorted(a, base, n, m);
      }

      out[i] = z;
      if (detail !== undefined) writeDetail(detail, i, med, scale, status);
    }
  }

  private checkSeries(series: number): void {
    if (!Number.isInteger(series) || series < 0 || series >= this.series) {
      throw new DetectorError('invalid-argument', `expected a series index 0…${this.series - 1} (from addSeries); got ${series}`);
    }
  }

  /**
   * Every series' state as bytes, in SeriesState's checkpoint format (the arrays are copied into
   * one: this detector keeps its own arrays for the hot path, and a checkpoint is not hot).
   */
  checkpoint(): Uint8Array {
    const state = this.checkpointState();
    for (let s = 0; s < this.series; s++) state.addSeries();
    for (const [name, array] of Object.entries(this.arrays()))
      state.fields[name]!.set(array.subarray(0, this.series * state.spec[name]!.stride));
    return state.encode(this.identity());
  }

  /** Replaces every series' state with a checkpoint's of the same type, version and config. */
  restore(bytes: Uint8Array): void {
    const state = this.checkpointState();
    state.decode(bytes, this.identity());
    const n = state.seriesCount;
    if (n > this.capacity) {
      let capacity = this.capacity;
      while (capacity < n) capacity *= 2;
      this.grow(capacity);
    }
    for (const [name, array] of Object.entries(this.arrays())) {
      const spec = state.spec[name]!;
      array.set(state.fields[name]!.subarray(0, n * spec.stride));
      // Slots past the checkpoint's series go back to a new series' values, for addSeries.
      array.fill(spec.init, n * spec.stride);
    }
    this.series = n;
  }

  private identity() {
    return { type: this.type, version: this.version, config: JSON.stringify(this.config) };
  }

  private arrays(): Record<string, Float64Array | Int32Array> {
    return {
      ring: this.ring,
      sorted: this.sorted,
      count: this.count,
      head: this.head,
      lastTs: this.lastTs,
      lastValue: this.lastValue,
      runLength: this.runLength,
      runStartSpread: this.runStartSpread,
      floor: this.floor,
      slotTs: this.slotTs,
      median: this.median,
      mad: this.mad,
    };
  }

  private checkpointState() {
    const w = this.window;
    return new SeriesState<Record<string, { stride: number; kind: 'f64' | 'i32'; init: number }>>({
      ring: { stride: w, kind: 'f64', init: 0 },
      sorted: { stride: w, kind: 'f64', init: 0 },
      count: { stride: 1, kind: 'i32', init: 0 },
      head: { stride: 1, kind: 'i32', init: 0 },
      lastTs: { stride: 1, kind: 'f64', init: Number.NEGATIVE_INFINITY },
      lastValue: { stride: 1, kind: 'f64', init: 0 },
      runLength: { stride: 1, kind: 'i32', init: 0 },
      runStartSpread: { stride: 1, kind: 'f64', init: Number.NaN },
      floor: { stride: 1, kind: 'f64', init: this.config.madFloor },
      slotTs: { stride: 1, kind: 'f64', init: Number.NEGATIVE_INFINITY },
      median: { stride: 1, kind: 'f64', init: Number.NaN },
      mad: { stride: 1, kind: 'f64', init: Number.NaN },
    });
  }

  private grow(capacity: number): void {
    const w = this.window;
    const grown = <T extends Float64Array | Int32Array>(old: T, make: (n: number) => T, perSeries: number, fill?: number): T => {
      const next = make(capacity * perSeries);
      if (fill !== undefined) next.fill(fill);
      next.set(old);
      return next;
    };
    const f64 = (n: number) => new Float64Array(n);
    const i32 = (n: number) => new Int32Array(n);
    this.ring = grown(this.ring, f64, w);
    this.sorted = grown(this.sorted, f64, w);
    this.count = grown(this.count, i32, 1);
    this.head = grown(this.head, i32, 1);
    this.lastTs = grown(this.lastTs, f64, 1, Number.NEGATIVE_INFINITY);
    this.lastValue = grown(this.lastValue, f64, 1);
    this.runLength = grown(this.runLength, i32, 1);
    this.runStartSpread = grown(this.runStartSpread, f64, 1, Number.NaN);
    this.floor = grown(this.floor, f64, 1, this.config.madFloor);
    this.slotTs = grown(this.slotTs, f64, 1, Number.NEGATIVE_INFINITY);
    this.median = grown(this.median, f64, 1, Number.NaN);
    this.mad = grown(this.mad, f64, 1, Number.NaN);
    this.capacity = capacity;
  }
}

/**
 * MAD of the ascending block a[base … base+n) around its median `med`, without sorting.
 *
 * The deviations of the values at or below the median, read leftward, form one ascending
 * sequence (L_q = med − a[i0 − q]); those above it, read rightward, another
 * (R_q = a[j0 + q] − med). The MAD is the median of their union: the k-th smallest of two sorted
 * sequences, found by binary search on how many come from the left (O(log n)), and for even n
 * averaged with the (k−1)-th. A linear merge would cost n/2 unpredictable branches per point.
 */
export function madOfSorted(a: Float64Array, base: number, n: number, med: number): number {
  const i0 = base + ((n - 1) >> 1);
  const j0 = i0 + 1;
  const nl = i0 - base + 1;
  const nr = n - nl;
  const need = (n >> 1) + 1;
  let lo = need - nr > 0 ? need - nr : 0;
  let hi = need < nl ? need : nl;
  // Smallest p (taken from the left) with L_p ≥ R_{need−p−1}; monotone in p.
  while (lo < hi) {
    const p = (lo + hi) >>> 1;
    const lp = p < nl ? med - a[i0 - p]! : Number.POSITIVE_INFINITY;
    const rq = need - p - 1 >= 0 ? a[j0 + need - p - 1]! - med : Number.NEGATIVE_INFINITY;
    if (lp >= rq) hi = p;
    else lo = p + 1;
  }
  const p = lo;
  const q = need - p;
  const lLast = p > 0 ? med - a[i0 - p + 1]! : Number.NEGATIVE_INFINITY;
  const rLast = q > 0 ? a[j0 + q - 1]! - med : Number.NEGATIVE_INFINITY;
  if ((n & 1) === 1) return lLast > rLast ? lLast : rLast;
  let kth: number;
  let second: number;
  if (lLast >= rLast) {
    kth = lLast;
    const l2 = p > 1 ? med - a[i0 - p + 2]! : Number.NEGATIVE_INFINITY;
    second = l2 > rLast ? l2 : rLast;
  } else {
    kth = rLast;
    const r2 = q > 1 ? a[j0 + q - 2]! - med : Number.NEGATIVE_INFINITY;
    second = r2 > lLast ? r2 : lLast;
  }
  return 0.5 * (kth + second);
}

function writeDetail(detail: ScoreDetail, i: number, expected: number, scale: number, status: number): void {
  detail.expected[i] = expected;
  detail.scale[i] = scale;
  detail.status[i] = status;
}
